"""The data commands through the real CLI, as DESIGN.md specifies them."""
import json
import subprocess
import sys

import pandas as pd

from tests.conftest import REPO_ROOT
from tests.quirks import add_name_quirks


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "core", *map(str, args)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)


def test_demo_data_then_describe_json(tmp_path):
    out = tmp_path / "d"
    made = run_cli("demo-data", "--out", out, "--people", 12, "--eval-people", 4)
    assert made.returncode == 0, made.stderr
    result = run_cli("describe", "--data-dir", out, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["people"] == 12 and summary["images"] == 84
    assert len(summary["classes"]) == 18 and sum(summary["classes"]) == 84
    assert summary["eval_images"] == 28
    assert summary["mask"] == [60, 12, 12] and sum(summary["gender"]) == 84 and sum(summary["age"]) == 84
    assert summary["skipped"] == []


def test_describe_reports_quirks_with_relative_paths(quirky_data_dir):
    result = run_cli("describe", "--data-dir", quirky_data_dir, "--json")
    summary = json.loads(result.stdout)
    assert result.returncode == 0
    assert all(not item["path"].startswith("/") for item in summary["skipped"])
    assert len(summary["skipped"]) == 2
    assert "missing" in summary["eval_error"]
    assert "warning:" in result.stderr


def test_describe_with_moved_age_edge(demo_data_dir):
    default = json.loads(run_cli("describe", "--data-dir", demo_data_dir, "--json").stdout)
    moved = json.loads(run_cli("describe", "--data-dir", demo_data_dir, "--json", "--age-edges", "30,55").stdout)
    ages = pd.read_csv(demo_data_dir / "train" / "train.csv")["age"]
    shifted = 7 * int(((ages >= 55) & (ages < 60)).sum())  # each person moving band takes 7 images along
    assert shifted > 0, "the fixture must have someone aged 55-59 for this test to mean anything"
    assert moved["age"] == [default["age"][0], default["age"][1] - shifted, default["age"][2] + shifted]
    assert moved["age_edges"] == [30, 55] and moved["class_names"][2].endswith(">=55")


def test_bad_age_edges_name_the_option(demo_data_dir):
    result = run_cli("describe", "--data-dir", demo_data_dir, "--age-edges", "60,30")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip() == "error: --age-edges: need 0 < young edge < old edge <= 150, got 60,30"


def test_progress_goes_to_stderr_once_per_count(demo_copy):
    for _ in ("cold", "cached"):
        result = run_cli("describe", "--data-dir", demo_copy, "--json")
        assert result.returncode == 0, result.stderr
        json.loads(result.stdout)  # stdout is the JSON object and nothing else
        assert result.stderr.count("checking images [") >= 1 and result.stderr.count("] 84/84") == 1
        assert result.stderr.count("checking eval images [") >= 1 and result.stderr.count("] 28/28") == 1


def test_describe_foresees_corrupt_eval_images(demo_copy):
    victim = sorted((demo_copy / "eval" / "images").iterdir())[0]
    victim.write_bytes(b"not an image")
    result = run_cli("describe", "--data-dir", demo_copy, "--json")
    summary = json.loads(result.stdout)
    assert [item["path"] for item in summary["eval_corrupt"]] == [f"eval/images/{victim.name}"]
    warning = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and f"eval/images/{victim.name}" in warning[0] and "predict" in warning[0]
    text = run_cli("describe", "--data-dir", demo_copy).stdout
    assert f"  eval/images/{victim.name}: cannot decode" in text
    assert "train.csv rows: 12" in text


def test_bad_data_dir_is_one_line(tmp_path):
    result = run_cli("describe", "--data-dir", tmp_path / "missing")
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0
    assert "missing" in result.stderr and "data directory not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_data_refuses_existing_dataset(demo_data_dir):
    result = run_cli("demo-data", "--out", demo_data_dir)
    assert result.returncode != 0 and "already holds a dataset" in result.stderr


def test_usage_mistakes_are_one_line_naming_the_option(demo_data_dir):
    for args, named in ((["describe", "--data-dir", demo_data_dir, "--age-edges", "30,abc"], "--age-edges"),
                        (["describe"], "--data-dir"),
                        (["bench-loader", "--data-dir", demo_data_dir, "--workers", "one"], "--workers")):
        result = run_cli(*args)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:") and named in lines[0], result.stderr


def test_describe_defaults_to_the_declared_age_edges(demo_data_dir, capsys):
    import argparse

    from core.data.cli import describe
    from core.labels import DEFAULT_AGE_EDGES

    # What the parser hands over when --age-edges is not given.
    assert describe(argparse.Namespace(data_dir=str(demo_data_dir), age_edges=None, json=True)) == 0
    assert json.loads(capsys.readouterr().out)["age_edges"] == list(DEFAULT_AGE_EDGES)


def test_a_symlink_loop_and_names_that_are_not_utf8_through_the_cli(demo_copy, tmp_path):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    result = run_cli("describe", "--data-dir", loop)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (f"error: {loop}: a symbolic link loop (a link that leads back to itself); "
                                     "point the data directory at the real folder")
    added = add_name_quirks(demo_copy)
    result = run_cli("describe", "--data-dir", demo_copy, "--json")
    assert result.returncode == 0, result.stderr
    assert {added["folder"], added["file"]} <= {item["path"] for item in json.loads(result.stdout)["skipped"]}
