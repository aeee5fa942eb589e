"""Throughput sweep: images/s of the starter baseline, the default loader and the cached loader.

Every loader is timed the same way in the same run, and each row reports two numbers: `images_per_s`,
steady feeding from the end of the first batch until `max_images` images are on the device and
normalised (worker start-up left out, so rows compare feeding), and `first_batch_s`, the wait from
creating the iterator (worker start-up included) to the first batch. `ratio_to_baseline` compares
images_per_s with the baseline's at the same num_workers and batch_size. One model step per batch size says
whether feeding or the model limits training; pin_memory / non_blocking and persistent_workers are
measured as variants of the fastest setting rather than assumed to help.
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import NamedTuple

import albumentations as A
import torch
from torch.utils.data import DataLoader

from core.data import create_dataset
from core.loader.baseline import StarterDataset
from core.loader.config import LoaderConfig
from core.loader.factory import create_loader
from core.loader.fast_pipeline import (IMAGENET_MEAN, IMAGENET_STD, normalize_placement, prepare_batch, resize_target,
                                       split_normalize)
from core.loader.readers import reader_for
from core.loader.settings import RECOMMENDED_KEYS
from core.machine import available_cores
from core.progress import report

DEFAULT_SIZE = (256, 192)
LOADERS = ("baseline", "default", "cached")


def default_pipeline(size=DEFAULT_SIZE) -> A.Compose:
    """The issue's benchmark pipeline: Resize(256, 192) + horizontal flip + Normalize."""
    return A.Compose([A.Resize(*size), A.HorizontalFlip(p=0.5), A.Normalize(IMAGENET_MEAN, IMAGENET_STD)], seed=0)


def normalize_of(pipeline) -> tuple[tuple, tuple]:
    for transform in getattr(pipeline, "transforms", []):
        if isinstance(transform, A.Normalize) and transform.normalization == "standard":
            return tuple(transform.mean), tuple(transform.std)
    return IMAGENET_MEAN, IMAGENET_STD


class Timing(NamedTuple):
    images_per_s: float  # after the warm-up batches
    first_batch_s: float  # iterator created (workers started) until the first batch is on the device


def time_loader(loader, device, normalize=None, max_images: int | None = None, non_blocking: bool = False,
                passes: int = 1, warmup_batches: int = 1, clock=time.perf_counter) -> Timing:
    """Images per second on `device`, normalised, over `passes` passes of up to `max_images` each.

    The clock starts after `warmup_batches` batches (worker start-up and first-touch costs left out, so
    rows compare steady feeding); warmup_batches=0 times everything, start-up included. The start-up
    itself is returned beside it as first_batch_s. `clock` (seconds, monotonic) is time.perf_counter except
    in tests, which step it by hand so the arithmetic is checked without depending on the machine's speed.
    """
    cuda = torch.device(device).type == "cuda"
    timed = total = batches = 0
    first = start = clock()
    first_batch_s = None
    for _ in range(passes):
        in_pass = 0
        for batch in loader:
            if isinstance(batch, (list, tuple)):  # the starter code's (images, labels)
                batch = {"image": batch[0], "label": batch[1]}
            count = len(prepare_batch(batch, device, normalize, non_blocking=non_blocking)["image"])
            in_pass, total, batches = in_pass + count, total + count, batches + 1
            if first_batch_s is None:
                if cuda:
                    torch.cuda.synchronize()
                first_batch_s = clock() - first
            if batches > warmup_batches:
                timed += count
            elif batches == warmup_batches:
                if cuda:
                    torch.cuda.synchronize()
                start = clock()
            if max_images and in_pass >= max_images and timed:
                break
    if cuda:
        torch.cuda.synchronize()
    if not timed:  # a single batch in all: nothing left after the warm-up, so time it whole
        return Timing(total / (clock() - first), first_batch_s or 0.0)
    return Timing(timed / (clock() - start), first_batch_s)


def time_model_step(batch_size: int, image_size, device, model_name: str = "resnet18", repeats: int = 2) -> float:
    """Images/s of one training step (forward, backward, SGD update) of a randomly initialised model."""
    import torchvision

    model = (torchvision.models.resnet18(weights=None, num_classes=18) if model_name == "resnet18"
             else _small_cnn()).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    images = torch.randn(batch_size, 3, *image_size, device=device)
    labels = torch.randint(0, 18, (batch_size,), device=device)
    timings = []
    for step in range(repeats + 1):  # the first step pays one-off costs (allocations, cuDNN choice)
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(images), labels).backward()
        optimizer.step()
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize()
        if step:
            timings.append(time.perf_counter() - start)
    return batch_size / min(timings)


