"""What a pipeline costs: per step, as a whole, against torchvision, and in two orders.

Per-step timings apply every step (p=1) so each number is the cost of the step when it fires, on
the image size it really receives (after the steps before it). The whole-pipeline figure runs the
pipeline as configured, probabilities included: that is the throughput the trainer will see.
Everything is timed on one thread, as in a DataLoader worker (PyTorch sets 1 thread there): on a
small machine, OpenMP threads spinning between tiny torch calls otherwise add ~8 ms to a 0.01 ms flip.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, replace

import cv2
import numpy as np
import torch

from core.augment.catalogue import get_entry
from core.augment.pipeline import (OneOf, Pipeline, Step, always_applied, build_pipeline, make_group, make_transform,
                                   step_label, step_where, torchvision_step)
from core.errors import ConfigError
from core.i18n import t


@contextmanager
def single_threaded():
    """torch and OpenCV on one thread for the duration (restored afterwards)."""
    torch_threads, cv2_threads = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        torch.set_num_threads(torch_threads)
        cv2.setNumThreads(cv2_threads)


@dataclass(frozen=True)
class StepTiming:
    name: str
    ms_per_image: float  # median over images x repeats, step always applied
    p: float             # how often it fires in the configured pipeline
    output_size: str     # "WxH" of its output on the first image


def _applied(pipeline: Pipeline) -> list[tuple[object, object]]:
    """(step, its transform built with p=1) for each enabled step."""
    built = []
    for number, step in enumerate(pipeline.steps, start=1):
        if not step.enabled:
            continue
        if isinstance(step, OneOf):
            built.append((step, make_group(always_applied(step), number)))
        else:
            built.append((step, make_transform(always_applied(step), step_where(number, step))))
    return built


def _run(transform, image):
    return transform(image=image)["image"]


def _run_step(step, transform, image):
    """Apply one step; a failure (a crop larger than the image...) becomes a ConfigError naming it."""
    try:
        return _run(transform, image)
    except Exception as error:
        raise ConfigError.of("errors_augment.step_fails", step=step_label(step), size=size_of(image),
                             error=str(error).splitlines()[0]) from None


def _run_pipeline(compose, image):
    try:
        return _run(compose, image)
    except Exception as error:
        raise ConfigError.of("errors_augment.pipeline_fails", size=size_of(image), error=str(error).splitlines()[0]) from None


def time_steps(pipeline: Pipeline, images: list[np.ndarray], repeats: int = 3) -> list[StepTiming]:
    """Median ms/image of each enabled step, applied to what the steps before it produced."""
    built = _applied(pipeline)
    samples: list[list[float]] = [[] for _ in built]
    sizes: list[str] = ["" for _ in built]
    with single_threaded():
        _time_each_step(built, images, repeats, samples, sizes)
    return [StepTiming(name=step_label(step), ms_per_image=float(np.median(times)) if times else 0.0, p=step.p,
                       output_size=size)
            for (step, _), times, size in zip(built, samples, sizes)]


def _time_each_step(built, images, repeats: int, samples: list[list[float]], sizes: list[str]) -> None:
    for _ in range(repeats):
        for image_index, image in enumerate(images):
            for index, (step, transform) in enumerate(built):
                start = time.perf_counter()
                image = _run_step(step, transform, image)
                samples[index].append((time.perf_counter() - start) * 1000)
                if image_index == 0:
                    sizes[index] = size_of(image)


def size_of(image) -> str:
    height, width = image.shape[-2:] if isinstance(image, torch.Tensor) else image.shape[:2]
    return f"{width}x{height}"


@dataclass(frozen=True)
class PipelineTiming:
    ms_per_image: float
    images_per_s: float
    images: int


def time_pipeline(pipeline: Pipeline, images: list[np.ndarray], repeats: int = 3) -> PipelineTiming:
    """Throughput of the whole pipeline as configured (its probabilities and seed included)."""
    compose = build_pipeline(pipeline)
    count = 0
    with single_threaded():
        _run_pipeline(compose, images[0])  # warm-up, and a clear error if the pipeline cannot run
        start = time.perf_counter()
        for _ in range(repeats):
            for image in images:
                _run(compose, image)
                count += 1
        elapsed = time.perf_counter() - start
    return PipelineTiming(ms_per_image=elapsed * 1000 / max(count, 1), images_per_s=count / elapsed if elapsed else 0.0,
                          images=count)


def median_ms(function, inputs: list, repeats: int = 3) -> float:
    """Median milliseconds of `function(x)` over inputs x repeats (after one warm-up call), on one thread."""
    times = []
    with single_threaded():
        function(inputs[0])
        for _ in range(repeats):
            for item in inputs:
                start = time.perf_counter()
                function(item)
                times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times))


def to_tensors(images: list[np.ndarray]) -> list[torch.Tensor]:
    """uint8 CHW tensors: the torchvision v2 input (converted outside the timed region)."""
    return [torch.from_numpy(np.array(image)).permute(2, 0, 1).contiguous() for image in images]


def compare_step(step: Step, images: list[np.ndarray], repeats: int = 3) -> dict | None:
    """Albumentations vs torchvision on the same inputs for one step (both always applied), or None."""
    tv_transform = torchvision_step(step, 1.0)
    if tv_transform is None:
        return None
    alb_transform = make_transform(replace(step, p=1.0), step.name)
    alb_ms = median_ms(lambda image: _run_step(step, alb_transform, image), images, repeats)
    note = get_entry(step.name).spec.torchvision_note
    try:
        tv_ms = median_ms(tv_transform, to_tensors(images), repeats)
    except Exception as error:  # e.g. v2.JPEG on the float images a Normalize before it produced
        tv_ms, note = float("nan"), t("augmentation.torchvision_fails", error=str(error).splitlines()[0])
    return {"step": step.name, "albumentations_ms": alb_ms, "torchvision_ms": tv_ms,
            "alb_over_tv": alb_ms / tv_ms if tv_ms else float("nan"), "torchvision": note}


def compare_backends(pipeline: Pipeline, images: list[np.ndarray], repeats: int = 3) -> list[dict]:
    """One row per enabled step with a torchvision equivalent, each timed on the images it receives."""
    rows = []
    for step, transform in _applied(pipeline):
        singles = [c for c in step.steps if c.enabled] if isinstance(step, OneOf) else [step]
        for single in (s for s in singles if isinstance(s, Step)):  # steps outside the catalogue have no twin
            row = compare_step(single, images, repeats)
            if row is not None:
                rows.append(row)
        images = [_run_step(step, transform, image) for image in images]
        if images and isinstance(images[0], torch.Tensor):
            break  # after ToTensorV2 there is nothing left to compare
    return rows


@dataclass(frozen=True)
class OrderResult:
    """Two orders of the same two steps: [{order, ms_per_image, output_size, error}, ...]."""

    orders: list[dict]

    @property
    def working(self) -> list[dict]:
        return [order for order in self.orders if order["error"] is None]

    @property
    def same_size(self) -> bool:
        return len({order["output_size"] for order in self.working}) == 1

    def verdict(self) -> str:
        broken = [t("augmentation.order_fails", order=order["order"], error=order["error"])
                  for order in self.orders if order["error"]]
        if len(self.working) < 2:
            return "; ".join(broken) + "."
        fast, slow = sorted(self.working, key=lambda order: order["ms_per_image"])
        factor = slow["ms_per_image"] / max(fast["ms_per_image"], 1e-9)
        sizes = (t("augmentation.both_give", size=fast["output_size"]) if self.same_size else
                 t("augmentation.sizes_differ", sizes=", ".join(t("augmentation.order_gives", order=o["order"],
                                                                  size=o["output_size"]) for o in self.orders)))
        return t("augmentation.verdict", fast=fast["order"], factor=factor, slow=slow["order"], sizes=sizes)


def order_experiment(first: Step, second: Step, images: list[np.ndarray], repeats: int = 3) -> OrderResult:
    """Time first→second against second→first (both always applied) and compare output sizes."""
    orders = []
    for a, b in ((first, second), (second, first)):
        order = {"order": f"{a.name} → {b.name}", "ms_per_image": None, "output_size": None, "error": None}
        compose = build_pipeline(Pipeline(steps=[replace(a, p=1.0, enabled=True), replace(b, p=1.0, enabled=True)]))
        try:
            order["output_size"] = size_of(_run(compose, images[0]))
            order["ms_per_image"] = median_ms(lambda image: _run(compose, image), images, repeats)
        except Exception as error:  # e.g. a crop larger than what the resize before it left
            order["error"] = str(error).splitlines()[0]
        orders.append(order)
    return OrderResult(orders=orders)
