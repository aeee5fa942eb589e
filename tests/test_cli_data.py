"""The data commands through the real CLI, as DESIGN.md specifies them."""
import json
import subprocess
import sys

from tests.conftest import REPO_ROOT


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
    assert moved["age"][2] >= default["age"][2] and moved["age_edges"] == [30, 55]


def test_bad_data_dir_is_one_line(tmp_path):
    result = run_cli("describe", "--data-dir", tmp_path / "missing")
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0
    assert "missing" in result.stderr and "data directory not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_data_refuses_existing_dataset(demo_data_dir):
    result = run_cli("demo-data", "--out", demo_data_dir)
    assert result.returncode != 0 and "already holds a dataset" in result.stderr
