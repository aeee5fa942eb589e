"""Pipeline files: Albumentations' own format both ways, same pixels after every round trip, clear import errors."""
from __future__ import annotations

import json

import albumentations as A
import numpy as np
import pytest
import yaml

from core.augment import load_pipeline, load_preset, preset_names, preset_path
from core.augment.pipeline import Pipeline, build_pipeline, new_one_of, new_step
from core.augment.serialize import (export_path, parse_pipeline, pipeline_from_dict, pipeline_to_dict,
                                    pipeline_to_text, python_snippet, read_pipeline, save_pipeline)
from core.data.images import read_image
from core.errors import ConfigError

# Our own builds silence it; these tests also call A.load / A.from_dict directly.
pytestmark = pytest.mark.filterwarnings("ignore:ShiftScaleRotate is a special case of Affine")


@pytest.fixture(scope="module")
def face(demo_data_dir) -> np.ndarray:
    return read_image(next((demo_data_dir / "train" / "images").glob("*/incorrect_mask.jpg")))


def designed(seed: int = 11) -> Pipeline:
    blur = new_one_of(["GaussianBlur", "MotionBlur", "GaussNoise"], p=0.7)
    blur.steps[1].p = 0.5  # a weight other than the default survives too
    steps = [new_step("Resize"), new_step("HorizontalFlip"), new_step("Affine", p=0.9, shear=(-5.0, 5.0)),
             new_step("ShiftScaleRotate", p=0.5), blur, new_step("CoarseDropout", p=0.8), new_step("Normalize")]
    return Pipeline(steps=steps, seed=seed)


def same_draws(first, second, image, n=6) -> bool:
    return all(np.array_equal(first(image=image)["image"], second(image=image)["image"]) for _ in range(n))


def test_to_dict_from_dict_round_trip_gives_the_same_pixels(face):
    pipeline = designed()
    restored = pipeline_from_dict(pipeline_to_dict(pipeline))
    assert restored.seed == 11 and len(restored.steps) == len(pipeline.steps)
    assert same_draws(build_pipeline(pipeline), build_pipeline(restored), face)
    # the file is Albumentations' own: A.from_dict alone reproduces the draws, seed included
    assert same_draws(build_pipeline(pipeline), A.from_dict(pipeline_to_dict(pipeline)), face)


@pytest.mark.parametrize("suffix, data_format", [(".yaml", "yaml"), (".json", "json")])
def test_save_and_load_round_trip_in_both_formats(tmp_path, face, suffix, data_format):
    pipeline = designed()
    path = save_pipeline(pipeline, tmp_path / "sub" / f"aug{suffix}")
    assert same_draws(build_pipeline(pipeline), load_pipeline(path), face)
    assert same_draws(build_pipeline(pipeline), A.load(path, data_format=data_format), face)
    assert pipeline_to_text(read_pipeline(path), data_format) == path.read_text()  # stable: load -> save is a no-op


def test_files_written_by_albumentations_itself_load(tmp_path, face):
    compose = A.Compose([A.Resize(256, 192), A.Rotate(limit=20, p=0.7), A.OneOf([A.MotionBlur(), A.GaussianBlur()]),
                         A.Normalize()], seed=4)
    A.save(compose, tmp_path / "theirs.json")
    A.save(compose, tmp_path / "theirs.yaml", data_format="yaml")
    for name in ("theirs.json", "theirs.yaml"):
        loaded = load_pipeline(tmp_path / name)
        assert [type(t).__name__ for t in loaded.transforms] == ["Resize", "Rotate", "OneOf", "Normalize"]
    pipeline = read_pipeline(tmp_path / "theirs.yaml")
    assert pipeline.steps[1].args["limit"] == (-20.0, 20.0) and pipeline.steps[1].p == 0.7
    assert pipeline.seed == 0  # A.save does not write the seed; ours do


def test_hand_written_short_forms_are_normalised_like_the_library_does():
    text = """
transform:
  __class_fullname__: Compose
  transforms:
  - {__class_fullname__: Rotate, limit: 15, p: 1.0}
  - {__class_fullname__: albumentations.augmentations.transforms.GaussNoise, std_range: [0.1, 0.2]}
"""
    pipeline = parse_pipeline(text)
    assert pipeline.steps[0].args["limit"] == (-15.0, 15.0)
    reversed_range = compose_text({"__class_fullname__": "GaussianBlur", "sigma_limit": [3, 1], "p": 1})
    assert parse_pipeline(reversed_range).steps[0].args["sigma_limit"] == (1.0, 3.0)  # the library sorts it
    assert pipeline.steps[1].name == "GaussNoise" and pipeline.steps[1].p == 0.5


def compose_text(*steps, **compose) -> str:
    return json.dumps({"transform": {"__class_fullname__": "Compose", "transforms": list(steps), **compose}})


