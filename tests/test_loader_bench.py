"""The throughput benchmark and `python -m core bench-loader` (contract, not speed: speed is in bench/)."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import albumentations as A
import pytest

from core.errors import ConfigError
from core.loader.bench import run_sweep, time_loader, verdict
from core.__main__ import main as core_main
from core.loader.cli import format_result
from core.loader.settings import RECOMMENDED_KEYS

REPO_ROOT = Path(__file__).resolve().parents[1]


def run_bench_loader(capsys, data_dir, *options) -> tuple[dict, str]:
    """`python -m core bench-loader ... --json` through the real parser, in this process; (result, stderr)."""
    assert core_main(["bench-loader", "--data-dir", str(data_dir), *options, "--json"]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


def test_bench_loader_prints_one_json_object_with_the_contract_rows(demo_data_dir, capsys):
    result, err = run_bench_loader(capsys, demo_data_dir, "--workers", "0,1", "--batch-sizes", "4,8", "--repeats", "1",
                                   "--images", "16", "--model", "small_cnn")
    rows = result["rows"]
    grid = {(l, w, b) for l in ("baseline", "default", "cached") for w in (0, 1) for b in (4, 8)}
    assert [(r["loader"], r["num_workers"], r["batch_size"]) for r in rows].count(("cached", 1, 8)) == 1
    assert {(r["loader"], r["num_workers"], r["batch_size"]) for r in rows} == grid and len(rows) == len(grid)
    assert result["max_images_per_row"] == 16  # --images reached the sweep
    for row in rows:
        assert set(row) >= {"loader", "num_workers", "batch_size", "images_per_s", "ratio_to_baseline", "first_batch_s"}
        base, = [r for r in rows if r["loader"] == "baseline" and (r["num_workers"], r["batch_size"]) ==
                 (row["num_workers"], row["batch_size"])]
        assert row["ratio_to_baseline"] == pytest.approx(row["images_per_s"] / base["images_per_s"], rel=0.01)
        assert row["first_batch_s"] > 0
    assert [s["model"] for s in result["model_steps"]] == ["small_cnn"] and result["bottleneck"] in ("model", "loader")
    assert [v["persistent_workers"] for v in result["variants"]] == [False, True]
    assert "building cache" in err  # progress on stderr only
    recommended = result["recommended"]
    # Only what was measured: no CUDA here, so no pin_memory; decode is never compared, so never recommended.
    assert list(recommended)[:3] == ["num_workers", "batch_size", "cache"] and set(recommended) <= set(RECOMMENDED_KEYS)
    assert "decode" not in recommended and "pin_memory" not in recommended
    best = max((r for r in rows if r["loader"] != "baseline"), key=lambda r: r["images_per_s"])
    assert (recommended["num_workers"], recommended["batch_size"]) == (best["num_workers"], best["batch_size"])
    assert "persistent_workers" in recommended or recommended["num_workers"] == 0
    assert format_result(result).splitlines()[-1] == "recommended: " + ", ".join(f"{k}={v}" for k, v in recommended.items())


def test_bench_script_parses_with_the_same_parser_as_the_cli(demo_data_dir, capsys):
    bench = load_bench_script()
    assert bench.main(["--data-dir", str(demo_data_dir), "--workers", "0", "--batch-sizes", "4", "--repeats", "1",
                       "--images", "8", "--model", "none", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["max_images_per_row"] == 8 and result["model_steps"] == [] and result["bottleneck"] == "unknown"
    assert {(r["num_workers"], r["batch_size"]) for r in result["rows"]} == {(0, 4)}
    # The same options, the same usage errors: one line naming the option, from the one parser.
    for argv in (["bench-loader", "--data-dir", "d", "--model", "vgg"], ["bench-loader", "--data-dir", "d", "--images", "x"]):
        with pytest.raises(SystemExit):
            core_main(argv)
        cli_error = capsys.readouterr().err
        with pytest.raises(SystemExit):
            bench.main(argv[1:])
        assert capsys.readouterr().err == cli_error and cli_error.count("\n") == 1 and argv[-2] in cli_error


def load_bench_script():
    spec = importlib.util.spec_from_file_location("bench_loader_script", REPO_ROOT / "bench" / "loader.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_pipeline_without_leading_resize_skips_the_cache(demo_data_dir, tmp_path):
    path = tmp_path / "p.yaml"
    A.save(A.Compose([A.HorizontalFlip(), A.Resize(64, 48), A.Normalize()]), str(path), data_format="yaml")
    from core.loader.cli import load_pipeline_file

    result = run_sweep(demo_data_dir, load_pipeline_file(path), workers=[0], batch_sizes=[16], max_images=16,
                       model=None, repeats=1)
    assert {r["loader"] for r in result["rows"]} == {"baseline", "default"}
    assert any("Resize" in note for note in result["notes"]) and result["bottleneck"] == "unknown"
    # The page shows the same notes in its language: each English note has its key (issue #16).
    from core.i18n import text
    assert [text("en", key, **values) for key, values in result["note_keys"]] == result["notes"]
    assert any("파이프라인이 Resize로 시작하지 않아" in text("ko", key, **values) for key, values in result["note_keys"])


class SteppedClock:
    """A clock the loader below moves forward: time_loader's arithmetic checked exactly, whatever the load."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class SlowLoader:
    """Batches of 4 images: the first after `startup` seconds (like starting workers), then one per `step`."""

    def __init__(self, batches: int, startup: float, step: float, clock: SteppedClock):
        self.batches, self.startup, self.step, self.clock, self.served = batches, startup, step, clock, 0

    def __iter__(self):
        import torch

        for number in range(self.batches):
            self.clock.now += self.startup if number == 0 else self.step
            self.served += 1
            yield {"image": torch.zeros(4, 3, 2, 2, dtype=torch.uint8)}


