"""The throughput benchmark and `python -m core bench-loader` (contract, not speed: speed is in bench/)."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import albumentations as A
import pytest

from core.errors import ConfigError
from core.loader.bench import run_sweep, time_loader, verdict
from core.loader.cli import bench_loader, format_result

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_bench_loader_prints_one_json_object_with_the_contract_rows(demo_data_dir, capsys):
    args = argparse.Namespace(data_dir=str(demo_data_dir), pipeline=None, workers=[0, 1], batch_sizes=[4, 8], json=True,
                              repeats=1, images=16, model="small_cnn")
    assert bench_loader(args) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    rows = result["rows"]
    grid = {(l, w, b) for l in ("baseline", "default", "cached") for w in (0, 1) for b in (4, 8)}
    assert [(r["loader"], r["num_workers"], r["batch_size"]) for r in rows].count(("cached", 1, 8)) == 1
    assert {(r["loader"], r["num_workers"], r["batch_size"]) for r in rows} == grid and len(rows) == len(grid)
    for row in rows:
        assert set(row) >= {"loader", "num_workers", "batch_size", "images_per_s", "ratio_to_baseline", "first_batch_s"}
        base, = [r for r in rows if r["loader"] == "baseline" and (r["num_workers"], r["batch_size"]) ==
                 (row["num_workers"], row["batch_size"])]
        assert row["ratio_to_baseline"] == pytest.approx(row["images_per_s"] / base["images_per_s"], rel=0.01)
        assert row["first_batch_s"] > 0
    assert result["model_steps"][0]["images_per_s"] > 0 and result["bottleneck"] in ("model", "loader")
    assert [v["persistent_workers"] for v in result["variants"]] == [False, True]
    assert "building cache" in captured.err  # progress on stderr only
    assert "recommended" in format_result(result)


def test_a_pipeline_without_leading_resize_skips_the_cache(demo_data_dir, tmp_path):
    path = tmp_path / "p.yaml"
    A.save(A.Compose([A.HorizontalFlip(), A.Resize(64, 48), A.Normalize()]), str(path), data_format="yaml")
    from core.loader.cli import load_pipeline_file

    result = run_sweep(demo_data_dir, load_pipeline_file(path), workers=[0], batch_sizes=[16], max_images=16,
                       model=None, repeats=1)
    assert {r["loader"] for r in result["rows"]} == {"baseline", "default"}
    assert any("Resize" in note for note in result["notes"]) and result["bottleneck"] == "unknown"


class SlowLoader:
    """Batches of 4 images: the first after `startup` seconds (like starting workers), then one per `step`."""

    def __init__(self, batches: int, startup: float, step: float):
        self.batches, self.startup, self.step, self.served = batches, startup, step, 0

    def __iter__(self):
        import time

        import torch

        for number in range(self.batches):
            time.sleep(self.startup if number == 0 else self.step)
            self.served += 1
            yield {"image": torch.zeros(4, 3, 2, 2, dtype=torch.uint8)}


def test_time_loader_reports_start_up_apart_from_steady_feeding():
    # 1 s start-up, then 4 images per 0.05 s: at most 80 images/s steady, 16 batches of 4 images whole.
    steady = time_loader(SlowLoader(6, startup=1.0, step=0.05), "cpu", max_images=100)
    assert 1.0 <= steady.first_batch_s < 1.5
    assert 30 < steady.images_per_s <= 80  # the start-up second is not in the rate (with it: <= 16.7)
    whole = time_loader(SlowLoader(6, startup=1.0, step=0.05), "cpu", max_images=100, warmup_batches=0)
    assert whole.images_per_s <= 24 / 1.25 and whole.first_batch_s >= 1.0


def test_time_loader_stops_at_max_images():
    loader = SlowLoader(50, startup=0.0, step=0.0)
    time_loader(loader, "cpu", max_images=12)
    assert loader.served == 3  # 3 batches of 4 images, not all 50


def test_verdict_names_the_slower_stage():
    rows = [{"loader": "baseline", "num_workers": 0, "batch_size": 8, "images_per_s": 10.0},
            {"loader": "cached", "num_workers": 1, "batch_size": 8, "images_per_s": 500.0}]
    slow_model = verdict(rows, [], [{"images_per_s": 50.0}])
    assert slow_model["bottleneck"] == "model" and slow_model["recommended"]["cache"] == "memmap"
    assert slow_model["recommended"]["num_workers"] == 1
    assert verdict(rows, [], [{"images_per_s": 5000.0}])["bottleneck"] == "loader"


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
