"""Files A.save writes with transforms outside the catalogue: loaded, kept as written, same pixels, timed."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import albumentations as A
import numpy as np
import pytest

from core.augment.pipeline import LibraryStep, OneOf, Step, build_pipeline, build_torchvision, reseed
from core.augment.preview import load_images
from core.augment.serialize import (load_pipeline, parse_pipeline, pipeline_to_dict, python_snippet, read_pipeline,
                                    save_pipeline)
from core.augment.timing import time_steps
from core.data.layout import scan_train

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def faces(demo_data_dir) -> list[np.ndarray]:
    return load_images(demo_data_dir, scan_train(demo_data_dir).images["path"].head(2))


def theirs() -> A.Compose:
    """A pipeline written with plain Albumentations, most of it outside our catalogue."""
    return A.Compose([
        A.Resize(256, 192),
        A.Blur(blur_limit=(3, 5), p=0.8),
        A.PadIfNeeded(min_height=288, min_width=224, p=1.0),
        A.SomeOf([A.HorizontalFlip(p=1), A.SmallestMaxSize(max_size=200, p=1), A.LongestMaxSize(max_size=280, p=1)],
                 n=2, p=1.0),
        A.Sequential([A.Rotate(limit=20, p=1), A.RandomBrightnessContrast(p=1)], p=0.7),
        A.OneOf([A.MotionBlur(p=1), A.GaussianBlur(p=1)], p=0.5),
    ])


def draws(compose, image, seed: int, n: int = 5) -> list[np.ndarray]:
    reseed(compose, seed)
    return [compose(image=image)["image"] for _ in range(n)]


def same(first: list, second: list) -> bool:
    return len(first) == len(second) and all(np.array_equal(a, b) for a, b in zip(first, second))


@pytest.mark.parametrize("suffix, data_format", [(".json", "json"), (".yaml", "yaml")])
def test_an_a_save_file_outside_the_catalogue_loads_with_the_same_pixels(tmp_path, faces, suffix, data_format):
    path = tmp_path / f"theirs{suffix}"
    A.save(theirs(), path, data_format=data_format)
    pipeline = read_pipeline(path)
    kinds = [(type(step).__name__, step.name) for step in pipeline.steps]
    assert kinds == [("Step", "Resize"), ("LibraryStep", "Blur"), ("LibraryStep", "PadIfNeeded"),
                     ("LibraryStep", "SomeOf"), ("LibraryStep", "Sequential"), ("OneOf", "OneOf")]
    assert pipeline.steps[3].arguments()["transforms"] == ["HorizontalFlip", "SmallestMaxSize", "LongestMaxSize"]
    reference = A.load(path, data_format=data_format)
    for image in faces:
        assert same(draws(load_pipeline(path), image, 3), draws(reference, image, 3))
        assert not same(draws(load_pipeline(path), image, 3), draws(load_pipeline(path), image, 4))


def test_library_steps_are_exported_unchanged_and_round_trip_with_the_same_pixels(tmp_path, faces):
    A.save(theirs(), tmp_path / "theirs.json")
    original = json.loads((tmp_path / "theirs.json").read_text())["transform"]["transforms"]
    pipeline = read_pipeline(tmp_path / "theirs.json")
    pipeline.seed = 8
    exported = pipeline_to_dict(pipeline)["transform"]["transforms"]
    for index in (1, 2, 3, 4):  # Blur, PadIfNeeded, SomeOf, Sequential: exactly as the file had them
        assert exported[index] == original[index]
    again = read_pipeline(save_pipeline(pipeline, tmp_path / "ours.yaml"))
    assert again.seed == 8 and [step.name for step in again.steps] == [step.name for step in pipeline.steps]
    assert same(draws(build_pipeline(pipeline), faces[0], 8), draws(build_pipeline(again), faces[0], 8))
    namespace: dict = {}
    exec(python_snippet(pipeline), namespace)  # noqa: S102 - the snippet is meant to be pasted and run
    assert same(draws(build_pipeline(pipeline), faces[0], 8), draws(namespace["transform"], faces[0], 8))


def test_library_steps_can_be_disabled_moved_timed_and_have_no_torchvision_twin(tmp_path, faces):
    A.save(theirs(), tmp_path / "theirs.json")
    pipeline = read_pipeline(tmp_path / "theirs.json")
    pipeline.steps[1].enabled = False  # Blur
    pipeline.move(2, -1)               # PadIfNeeded before the (disabled) Blur
    compose = build_pipeline(pipeline)
    assert [type(t).__name__ for t in compose.transforms] == ["Resize", "PadIfNeeded", "SomeOf", "Sequential", "OneOf"]
    rows = time_steps(pipeline, faces, repeats=1)
    assert [row.name for row in rows] == ["Resize", "PadIfNeeded", "SomeOf", "Sequential",
                                          "OneOf(MotionBlur | GaussianBlur)"]
    assert rows[1].output_size == "224x288"  # PadIfNeeded on the 192x256 Resize output, always applied
    _, skipped = build_torchvision(pipeline)
    assert skipped == ["PadIfNeeded", "SomeOf", "Sequential", "MotionBlur"]


def test_what_the_library_accepts_is_loaded_and_what_it_refuses_is_named():
    # Albumentations ignores an argument it does not know (with a warning): the step is kept as written.
    kept = parse_pipeline(json.dumps({"transform": {"__class_fullname__": "Compose", "transforms": [
        {"__class_fullname__": "Rotate", "angle": 5, "p": 0.5}]}}))
    assert isinstance(kept.steps[0], LibraryStep) and kept.steps[0].data["angle"] == 5
    # A file of one transform (not a Compose), as A.save writes for a lone OneOf, is a one-step pipeline.
    lone = parse_pipeline(json.dumps(A.to_dict(A.OneOf([A.Blur(p=1), A.MotionBlur(p=1)]))))
    assert len(lone.steps) == 1 and isinstance(lone.steps[0], LibraryStep) and lone.steps[0].name == "OneOf"
    # A OneOf of catalogue transforms stays an editable group; Affine with a value per axis stays as written.
    mixed = parse_pipeline(json.dumps(A.to_dict(A.Compose([
        A.OneOf([A.GaussianBlur(p=1), A.MotionBlur(p=1)]), A.Affine(scale={"x": (0.9, 1.1), "y": (0.5, 3.0)})]))))
    assert isinstance(mixed.steps[0], OneOf) and all(isinstance(s, Step) for s in mixed.steps[0].steps)
    assert isinstance(mixed.steps[1], LibraryStep)


def test_cli_bench_augment_times_a_file_with_library_steps(demo_data_dir, tmp_path):
    A.save(theirs(), tmp_path / "theirs.yaml", data_format="yaml")
    done = subprocess.run([sys.executable, "-m", "core", "bench-augment", "--data-dir", str(demo_data_dir),
                           "--pipeline", str(tmp_path / "theirs.yaml"), "--images", "2", "--json"],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [step["name"] for step in result["steps"]] == ["Resize", "Blur", "PadIfNeeded", "SomeOf", "Sequential",
                                                          "OneOf(MotionBlur | GaussianBlur)"]
    assert all(step["ms_per_image"] > 0 for step in result["steps"]) and result["images_per_s"] > 0