def test_time_loader_reports_start_up_apart_from_steady_feeding():
    # 1 s start-up, then 4 images per 0.05 s: 80 images/s steady; 24 images in 1.25 s whole.
    clock = SteppedClock()
    steady = time_loader(SlowLoader(6, startup=1.0, step=0.05, clock=clock), "cpu", max_images=100, clock=clock)
    assert steady.first_batch_s == pytest.approx(1.0)
    assert steady.images_per_s == pytest.approx(20 / 0.25)  # 5 batches after the warm-up one, start-up left out
    clock = SteppedClock()
    whole = time_loader(SlowLoader(6, startup=1.0, step=0.05, clock=clock), "cpu", max_images=100, warmup_batches=0,
                        clock=clock)
    assert whole.images_per_s == pytest.approx(24 / 1.25) and whole.first_batch_s == pytest.approx(1.0)
    clock = SteppedClock()
    two_passes = time_loader(SlowLoader(3, startup=0.5, step=0.1, clock=clock), "cpu", passes=2, clock=clock)
    # pass 1: 0.5 (warm-up batch) + 0.1 + 0.1; pass 2: 0.5 + 0.1 + 0.1 -> 5 timed batches in 0.9 s
    assert two_passes.images_per_s == pytest.approx(20 / 0.9) and two_passes.first_batch_s == pytest.approx(0.5)


def test_time_loader_stops_at_max_images():
    clock = SteppedClock()
    loader = SlowLoader(50, startup=0.0, step=0.01, clock=clock)
    time_loader(loader, "cpu", max_images=12, clock=clock)
    assert loader.served == 3  # 3 batches of 4 images, not all 50


def test_verdict_names_the_slower_stage():
    rows = [{"loader": "baseline", "num_workers": 0, "batch_size": 8, "images_per_s": 10.0},
            {"loader": "cached", "num_workers": 1, "batch_size": 8, "images_per_s": 500.0}]
    slow_model = verdict(rows, [], [{"images_per_s": 50.0}])
    assert slow_model["bottleneck"] == "model"
    assert slow_model["recommended"] == {"num_workers": 1, "batch_size": 8, "cache": "memmap"}  # nothing unmeasured
    assert verdict(rows, [], [{"images_per_s": 5000.0}])["bottleneck"] == "loader"


def test_verdict_recommends_pin_memory_and_persistent_workers_only_from_their_measurements():
    rows = [{"loader": "baseline", "num_workers": 2, "batch_size": 8, "images_per_s": 10.0},
            {"loader": "default", "num_workers": 2, "batch_size": 8, "images_per_s": 100.0}]
    variant = {"loader": "default", "num_workers": 2, "batch_size": 8}
    variants = [{**variant, "pin_memory": pin, "non_blocking": nb, "persistent_workers": False, "epochs": 1,
                 "images_per_s": speed} for pin, nb, speed in ((False, False, 90.0), (False, True, 91.0),
                                                               (True, False, 95.0), (True, True, 120.0))]
    variants += [{**variant, "pin_memory": False, "non_blocking": False, "persistent_workers": p, "epochs": 2,
                  "images_per_s": speed} for p, speed in ((False, 80.0), (True, 70.0))]
    recommended = verdict(rows, variants, [])["recommended"]
    assert recommended == {"num_workers": 2, "batch_size": 8, "cache": "none", "pin_memory": True,
                           "persistent_workers": False}


def test_bad_workers_exit_with_one_line_naming_the_option(demo_data_dir):
    done = subprocess.run([sys.executable, "-m", "core", "bench-loader", "--data-dir", str(demo_data_dir),
                           "--workers", "999", "--json"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().count("\n") == 0 and "--workers: 999" in done.stderr


def test_check_grid_rejects_empty_and_negative():
    from core.loader.cli import check_grid

    for workers, sizes, word in (([], [8], "--workers"), ([0], [], "--batch-sizes"), ([-1], [8], "negative"),
                                 ([0], [0], "below 1")):
        with pytest.raises(ConfigError, match=word):
            check_grid(workers, sizes)
