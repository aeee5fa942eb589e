"""The pipeline model: build, seeds, OneOf, the torchvision side, and what the preview computes."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from torchvision.transforms import v2

from core.augment.pipeline import (OneOf, Pipeline, build_pipeline, build_torchvision, new_one_of, new_step,
                                   reseed, torchvision_step)
from core.augment.preview import (augment_grid, load_images, model_input, normalize_args, pick_images, to_display,
                                  torchvision_draws)
from core.data.layout import scan_train
from core.errors import ConfigError


@pytest.fixture(scope="module")
def scan(demo_data_dir):
    return scan_train(demo_data_dir)


@pytest.fixture(scope="module")
def faces(demo_data_dir, scan) -> list[np.ndarray]:
    return load_images(demo_data_dir, scan.images["path"].head(3))


def augmenting_pipeline(seed: int = 0) -> Pipeline:
    return Pipeline(steps=[new_step("Resize"), new_step("Rotate", p=1.0), new_step("RandomBrightnessContrast", p=1.0),
                           new_one_of(["GaussianBlur", "GaussNoise"], p=1.0), new_step("Normalize")], seed=seed)


def draws(compose, image, n=3):
    return [compose(image=image)["image"] for _ in range(n)]


def test_build_gives_a_seeded_compose_of_the_enabled_steps(faces):
    pipeline = augmenting_pipeline(seed=7)
    pipeline.steps[2].enabled = False
    compose = build_pipeline(pipeline)
    assert [type(t).__name__ for t in compose.transforms] == ["Resize", "Rotate", "OneOf", "Normalize"]
    assert compose.seed == 7
    output = compose(image=faces[0])["image"]
    assert output.shape == (256, 192, 3) and output.dtype == np.float32


def test_same_seed_same_pixels_other_seed_other_pixels(faces):
    first = draws(build_pipeline(augmenting_pipeline(seed=1)), faces[0])
    again = draws(build_pipeline(augmenting_pipeline(seed=1)), faces[0])
    other = draws(build_pipeline(augmenting_pipeline(seed=2)), faces[0])
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], other[0])
    assert not np.array_equal(first[0], first[1])  # successive draws differ


def test_errors_name_the_step_as_the_editor_numbers_it():
    pipeline = Pipeline(steps=[new_step("Resize"), new_step("HorizontalFlip"), new_step("Resize", height=-1)])
    pipeline.steps[1].enabled = False  # disabled steps still count in the numbering
    with pytest.raises(ConfigError, match=r"^step 3 \(Resize\): height: -1 is below the minimum 1"):
        build_pipeline(pipeline)
    group = Pipeline(steps=[new_one_of(["GaussianBlur", "CoarseDropout"])])
    group.steps[0].steps[1].args["num_holes_range"] = (9, 3)
    with pytest.raises(ConfigError, match=r"^step 1 \(OneOf\) > 2 \(CoarseDropout\): num_holes_range: the low end"):
        build_pipeline(group)


def test_one_of_needs_an_enabled_member():
    group = new_one_of(["GaussianBlur"])
    group.steps[0].enabled = False
    with pytest.raises(ConfigError, match=r"step 1 \(OneOf\): the group has no enabled transform"):
        build_pipeline(Pipeline(steps=[group]))
    with pytest.raises(ConfigError, match="at least one"):
        new_one_of([])


def test_move_and_remove_keep_step_identity():
    pipeline = augmenting_pipeline()
    uids = [step.uid for step in pipeline.steps]
    pipeline.move(1, -1)
    assert [step.uid for step in pipeline.steps][:2] == [uids[1], uids[0]]
    pipeline.move(0, -1)  # out of range: nothing happens
    pipeline.remove(0)
    assert [step.name for step in pipeline.steps][:2] == ["Resize", "RandomBrightnessContrast"]


def test_reseed_separates_workers_but_repeats_for_the_same_salt(faces):
    compose = build_pipeline(augmenting_pipeline(seed=3))
    worker0 = draws(reseed(compose, 3, 0), faces[0], 2)
    worker1 = draws(reseed(compose, 3, 1), faces[0], 2)
    worker0_again = draws(reseed(compose, 3, 0), faces[0], 2)
    assert not np.array_equal(worker0[0], worker1[0])
    assert all(np.array_equal(a, b) for a, b in zip(worker0, worker0_again))


def test_torchvision_side_maps_equivalents_and_lists_the_rest(faces):
    pipeline = augmenting_pipeline()
    pipeline.steps.insert(1, new_step("MotionBlur"))
    compose, skipped = build_torchvision(pipeline)
    assert skipped == ["MotionBlur"]  # GaussNoise maps to v2.GaussianNoise; MotionBlur has no twin
    output = compose(torch.from_numpy(faces[0].copy()).permute(2, 0, 1))
    assert tuple(output.shape) == (3, 256, 192) and output.dtype == torch.float32
    outputs, _ = torchvision_draws(pipeline, faces[0], 2)
    assert not torch.equal(outputs[0], outputs[1])  # the draws differ...
    again, _ = torchvision_draws(pipeline, faces[0], 2)
    assert torch.equal(outputs[0], again[0])  # ...and repeat for the seed, like the Albumentations side


def test_pick_images_by_class_person_and_random(scan):
    images = scan.images
    label = int(images["label"].iloc[0])
    by_class = pick_images(images, "class", label, count=3, seed=0)
    assert len(by_class) >= 1 and set(by_class["label"]) == {label}
    person = images["person"].iloc[0]
    by_person = pick_images(images, "person", person, count=8)
    assert set(by_person["person"]) == {person} and len(by_person) == 7
    assert pick_images(images, "random", count=5, seed=1)["path"].tolist() == \
        pick_images(images, "random", count=5, seed=1)["path"].tolist()
    with pytest.raises(ConfigError, match="pick: 'age'"):
        pick_images(images, "age")


def test_augment_grid_is_reproducible_per_image(faces):
    pipeline = augmenting_pipeline(seed=5)
    grid = augment_grid(pipeline, faces, draws=2)
    assert len(grid) == 3 and all(len(row) == 2 for row in grid)
    again = augment_grid(pipeline, faces[:1], draws=2)  # fewer images: the first row does not change
    assert np.array_equal(grid[0][1], again[0][1])


def test_display_undoes_normalize_and_model_input_reports_it(faces):
    plain = Pipeline(steps=[new_step("Resize")])
    normalized = Pipeline(steps=[new_step("Resize"), new_step("Normalize")])
    before = build_pipeline(plain)(image=faces[0])["image"]
    after = build_pipeline(normalized)(image=faces[0])["image"]
    shown = to_display(after, normalize_args(normalized))
    assert shown.dtype == np.uint8 and np.abs(shown.astype(int) - before.astype(int)).max() <= 1
    received = model_input(after)
    assert received.shape == (3, 256, 192) and received.dtype == "float32" and received.minimum < 0
    assert model_input(before).warnings()[0].startswith("Pixels reach the model as 0..255")
    tensor_out = build_pipeline(Pipeline(steps=[new_step("Resize"), new_step("ToTensorV2")]))(image=faces[0])["image"]
    assert to_display(tensor_out).shape == (256, 192, 3)
    assert model_input(tensor_out).layout == "CHW tensor"


def test_a_step_that_cannot_handle_the_image_is_named(faces):
    pipeline = Pipeline(steps=[new_step("Resize"), new_step("CenterCrop", height=400, width=300)])
    with pytest.raises(ConfigError, match=r"step 2 \(CenterCrop\): cannot be applied to a 192x256 image"):
        augment_grid(pipeline, faces[:1], draws=1)


def test_one_of_group_is_a_step():
    group = new_one_of(["GaussianBlur", "MotionBlur"], p=0.4)
    assert isinstance(group, OneOf) and group.p == 0.4 and [s.p for s in group.steps] == [1.0, 1.0]


def noise_spread(output: torch.Tensor, image: np.ndarray) -> float:
    return float((output.float() - torch.from_numpy(image.copy()).permute(2, 0, 1).float()).std())


def test_gauss_noise_maps_to_v2_gaussian_noise_on_the_same_scale(faces):
    """std_range is a fraction of 255 on both sides: the added noise has the same spread."""
    step = new_step("GaussNoise", p=1.0, std_range=(0.08, 0.08))
    alb = build_pipeline(Pipeline(steps=[step]))(image=faces[0])["image"]
    tv, skipped = build_torchvision(Pipeline(steps=[step]))
    assert skipped == [] and "GaussianNoise" in repr(tv)
    alb_spread = noise_spread(torch.from_numpy(alb).permute(2, 0, 1), faces[0])
    tv_spread = noise_spread(tv(torch.from_numpy(faces[0].copy()).permute(2, 0, 1)), faces[0])
    assert alb_spread == pytest.approx(0.08 * 255, rel=0.25) and tv_spread == pytest.approx(alb_spread, rel=0.15)


def test_hue_saturation_value_maps_to_color_jitter_with_the_hue_shift_as_a_fraction_of_the_turn():
    step = new_step("HueSaturationValue", hue_shift_limit=(-18.0, 18.0), sat_shift_limit=(-32.0, 64.0),
                    val_shift_limit=(0.0, 0.0))
    jitter = torchvision_step(step, 1.0)
    assert isinstance(jitter, v2.ColorJitter)
    assert jitter.hue == pytest.approx((-0.1, 0.1))         # 18 of OpenCV's 180 hue steps = a tenth of the turn
    assert jitter.saturation == pytest.approx((0.75, 1.5))  # 1 + shift/128: the same change at a mid-level pixel
    assert jitter.brightness is None                        # no value shift: brightness untouched
