"""The pipeline a user designs: ordered steps (transform, arguments, p, enabled), OneOf groups, a seed.

`build_pipeline` turns it into the `A.Compose` the trainer runs, `build_torchvision` into the nearest
`v2.Compose`. Every error names the step as the editor numbers it ("step 3 (Rotate): limit: ...").
"""
from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field

import albumentations as A
import numpy as np
import pydantic
from torchvision.transforms import v2

from core.augment.catalogue import get_entry
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
class Pipeline:
    steps: list = field(default_factory=list)  # Step | OneOf, in the order they run
    seed: int = 0

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
        raise ConfigError("OneOf: choose at least one transform for the group")
    return OneOf(steps=[new_step(name, p=1.0) for name in names], p=p)


def step_label(step) -> str:
    if isinstance(step, OneOf):
        return "OneOf(" + " | ".join(child.name for child in step.steps) + ")"
    return step.name


def step_where(number: int, step, child: int | None = None) -> str:
    """How errors name a step: 'step 3 (Rotate)' or 'step 4 (OneOf) > 2 (MotionBlur)'."""
    if child is None:
        return f"step {number} ({step.name})"
    return f"step {number} (OneOf) > {child} ({step.steps[child - 1].name})"


def make_transform(step: Step, where: str):
    """The Albumentations transform of one step; ConfigError naming step and parameter if it is invalid."""
    entry = get_entry(step.name)
    p = entry.p.validate(step.p, f"{where}: p")
    args = entry.check_args(step.args, where)
    return library_call(lambda: entry.make(args, p), where)


def library_call(make, where: str):
    """Run a library constructor; its validation errors become one ConfigError under `where`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "ShiftScaleRotate is a special case of Affine"
        try:
            return make()
        except ValueError as error:  # Albumentations wraps its pydantic ValidationError in a ValueError
            raise library_error(error, where) from None


def library_error(error: ValueError, where: str) -> ConfigError:
    """One line per parameter from the library's pydantic report, under the step's name."""
    cause = error.__cause__
    if not isinstance(cause, pydantic.ValidationError):
        return ConfigError(f"{where}: {error}")
    messages: dict[str, str] = {}
    for problem in cause.errors(include_url=False, include_input=False):
        name = str(problem["loc"][0]) if problem["loc"] else ""
        message = problem["msg"].removeprefix("Value error, ")
        messages.setdefault(name, f"{name}: {message}" if name else message)  # a union reports each option
    return ConfigError(f"{where}: " + "; ".join(messages.values()))


def make_group(group: OneOf, number: int):
    p = GROUP_P.validate(group.p, f"step {number} (OneOf): p")
    children = [child for child in group.steps if child.enabled]
    if not children:
        raise ConfigError(f"step {number} (OneOf): the group has no enabled transform")
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
    return A.Compose(build_transforms(pipeline), seed=seed)


def reseed(transform: A.Compose, base_seed: int | None, *salt: int) -> A.Compose:
    """Seed a Compose from `base_seed` mixed with `salt` (an image index, a DataLoader worker id...).

    Copies of one Compose (one per DataLoader worker) would otherwise all draw the same augmentations;
    mixing rather than adding keeps (seed 1, worker 0) and (seed 0, worker 1) apart.
    """
    transform.set_random_seed(int(np.random.SeedSequence([base_seed or 0, *salt]).generate_state(1)[0]))
    return transform


def seed_worker(worker_id: int) -> None:
    """DataLoader `worker_init_fn`: give each worker's copy of the dataset's Compose its own draws.

    Uses the worker's torch seed (different per worker and per epoch, and reproducible when the
    trainer seeds torch); datasets whose `transform` is not an `A.Compose` are left alone.
    """
    import torch.utils.data

    info = torch.utils.data.get_worker_info()
    transform = getattr(info.dataset, "transform", None) if info is not None else None
    if isinstance(transform, A.Compose):
        reseed(transform, transform.seed, info.seed % 2**32, worker_id)


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
    entry = get_entry(step.name)
    if entry.torchvision is None:
        return None
    return entry.torchvision(entry.check_args(step.args, step.name), p)