def _small_cnn() -> torch.nn.Module:
    layers, channels = [], 3
    for width in (16, 32, 64):
        layers += [torch.nn.Conv2d(channels, width, 3, stride=2, padding=1), torch.nn.ReLU()]
        channels = width
    return torch.nn.Sequential(*layers, torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(64, 18))


class Sweep:
    """The datasets and loaders of one benchmark run over one data directory and pipeline."""

    def __init__(self, data_dir, pipeline=None, device=None, max_images: int = 512, seed: int = 0):
        self.pipeline = pipeline if pipeline is not None else default_pipeline()
        self.size = resize_target(self.pipeline)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.max_images, self.seed = max_images, seed
        self.per_image, self.normalize = split_normalize(self.pipeline)
        self.mean, self.std = normalize_of(self.pipeline)
        self.in_loader, self.on_device = normalize_placement(self.normalize, self.device)
        self.plain = create_dataset(data_dir, "all", transform=self.per_image)  # default reader swapped below
        self.data_dir = data_dir
        self._datasets: dict = {}

    def dataset(self, loader: str, progress=None):
        if loader not in self._datasets:
            paths = [str(self.plain.data_dir / p) for p in self.plain.images["path"]]
            if loader == "baseline":
                self._datasets[loader] = StarterDataset(paths, self.plain.labels, self.size or DEFAULT_SIZE,
                                                        self.mean, self.std)
            else:
                config = LoaderConfig(cache="memmap" if loader == "cached" else "none")
                reader = reader_for(config, self.data_dir, self.size, paths=paths, progress=progress)
                self._datasets[loader] = create_dataset(self.data_dir, "all", transform=self.per_image,
                                                        reader=reader, scan=_ScanOf(self.plain))
        return self._datasets[loader]

    def loader(self, loader: str, config: LoaderConfig):
        dataset = self.dataset(loader)
        if loader == "baseline":  # exactly the starter code: DataLoader's own defaults
            return DataLoader(dataset, batch_size=config.batch_size, shuffle=True, num_workers=config.num_workers)
        return create_loader(dataset, config, seed=self.seed, normalize=self.in_loader)

    def measure(self, loader: str, config: LoaderConfig, non_blocking: bool = False, passes: int = 1,
                warmup_batches: int = 1, repeats: int = 1) -> Timing:
        """Best of `repeats` timings: other processes on the machine only ever make a run slower."""
        normalize = None if loader == "baseline" else self.on_device
        timings = [time_loader(self.loader(loader, config), self.device, normalize, self.max_images,
                               non_blocking=non_blocking, passes=passes, warmup_batches=warmup_batches)
                   for _ in range(repeats)]
        return Timing(max(t.images_per_s for t in timings), min(t.first_batch_s for t in timings))


class _ScanOf:
    """Reuse one scan's rows for the other datasets (scanning once keeps the sweep about loading)."""

    def __init__(self, dataset):
        self.data_dir, self.images = dataset.data_dir, dataset.images


