"""Throughput sweep: images/s of the starter baseline, the default loader and the cached loader.

Every loader is timed the same way in the same run, and each row reports two numbers: `images_per_s`,
steady feeding after one warm-up batch for at least TIMED_BATCHES batches (or `max_images` images, the
larger; the dataset is walked again if it is shorter), each batch on the device and normalised (worker
start-up left out, so rows compare feeding), and `first_batch_s`, the wait from creating the iterator
(worker start-up included) to the first batch. `ratio_to_baseline` compares images_per_s with the
baseline's at the same num_workers and batch_size.

Fair by construction: "default" is exactly what `core train` runs (LoaderConfig's defaults at that grid
point, the pipeline split by split_for_device, the batch finished by finish_images on the device, torch
threads by compute_threads); the starter runs its own code, with one torch thread at num_workers=0 (as
the loader's workers each have); the cache's build time is reported beside its rows (its first epoch
pays it, later epochs do not). The decoders (Pillow and OpenCV, full and reduced) are timed on one core
on the same files, with whether their pixels agree. One model step per batch size says whether feeding
or the model limits training; pin_memory / non_blocking and persistent_workers are measured as variants
of the fastest setting rather than assumed to help.
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
from core.loader.fast_pipeline import IMAGENET_MEAN, IMAGENET_STD, prepare_batch, resize_target, split_for_device
from core.loader.readers import reader_for
from core.loader.settings import RECOMMENDED_KEYS
from core.loader.workers import compute_threads
from core.machine import available_cores
from core.progress import report

DEFAULT_SIZE = (256, 192)
LOADERS = ("baseline", "default", "cached")
TIMED_BATCHES = 20  # per row, after the warm-up batch: fewer make a row's figure mostly noise


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


class Repeated(torch.utils.data.Dataset):
    """A dataset walked `times` over as one (so a row can time enough batches on a small folder)."""

    def __init__(self, dataset, times: int):
        self.dataset, self.times = dataset, max(1, int(times))

    def __len__(self) -> int:
        return len(self.dataset) * self.times

    def __getitem__(self, index):
        return self.dataset[index % len(self.dataset)]

    @property
    def labels(self):
        import numpy as np

        return np.tile(np.asarray(self.dataset.labels), self.times)

    @property
    def transform(self):  # seed_worker reseeds the pipeline of the dataset it is given
        return getattr(self.dataset, "transform", None)


class Sweep:
    """The datasets and loaders of one benchmark run over one data directory and pipeline."""

    def __init__(self, data_dir, pipeline=None, device=None, max_images: int = 512, seed: int = 0,
                 base: LoaderConfig | None = None):
        self.pipeline = pipeline if pipeline is not None else default_pipeline()
        self.size = resize_target(self.pipeline)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.max_images, self.seed = max_images, seed
        self.base = base or LoaderConfig()  # what `core train` runs, but for the grid's workers and batch size
        self.per_image, self.normalize = split_for_device(self.pipeline)
        self.mean, self.std = normalize_of(self.pipeline)
        self.plain = create_dataset(data_dir, "all", transform=self.per_image)  # default reader swapped below
        self.data_dir = data_dir
        self.paths = [str(self.plain.data_dir / p) for p in self.plain.images["path"]]
        self.cache_build_s: float | None = None
        self.cache_reused = False  # an earlier run's cache: its build time is not this run's
        self._datasets: dict = {}
        # decode=gpu is a row of its own where it can run: a CUDA device and a pipeline the device can do.
        self.gpu = None
        if torch.device(self.device).type == "cuda":
            from core.loader.gpu_decode import GpuDecoder, plan_for

            plan = plan_for(self.pipeline)[0]
            self.gpu = GpuDecoder(plan) if plan is not None else None

    def dataset(self, loader: str, progress=None):
        if loader not in self._datasets:
            if loader == "baseline":
                self._datasets[loader] = StarterDataset(self.paths, self.plain.labels, self.size or DEFAULT_SIZE,
                                                        self.mean, self.std)
            elif loader == "gpu":
                from core.loader.gpu_decode import EncodedReader

                self._datasets[loader] = create_dataset(self.data_dir, "all", transform=None, reader=EncodedReader(),
                                                        scan=_ScanOf(self.plain))
            else:
                config = replace(self.base, cache="memmap" if loader == "cached" else "none")
                if loader == "cached":
                    from core.loader.cache import _is_complete, cache_dir_for

                    self.cache_reused = _is_complete(cache_dir_for(self.paths, self.size), len(self.paths))
                start = time.perf_counter()
                reader = reader_for(config, self.data_dir, self.size, paths=self.paths, progress=progress)
                if loader == "cached":
                    self.cache_build_s = time.perf_counter() - start
                self._datasets[loader] = create_dataset(self.data_dir, "all", transform=self.per_image,
                                                        reader=reader, scan=_ScanOf(self.plain))
        return self._datasets[loader]

    def images_per_row(self, batch_size: int) -> int:
        return max(self.max_images, TIMED_BATCHES * batch_size)

    def loader(self, loader: str, config: LoaderConfig):
        dataset = self.dataset(loader)
        needed = self.images_per_row(config.batch_size) + config.batch_size  # the warm-up batch too
        dataset = Repeated(dataset, -(-needed // len(dataset)))
        if loader == "baseline":  # exactly the starter code: DataLoader's own defaults
            return DataLoader(dataset, batch_size=config.batch_size, shuffle=True, num_workers=config.num_workers)
        return create_loader(dataset, replace(self.base, cache=config.cache, batch_size=config.batch_size,
                                              decode="gpu" if loader == "gpu" else self.base.decode,
                                              num_workers=config.num_workers, pin_memory=config.pin_memory,
                                              persistent_workers=config.persistent_workers), seed=self.seed)

    def threads(self, loader: str, num_workers: int) -> int:
        """torch threads of this process for a row: the starter's one at 0 workers, else the trainer's rule."""
        if loader == "baseline" and num_workers == 0:
            return 1
        return compute_threads(num_workers)

    def measure(self, loader: str, config: LoaderConfig, non_blocking: bool = False, passes: int = 1,
                warmup_batches: int = 1, repeats: int = 1) -> Timing:
        """Best of `repeats` timings: other processes on the machine only ever make a run slower."""
        normalize = {"baseline": None, "gpu": self.gpu}.get(loader, self.normalize)
        before = torch.get_num_threads()
        torch.set_num_threads(self.threads(loader, config.num_workers))
        try:
            timings = [time_loader(self.loader(loader, config), self.device, normalize,
                                   self.images_per_row(config.batch_size), non_blocking=non_blocking, passes=passes,
                                   warmup_batches=warmup_batches) for _ in range(repeats)]
        finally:
            torch.set_num_threads(before)
        return Timing(max(t.images_per_s for t in timings), min(t.first_batch_s for t in timings))


class _ScanOf:
    """Reuse one scan's rows for the other datasets (scanning once keeps the sweep about loading)."""

    def __init__(self, dataset):
        self.data_dir, self.images = dataset.data_dir, dataset.images