@pytest.mark.parametrize("text, expected", [
    ("transform: [", "upload.yaml: neither JSON nor YAML"),
    ("just text", "upload.yaml: not an Albumentations pipeline"),
    (compose_text({"__class_fullname__": "Resize", "height": 256, "width": 192, "p": 1},
                  {"__class_fullname__": "Solarise", "p": 0.5}),
     "upload.yaml: step 2 (Solarise): unknown transform 'Solarise' (not in Albumentations 2.0.8)"),
    (compose_text({"__class_fullname__": "Resize", "height": 256, "width": 192, "p": 1},
                  {"__class_fullname__": "HorizontalFlip", "p": 1},
                  {"__class_fullname__": "Rotate", "limit": [-30, "x"], "p": 0.5}),
     "upload.yaml: step 3 (Rotate): limit: "),
    (compose_text({"__class_fullname__": "Resize", "height": -5, "width": 192, "p": 1}),
     "upload.yaml: step 1 (Resize): height: -5 is below the minimum 1"),
    (compose_text({"__class_fullname__": "Rotate", "limit": 30, "p": 0.5, "border_mode": "edge"}),
     "upload.yaml: step 1 (Rotate): border_mode: 'edge' is not one of 0, 1, 2, 3, 4"),
    (compose_text({"__class_fullname__": "Rotate", "p": 2}), "upload.yaml: step 1 (Rotate): p: 2.0 is above the maximum 1"),
    (compose_text({"__class_fullname__": "Resize", "height": 0, "width": 192, "p": 1}),
     "upload.yaml: step 1 (Resize): height: 0 is below the minimum 1"),
    (compose_text({"__class_fullname__": "OneOf", "p": 0.5, "transforms": [
        {"__class_fullname__": "MotionBlur", "p": 1, "blur_limit": [3, 7]},
        {"__class_fullname__": "GaussNoise", "p": 1, "std_range": [0.1, 3]}]}),
     "upload.yaml: step 1 (OneOf) > 2 (GaussNoise): std_range: 3.0 is above the maximum 1"),
    (compose_text({"__class_fullname__": "SomeOf", "n": 1, "p": 1, "transforms": [
        {"__class_fullname__": "Blur", "p": 1, "blur_limit": [3, "big"]}]}),
     "upload.yaml: step 1 (SomeOf) > 1 (Blur): blur_limit: "),
    (compose_text({"__class_fullname__": "PadIfNeeded", "min_height": -3, "p": 1}),
     "upload.yaml: step 1 (PadIfNeeded): min_height: Input should be greater than or equal to 1"),
    (compose_text(seed=-1), "upload.yaml: seed: -1 is below the minimum 0"),
    (compose_text(colour="blue"), "upload.yaml: Compose: unknown key colour (A.Compose takes "),
])
def test_import_errors_name_the_file_step_and_parameter(text, expected):
    with pytest.raises(ConfigError) as caught:
        parse_pipeline(text, source="upload.yaml")
    assert str(caught.value).startswith(expected), str(caught.value)


def test_load_pipeline_names_the_file(tmp_path):
    with pytest.raises(ConfigError, match="missing.yaml: pipeline file not found"):
        load_pipeline(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.json"
    bad.write_text(compose_text({"__class_fullname__": "Crop", "x_min": 50, "x_max": 10, "p": 1}))
    with pytest.raises(ConfigError, match=r"bad.json: step 1 \(Crop\): x_max must be greater than x_min"):
        load_pipeline(bad)


def test_python_snippet_builds_the_same_pipeline(face):
    pipeline = designed(seed=5)
    pipeline.steps.append(new_step("ToTensorV2"))
    pipeline.steps[1].enabled = False
    code = python_snippet(pipeline)
    assert "HorizontalFlip" not in code and "seed=5" in code and "from albumentations.pytorch import ToTensorV2" in code
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 - the snippet is meant to be pasted and run
    first, second = build_pipeline(pipeline), namespace["transform"]
    assert all(bool((first(image=face)["image"] == second(image=face)["image"]).all()) for _ in range(5))


def test_presets_load_and_baseline_is_resize_then_normalize(face):
    assert preset_names()[:2] == ["baseline", "competition"]
    baseline = load_pipeline(preset_path("baseline"))
    assert [type(t).__name__ for t in baseline.transforms] == ["Resize", "Normalize"]
    assert baseline(image=face)["image"].shape == (256, 192, 3)
    competition = load_preset("competition")
    assert len(competition.steps) >= 6 and competition.steps[0].name == "Resize"  # resize first: cheaper
    assert yaml.safe_load(preset_path("competition").read_text())["transform"]["seed"] == 0
    with pytest.raises(ConfigError, match="preset: 'strong' is not one of baseline, competition"):
        preset_path("strong")


def test_export_path_accepts_plain_names_only(tmp_path):
    assert export_path("my-run_1", "yaml", tmp_path) == tmp_path / "my-run_1.yaml"
    assert export_path("aug.json", "json", tmp_path) == tmp_path / "aug.json"
    with pytest.raises(ConfigError, match="file name: '../x'"):
        export_path("../x", "yaml", tmp_path)
    with pytest.raises(ConfigError, match="format: 'toml'"):
        export_path("x", "toml", tmp_path)


def test_resolve_pipeline_takes_a_preset_name_or_a_file(tmp_path):
    from core.augment import resolve_pipeline

    assert resolve_pipeline("competition") == preset_path("competition")
    mine = save_pipeline(designed(), tmp_path / "mine.json")
    assert resolve_pipeline(str(mine)) == mine
    with pytest.raises(ConfigError, match="nope.yaml: neither a pipeline file nor a preset"):
        resolve_pipeline(tmp_path / "nope.yaml")