def run_sweep(data_dir, pipeline=None, workers=(0, 1, 2), batch_sizes=(16, 64), max_images: int = 512,
              model: str = "resnet18", device=None, progress=None, cache_progress=None, repeats: int = 2) -> dict:
    """The full benchmark as one JSON-ready dict (rows, variants, model steps, verdict, recommendation)."""
    sweep = Sweep(data_dir, pipeline, device=device, max_images=max_images)
    notes = []
    loaders = LOADERS
    if sweep.size is None:
        loaders = ("baseline", "default")
        notes.append("the pipeline does not start with Resize: no reduced-size decoding and no cache "
                     "(both need the input size); the default loader decodes in full")
    else:
        sweep.dataset("cached", progress=cache_progress)  # build the cache before any clock runs
    if sweep.device == "cpu":
        notes.append("no CUDA device: pin_memory and non_blocking copies were not measured (they only "
                     "matter for copies to a GPU); batches are normalised in the workers' collate")
    grid = [(w, b) for w in workers for b in batch_sizes]
    total, done = len(grid) * len(loaders) + 2, 0
    rows = []
    for num_workers, batch_size in grid:
        config = LoaderConfig(batch_size=batch_size, num_workers=num_workers, pin_memory=False)
        baseline = None
        for loader in loaders:
            images_per_s, first_batch_s = sweep.measure(loader, config, repeats=repeats)
            baseline = baseline or images_per_s
            rows.append({"loader": loader, "num_workers": num_workers, "batch_size": batch_size,
                         "images_per_s": round(images_per_s, 1), "ratio_to_baseline": round(images_per_s / baseline, 2),
                         "first_batch_s": round(first_batch_s, 3)})
            done += 1
            report(progress, done, total)
    variants = measure_variants(sweep, rows, repeats)
    done += 1
    report(progress, done, total)
    # A CPU step of resnet18 takes seconds: one batch size and one timed step say enough there.
    on_cpu = sweep.device == "cpu"
    model_steps = [{"model": model, "batch_size": b, "images_per_s": round(time_model_step(
        b, sweep.size or DEFAULT_SIZE, sweep.device, model, repeats=1 if on_cpu else 3), 1)}
        for b in ([min(batch_sizes)] if on_cpu else sorted(batch_sizes))] if model else []
    report(progress, total, total)
    return {"device": sweep.device, "cpu_cores": available_cores(), "torch_threads": torch.get_num_threads(),
            "images": len(sweep.plain), "max_images_per_row": max_images,
            "image_size": list(sweep.size or DEFAULT_SIZE), "rows": rows, "variants": variants,
            "model_steps": model_steps, "notes": notes, **verdict(rows, variants, model_steps)}


def measure_variants(sweep: Sweep, rows: list[dict], repeats: int = 1) -> list[dict]:
    """pin_memory x non_blocking (only with CUDA) and persistent_workers over 2 passes, at the best row."""
    best = max((r for r in rows if r["loader"] != "baseline"), key=lambda r: r["images_per_s"])
    base = LoaderConfig(batch_size=best["batch_size"], num_workers=best["num_workers"], pin_memory=False)
    variants = []
    if sweep.device != "cpu":
        for pin in (False, True):
            for non_blocking in (False, True):
                speed = sweep.measure(best["loader"], replace(base, pin_memory=pin), non_blocking=non_blocking,
                                     repeats=repeats).images_per_s
                variants.append({"loader": best["loader"], "num_workers": base.num_workers, "batch_size": base.batch_size,
                                 "pin_memory": pin, "non_blocking": non_blocking, "persistent_workers": False,
                                 "epochs": 1, "images_per_s": round(speed, 1)})
    workers = base.num_workers or max(r["num_workers"] for r in rows)
    if workers:
        for persistent in (False, True):
            config = replace(base, num_workers=workers, persistent_workers=persistent)
            speed = sweep.measure(best["loader"], config, passes=2, warmup_batches=0, repeats=repeats).images_per_s
            variants.append({"loader": best["loader"], "num_workers": workers, "batch_size": base.batch_size,
                             "pin_memory": False, "non_blocking": False, "persistent_workers": persistent,
                             "epochs": 2, "images_per_s": round(speed, 1)})
    return variants


def verdict(rows: list[dict], variants: list[dict], model_steps: list[dict]) -> dict:
    """Which stage is the bottleneck, and the loader settings to use on this machine: only those measured."""
    best = max((r for r in rows if r["loader"] != "baseline"), key=lambda r: r["images_per_s"])
    feed = best["images_per_s"]
    model_speed = max(step["images_per_s"] for step in model_steps) if model_steps else None
    if model_speed is None:
        bottleneck = "unknown"
    else:
        bottleneck = "model" if model_speed < feed else "loader"
    measured = {"batch_size": best["batch_size"], "num_workers": best["num_workers"],
                "cache": "memmap" if best["loader"] == "cached" else "none"}
    pins = {(v["pin_memory"], v["non_blocking"]): v["images_per_s"] for v in variants if v["epochs"] == 1}
    if pins:
        measured["pin_memory"] = max(pins, key=pins.get)[0]
    persistent = {v["persistent_workers"]: v["images_per_s"] for v in variants if v["epochs"] == 2}
    if len(persistent) == 2 and measured["num_workers"] > 0:
        measured["persistent_workers"] = persistent[True] > persistent[False]
    return {"bottleneck": bottleneck, "feed_images_per_s": feed, "model_images_per_s": model_speed,
            "recommended": {key: measured[key] for key in RECOMMENDED_KEYS if key in measured}}