DECODE_MODES = (("pil", "full"), ("pil", "draft"), ("cv2", "full"), ("cv2", "draft"))


def measure_decoders(paths, size, images: int = 64, rounds: int = 3, clock=time.perf_counter) -> dict:
    """Each decoder x full/draft on one core over the same files (best of `rounds`): images/s, and whether
    Pillow and OpenCV agree.

    `size` (height, width) is the pipeline's input size (None: no draft decode). Agreement is the largest mean
    absolute difference between the two libraries' arrays at the same scale, over the files (0 = the same
    pixels). Returns {"rows": [...], "chosen": decoder, "best_images_per_s": one core's best rate}.
    """
    import numpy as np

    from core.loader.draft import decode_file

    paths = list(paths)[:max(1, images)]
    draft = None if size is None else (size[1], size[0])
    modes = [(decoder, mode) for decoder, mode in DECODE_MODES if mode == "full" or draft is not None]
    outputs, best = {}, {}
    before = torch.get_num_threads()
    try:
        import cv2

        cv2_threads = cv2.getNumThreads()
        cv2.setNumThreads(1)
    except Exception:  # noqa: BLE001 (the count only matters for fairness)
        cv2_threads = None
    try:
        for key in modes:  # first-call costs (library set-up) left out
            decode_file(paths[0], draft if key[1] == "draft" else None, key[0])
        # Rounds interleave the decoders, and each keeps its best round: a burst of other load on the
        # machine then slows one round of every decoder, not all rounds of one.
        for _ in range(rounds):
            for decoder, mode in modes:
                target = draft if mode == "draft" else None
                start = clock()
                arrays = [decode_file(path, target, decoder) for path in paths]
                rate = len(paths) / max(clock() - start, 1e-9)
                outputs[decoder, mode] = arrays
                best[decoder, mode] = max(best.get((decoder, mode), 0.0), rate)
    finally:
        torch.set_num_threads(before)
        if cv2_threads is not None:
            cv2.setNumThreads(cv2_threads)
    rows = [{"decoder": decoder, "mode": mode, "images_per_s": round(best[decoder, mode], 1)} for decoder, mode in modes]
    for row in rows:
        other = outputs[("pil" if row["decoder"] == "cv2" else "cv2", row["mode"])]
        mine = outputs[row["decoder"], row["mode"]]
        row["max_mean_abs_diff"] = round(max(float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())
                                             if a.shape == b.shape else 255.0 for a, b in zip(mine, other)), 3)
    mode = "full" if draft is None else "draft"
    candidates = [r for r in rows if r["mode"] == mode]
    agree = all(r["max_mean_abs_diff"] <= DECODERS_AGREE for r in candidates)
    chosen = max(candidates, key=lambda r: r["images_per_s"])["decoder"] if agree else "pil"
    return {"rows": rows, "mode": mode, "agree": agree, "chosen": chosen,
            "best_images_per_s": max(r["images_per_s"] for r in rows)}


