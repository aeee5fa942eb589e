"""Where a new step goes in a pipeline, and which orders damage the images.

Photometric, noise and occlusion steps assume 0..255 pixels: after Normalize they clip the normalised
values (ColorJitter to 0..1) and wash every draw out without an error. So a new step goes before the
first Normalize / ToTensorV2, and a pipeline that still has one of them after Normalize is flagged.
"""
from __future__ import annotations

from core.augment.catalogue import get_entry
from core.augment.pipeline import OneOf, Pipeline, Step, step_where
from core.i18n import t

TAIL_GROUPS = ("normalize", "output")  # what ends a pipeline, in this order
# Groups whose steps read pixel values as 0..255 and are therefore wrong after Normalize.
PIXEL_GROUPS = ("photometric", "noise, blur & quality", "occlusion")


def _group(step) -> str | None:
    if isinstance(step, OneOf):  # a group of blurs is as pixel-bound as one blur
        groups = {_group(child) for child in step.steps}
        return next((g for g in (*PIXEL_GROUPS, "geometric") if g in groups), None)
    if isinstance(step, Step):
        return get_entry(step.name).group
    return None  # a library step outside the catalogue: unknown, not judged


def insert_index(pipeline: Pipeline, name: str | None = None) -> int:
    """Where a new step (catalogue `name`, or a OneOf group when None) belongs: before the tail.

    Normalize goes before ToTensorV2; ToTensorV2 goes last; every other step before both.
    """
    group = get_entry(name).group if name is not None else None
    if group == "output":
        return len(pipeline.steps)
    stops = ("output",) if group == "normalize" else TAIL_GROUPS
    for index, step in enumerate(pipeline.steps):
        if _group(step) in stops:
            return index
    return len(pipeline.steps)


def order_problems(pipeline: Pipeline) -> list[str]:
    """One line per enabled step that runs where it damages the images (after Normalize or ToTensorV2)."""
    problems, seen = [], None
    for number, step in enumerate(pipeline.steps, start=1):
        if not step.enabled:
            continue
        group = _group(step)
        if seen == "output" and group is not None and group != "output":
            problems.append(t("augmentation.after_tensor", where=step_where(number, step)))
        elif seen == "normalize" and group in PIXEL_GROUPS:
            problems.append(t("augmentation.after_normalize", where=step_where(number, step)))
        if group in TAIL_GROUPS and (seen is None or TAIL_GROUPS.index(group) > TAIL_GROUPS.index(seen)):
            seen = group
    return problems
