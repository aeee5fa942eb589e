"""Where a new step goes, and which orders are flagged (core.augment.order)."""
from __future__ import annotations

from core.augment.order import insert_index, order_problems
from core.augment.pipeline import Pipeline, new_one_of, new_step


def names(pipeline):
    return [step.name for step in pipeline.steps]


def test_new_steps_go_before_normalize_and_totensor_goes_last():
    pipeline = Pipeline(steps=[new_step("Resize"), new_step("Normalize"), new_step("ToTensorV2")])
    assert insert_index(pipeline, "ColorJitter") == 1 and insert_index(pipeline, None) == 1  # a OneOf too
    assert insert_index(pipeline, "Normalize") == 2 and insert_index(pipeline, "ToTensorV2") == 3
    assert insert_index(Pipeline(steps=[new_step("Resize")]), "GaussNoise") == 1  # no tail: appended


def test_pixel_steps_after_normalize_and_anything_after_totensor_are_flagged():
    good = Pipeline(steps=[new_step("Resize"), new_step("ColorJitter"), new_step("Normalize"), new_step("Rotate")])
    assert order_problems(good) == []  # geometric after Normalize works on floats
    bad = Pipeline(steps=[new_step("Resize"), new_step("Normalize"), new_one_of(["GaussianBlur", "MotionBlur"]),
                          new_step("ToTensorV2"), new_step("HorizontalFlip")])
    problems = order_problems(bad)
    assert len(problems) == 2
    assert problems[0].startswith("step 3 (OneOf) runs after Normalize")
    assert problems[1].startswith("step 5 (HorizontalFlip) runs after ToTensorV2")
    bad.steps[2].enabled = False
    assert len(order_problems(bad)) == 1  # a disabled step does not run, so it damages nothing
