"""The pipeline a user designs: ordered steps (transform, arguments, p, enabled), OneOf groups, a seed.

`build_pipeline` turns it into the `A.Compose` the trainer runs, `build_torchvision` into the nearest
`v2.Compose`. Every error names the step as the editor numbers it ("step 3 (Rotate): limit: ...").
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

import albumentations as A
import numpy as np
from torchvision.transforms import v2

from core.augment.catalogue import get_entry
from core.augment.library_errors import library_call
from core.errors import ConfigError
from core.params import Param

_uids = itertools.count(1)
SEED = Param("seed", "int", 0, "Seed of the random draws: the same seed gives the same augmented images",
             min=0, max=2**32 - 1)
GROUP_P = Param("p", "float", 0.5, "Probability that one of the group's transforms is applied", min=0, max=1,
                step=0.05)
WEIGHT = Param("p", "float", 1.0, "Weight of this transform when the group picks one", min=0, max=1, step=0.05)


@dataclass
class Step:
    """One transform of the catalogue with its arguments; `uid` keeps its widgets when steps move."""

    name: str
    args: dict
    p: float
    enabled: bool = True
    uid: int = field(default_factory=lambda: next(_uids))


@dataclass
class OneOf:
    """Apply one of `steps` (picked by their p as weights) with probability `p`."""

    steps: list[Step]
    p: float = 0.5
    enabled: bool = True
    uid: int = field(default_factory=lambda: next(_uids))
    name: str = "OneOf"


@dataclass
class LibraryStep:
    """A transform outside the catalogue (Blur, PadIfNeeded, a SomeOf...), kept exactly as its file gave it.

    The editor shows it read-only: it can be moved, enabled or removed, and it is saved back unchanged.
    """

    data: dict  # its A.to_dict form, e.g. {'__class_fullname__': 'Blur', 'blur_limit': [3, 7], 'p': 0.5}
    enabled: bool = True
    uid: int = field(default_factory=lambda: next(_uids))

    @property
    def name(self) -> str:
        return str(self.data["__class_fullname__"]).rsplit(".", 1)[-1]

    @property
    def p(self) -> float:
        return self.data.get("p", 0.5)  # what A.from_dict assumes when a file leaves p out

    def arguments(self) -> dict:
        """Its parameters as shown: nested transforms by name."""
        shown = {key: value for key, value in self.data.items() if key not in ("__class_fullname__", "transforms")}
        if "transforms" in self.data:
            shown["transforms"] = [LibraryStep(child).name for child in self.data["transforms"]]
        return shown


@dataclass
class Pipeline:
    steps: list = field(default_factory=list)  # Step | OneOf | LibraryStep, in the order they run
    seed: int = 0
    compose_args: dict = field(default_factory=dict)  # other A.Compose arguments a file gave (p, bbox_params...)

    def move(self, index: int, offset: int) -> None:
        target = index + offset
        if 0 <= index < len(self.steps) and 0 <= target < len(self.steps):
            self.steps[index], self.steps[target] = self.steps[target], self.steps[index]

    def remove(self, index: int) -> None:
        del self.steps[index]

    def enabled_steps(self) -> list:
        return [step for step in self.steps if step.enabled]


def new_step(name: str, p: float | None = None, **args) -> Step:
    """A catalogue step with its starting arguments, overridden by `args`."""
    entry = get_entry(name)
    return Step(name=name, args={**entry.defaults, **args}, p=entry.p.default if p is None else p)


def new_one_of(names, p: float = 0.5) -> OneOf:
    if not names:
        raise ConfigError.of("errors_augment.oneof_empty")
    return OneOf(steps=[new_step(name, p=1.0) for name in names], p=p)


def always_applied(step):
    """The same step with p=1: what it costs or does when it fires."""
    if isinstance(step, LibraryStep):
        return replace(step, data={**step.data, "p": 1.0})
    return replace(step, p=1.0)


def step_label(step) -> str:
    if isinstance(step, OneOf):
        return "OneOf(" + " | ".join(child.name for child in step.steps) + ")"
    return step.name


def step_where(number: int, step, child: int | None = None) -> str:
    """How errors name a step: 'step 3 (Rotate)' or 'step 4 (OneOf) > 2 (MotionBlur)'."""
    if child is None:
        return f"step {number} ({step.name})"
    return f"step {number} (OneOf) > {child} ({step.steps[child - 1].name})"


def make_transform(step, where: str):
    """The Albumentations transform of a Step or LibraryStep; StepError naming step and parameter if invalid."""
    if isinstance(step, LibraryStep):
        return library_call(lambda: A.from_dict({"transform": step.data}), where)
    return get_entry(step.name).build(step.args, step.p, where)[0]


def make_group(group: OneOf, number: int):
    p = GROUP_P.validate(group.p, f"step {number} (OneOf): p")
    children = [child for child in group.steps if child.enabled]
    if not children:
        raise ConfigError.of("errors_augment.oneof_disabled", number=number)
    transforms = []
    for index, child in enumerate(group.steps, start=1):
        if child.enabled:
            where = step_where(number, group, index)
            WEIGHT.validate(child.p, f"{where}: p")
            transforms.append(make_transform(child, where))
    return A.OneOf(transforms, p=p)


def build_transforms(pipeline: Pipeline) -> list:
    """The enabled steps as Albumentations transforms, in order (numbers count disabled steps too)."""
    transforms = []
    for number, step in enumerate(pipeline.steps, start=1):
        if not step.enabled:
            continue
        if isinstance(step, OneOf):
            transforms.append(make_group(step, number))
        else:
            transforms.append(make_transform(step, step_where(number, step)))
    return transforms


def build_pipeline(pipeline: Pipeline) -> A.Compose:
    """The `A.Compose` of the enabled steps, seeded so that its draws repeat for the same seed."""
    seed = SEED.validate(pipeline.seed, "seed")
    transforms = build_transforms(pipeline)
    return library_call(lambda: A.Compose(transforms, **pipeline.compose_args, seed=seed), "Compose")


def reseed(transform: A.Compose, base_seed: int | None, *salt: int) -> A.Compose:
    """Seed a Compose from `base_seed` mixed with `salt` (an image index, a DataLoader worker id...).

    Copies of one Compose (one per DataLoader worker) would otherwise all draw the same augmentations;
    mixing rather than adding keeps (seed 1, worker 0) and (seed 0, worker 1) apart.
    """
    transform.set_random_seed(int(np.random.SeedSequence([base_seed or 0, *salt]).generate_state(1)[0]))
    return transform


def build_torchvision(pipeline: Pipeline) -> tuple[v2.Compose, list[str]]:
    """The nearest torchvision v2 pipeline (on uint8 CHW tensors) and the steps it had to leave out."""
    build_transforms(pipeline)  # same validation, same messages, before anything is mapped
    transforms, skipped = [v2.ToImage()], []
    for step in pipeline.enabled_steps():
        if isinstance(step, OneOf):
            options = [(child, torchvision_step(child, 1.0)) for child in step.steps if child.enabled]
            mapped = [(child.p, transform) for child, transform in options if transform is not None]
            skipped += [child.name for child, transform in options if transform is None]
            if mapped:
                choice = v2.RandomChoice([t for _, t in mapped], p=[w for w, _ in mapped])
                transforms.append(v2.RandomApply([choice], p=step.p))
            continue
        transform = torchvision_step(step, step.p)
        if transform is None:
            skipped.append(step.name)
        else:
            transforms.append(transform)
    return v2.Compose(transforms), skipped


def torchvision_step(step: Step, p: float):
    """The v2 equivalent of one step, or None when torchvision has none."""
    if not isinstance(step, Step):
        return None
    entry = get_entry(step.name)
    if entry.torchvision is None:
        return None
    return entry.torchvision(entry.check_args(step.args, step.name), p)
