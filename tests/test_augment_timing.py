"""Timing: per step, whole pipeline, torchvision side by side, order experiment, and `python -m core bench-augment`."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.augment import preset_path
from core.augment.pipeline import Pipeline, new_one_of, new_step
from core.augment.preview import load_images
from core.augment.timing import compare_backends, order_experiment, time_pipeline, time_steps
from core.data.layout import scan_train

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def faces(demo_data_dir) -> list:
    return load_images(demo_data_dir, scan_train(demo_data_dir).images["path"].head(4))


def test_time_steps_gives_one_row_per_enabled_step_with_its_output_size(faces):
    pipeline = Pipeline(steps=[new_step("Resize"), new_step("Rotate"), new_one_of(["GaussianBlur", "MotionBlur"]),
                               new_step("HorizontalFlip"), new_step("Normalize")])
    pipeline.steps[3].enabled = False
    rows = time_steps(pipeline, faces, repeats=1)
    assert [row.name for row in rows] == ["Resize", "Rotate", "OneOf(GaussianBlur | MotionBlur)", "Normalize"]
    assert all(row.ms_per_image > 0 for row in rows)
    assert [row.output_size for row in rows] == ["192x256"] * 4
    assert rows[1].p == 0.5  # reported as configured, timed as applied
    whole = time_pipeline(pipeline, faces, repeats=2)
    assert whole.images == 8 and whole.images_per_s == pytest.approx(1000 / whole.ms_per_image, rel=1e-6)


def test_compare_backends_times_each_equivalent_on_both_libraries(faces):
    pipeline = Pipeline(steps=[new_step("Resize"), new_step("MotionBlur"), new_step("Rotate"),
                               new_step("Normalize")])
    rows = compare_backends(pipeline, faces, repeats=1)
    assert [row["step"] for row in rows] == ["Resize", "Rotate", "Normalize"]  # MotionBlur has no v2 equivalent
    for row in rows:
        assert row["albumentations_ms"] > 0 and row["torchvision_ms"] > 0
        assert row["alb_over_tv"] == pytest.approx(row["albumentations_ms"] / row["torchvision_ms"])


def test_order_experiment_times_both_orders_and_the_verdict_follows_the_numbers(faces):
    result = order_experiment(new_step("Resize"), new_step("Rotate"), faces, repeats=3)
    assert [o["order"] for o in result.orders] == ["Resize → Rotate", "Rotate → Resize"]
    assert result.same_size and result.orders[0]["output_size"] == "192x256"
    assert all(o["ms_per_image"] > 0 and o["error"] is None for o in result.orders)
    # Which order is cheaper is measured (bench/augment.py reports it); here: the verdict follows the numbers.
    fast, slow = sorted(result.orders, key=lambda o: o["ms_per_image"])
    factor = slow["ms_per_image"] / fast["ms_per_image"]
    assert result.verdict() == f"{fast['order']} is {factor:.1f}x cheaper than {slow['order']}; both give 192x256."


def test_order_experiment_reports_different_sizes_and_orders_that_fail(faces):
    box = new_step("Crop", x_min=0, y_min=0, x_max=100, y_max=120)
    differ = order_experiment(new_step("Resize"), box, faces, repeats=1)
    assert [o["output_size"] for o in differ.orders] == ["100x120", "192x256"]
    assert not differ.same_size and "outputs differ in size" in differ.verdict()
    failing = order_experiment(new_step("Resize"), new_step("CenterCrop", height=384, width=320), faces, repeats=1)
    assert failing.orders[0]["error"].startswith("Crop size")  # a 384x320 crop of a 256x192 image
    assert failing.orders[1]["error"] is None
    assert failing.verdict().startswith("Resize → CenterCrop fails")


def run_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120)


def test_cli_bench_augment_json_shape(demo_data_dir):
    done = run_cli("bench-augment", "--data-dir", str(demo_data_dir), "--pipeline",
                   str(preset_path("competition")), "--images", "4", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)  # stdout is exactly one JSON object
    assert [step["name"] for step in result["steps"]][:2] == ["Resize", "HorizontalFlip"]
    assert all(set(step) >= {"name", "ms_per_image"} and step["ms_per_image"] >= 0 for step in result["steps"])
    assert result["total_ms_per_image"] > 0 and result["images_per_s"] > 0 and result["images"] == 4


def test_cli_bench_augment_bad_pipeline_is_one_line_naming_the_parameter(demo_data_dir, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("transform:\n  __class_fullname__: Compose\n  transforms:\n"
                   "  - {__class_fullname__: Resize, height: -5, width: 192, p: 1.0}\n")
    done = run_cli("bench-augment", "--data-dir", str(demo_data_dir), "--pipeline", str(bad), "--json")
    assert done.returncode != 0 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [f"error: {bad}: step 1 (Resize): height: -5 is below the minimum 1 "
                                                "(Output height in pixels)"]
