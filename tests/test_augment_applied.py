"""What a draw applied, in words (core.augment.applied), from Albumentations' own record of it."""
from __future__ import annotations

import albumentations as A
import numpy as np

from core.augment.applied import describe_applied
from core.augment.preview import augment_draws, augment_grid
from core.augment.pipeline import Pipeline, build_pipeline, new_step, reseed


def test_the_rotation_angle_is_read_back_from_the_matrix():
    compose = A.Compose([A.Resize(64, 48), A.Rotate(limit=(25, 25), p=1)], save_applied_params=True, seed=0)
    text = describe_applied(compose(image=np.zeros((80, 60, 3), np.uint8))["applied_transforms"])
    assert text in ("Rotate 25.0°", "Rotate -25.0°")  # exactly the angle asked for; Resize left out
    flip = A.Compose([A.HorizontalFlip(p=1), A.RandomGamma(gamma_limit=(150, 150), p=1)], save_applied_params=True)
    assert describe_applied(flip(image=np.zeros((8, 8, 3), np.uint8))["applied_transforms"]) == \
        "HorizontalFlip; RandomGamma gamma 1.5"


def test_recording_the_values_leaves_the_draws_unchanged():
    pipeline = Pipeline(steps=[new_step("Resize"), new_step("Rotate", p=1.0), new_step("ColorJitter")], seed=5)
    images = [np.random.default_rng(1).integers(0, 255, (120, 90, 3), dtype=np.uint8)]
    draws = augment_draws(pipeline, images, 3)
    compose = reseed(build_pipeline(pipeline), pipeline.seed, 0)  # as drawn before anything was recorded
    plain_draws = [compose(image=images[0])["image"] for _ in range(3)]
    assert [np.array_equal(a, b) for a, b in zip(augment_grid(pipeline, images, 3)[0], plain_draws)] == [True] * 3
    for (image, applied), plain in zip(draws[0], plain_draws):
        assert np.array_equal(image, plain) and applied.startswith("Rotate ")


def test_a_record_shaped_unlike_the_known_ones_still_gives_a_line():
    blur = A.Compose([A.Blur(blur_limit=(5, 5), p=1)], save_applied_params=True)
    assert describe_applied(blur(image=np.zeros((16, 16, 3), np.uint8))["applied_transforms"]) == "Blur kernel 5"
    odd = [("Future", {"kernel": object(), "matrix": [[1]], "holes": 3, "level": 2})]
    assert describe_applied(odd) == "Future level 2"  # what cannot be read is left out, never an exception