DECODERS_AGREE = 0.5  # mean absolute difference in 0..255 levels: below JPEG's own rounding noise


def run_sweep(data_dir, pipeline=None, workers=(0, 1, 2), batch_sizes=(16, 64), max_images: int = 512,
              model: str = "resnet18", device=None, progress=None, cache_progress=None, repeats: int = 2,
              base: LoaderConfig | None = None) -> dict:
    """The full benchmark as one JSON-ready dict (rows, variants, decoders, cache build, model steps, verdict,
    recommendation). `base` is the loader config whose other settings the rows keep (default: LoaderConfig())."""
    sweep = Sweep(data_dir, pipeline, device=device, max_images=max_images, base=base)
    notes, note_keys = [], []

    def note(name: str, **values):  # English for the CLI and the JSON; the key for the page's language
        from core.i18n import DEFAULT_LANGUAGE, text

        notes.append(text(DEFAULT_LANGUAGE, f"loader.bench_notes.{name}", **values))
        note_keys.append([f"loader.bench_notes.{name}", values])

    loaders = LOADERS
    decoders = measure_decoders(sweep.paths, sweep.size)
    if decoders["chosen"] != sweep.base.decoder:
        sweep.base = replace(sweep.base, decoder=decoders["chosen"])
        note("decoder", decoder=decoders["chosen"])
    if sweep.size is None:
        loaders = ("baseline", "default")
        note("no_resize")
    else:
        sweep.dataset("cached", progress=cache_progress)  # build the cache before any clock runs
    if sweep.gpu is not None:
        loaders = (*loaders, "gpu")
    if sweep.device == "cpu":
        note("no_cuda")
    grid = [(w, b) for w in workers for b in batch_sizes]
    total, done = len(grid) * len(loaders) + 2, 0
    rows = []
    for num_workers, batch_size in grid:
        config = LoaderConfig(batch_size=batch_size, num_workers=num_workers, pin_memory=False)
        baseline = None
        for loader in loaders:
            images_per_s, first_batch_s = sweep.measure(loader, replace(config, cache="memmap" if loader == "cached"
                                                                        else "none"), repeats=repeats)
            baseline = baseline or images_per_s
            rows.append({"loader": loader, "num_workers": num_workers, "batch_size": batch_size,
                         "images_per_s": round(images_per_s, 1), "ratio_to_baseline": round(images_per_s / baseline, 2),
                         "first_batch_s": round(first_batch_s, 3), "torch_threads": sweep.threads(loader, num_workers),
                         "timed_images": sweep.images_per_row(batch_size)})
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
    cache = None
    if sweep.cache_build_s is not None:
        cached = [r["images_per_s"] for r in rows if r["loader"] == "cached"]
        count = len(sweep.paths)
        later = max(cached) if cached else None
        cache = {"images": count, "build_s": round(sweep.cache_build_s, 2), "reused": sweep.cache_reused,
                 "first_epoch_images_per_s": round(count / (sweep.cache_build_s + count / later), 1) if later else None,
                 "later_epochs_images_per_s": later}
    return {"device": sweep.device, "cpu_cores": available_cores(), "torch_threads": torch.get_num_threads(),
            "images": len(sweep.plain), "max_images_per_row": max_images,
            "image_size": list(sweep.size or DEFAULT_SIZE), "rows": rows, "variants": variants,
            "decoders": decoders, "cache": cache, "model_steps": model_steps,
            "notes": notes, "note_keys": note_keys,
            **verdict(rows, variants, model_steps, decoder=decoders["chosen"])}


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


def verdict(rows: list[dict], variants: list[dict], model_steps: list[dict], decoder: str | None = None) -> dict:
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
    if decoder is not None:
        measured["decoder"] = decoder
    pins = {(v["pin_memory"], v["non_blocking"]): v["images_per_s"] for v in variants if v["epochs"] == 1}
    if pins:
        measured["pin_memory"] = max(pins, key=pins.get)[0]
    persistent = {v["persistent_workers"]: v["images_per_s"] for v in variants if v["epochs"] == 2}
    if len(persistent) == 2 and measured["num_workers"] > 0:
        measured["persistent_workers"] = persistent[True] > persistent[False]
    return {"bottleneck": bottleneck, "feed_images_per_s": feed, "model_images_per_s": model_speed,
            "recommended": {key: measured[key] for key in RECOMMENDED_KEYS if key in measured}}
