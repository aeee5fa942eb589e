"""Training-step throughput and the share of time spent waiting for data.

    python bench/train.py [--config configs/demo.yaml] [--set key=value ...] [--steps 30]
                          [--workers 0,1,2] [--threads 1,2]

Measures, in the same run and on the same device (CUDA when present, else CPU):
  compute  - the training step alone on one batch already on the device (the ceiling), per torch thread
             count on a CPU;
  loader   - the real step fed by the real DataLoader (the trainer's data, its uint8 batches finished on the
             device by the same call), with the time blocked waiting for the next batch (data wait) timed
             separately — on a CPU for every num_workers x torch threads pair, because workers and the
             step share the cores: the loader alone says nothing about how they split them. The best pair
             is recommended, beside what the trainer's rule (compute_threads) picks.
  toolkit  - the compute-only step with gradient accumulation (train.accum_steps) and EMA (train.ema) on
             and off, each against the plain step of the same run.
Prints samples/s of both, their ratio against the best compute-only figure, and the data-wait share; then
the goal line (issue 13: the real loader >= 0.9x compute-only) as met or not met. On a GPU the loader loop synchronises at
each step boundary so that the wait is measured, not hidden in asynchronous kernels (it also costs the
overlap of one step's compute with the next batch's copy, so it slightly undercounts loader samples/s). The device line says which hardware the
figures come from; a GPU figure is printed only when a GPU ran it.
"""
from __future__ import annotations

import argparse
import dataclasses
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from core.config import check_config, load_config  # noqa: E402
from core.train.checkpoints import seed_everything  # noqa: E402
from core.train.distributed import setup_distributed  # noqa: E402
from core.loader.workers import compute_threads  # noqa: E402
from core.machine import available_cores  # noqa: E402
from core.train.inputs import images_to_device  # noqa: E402
from core.train.models import create_model  # noqa: E402
from core.train.run_data import create_loader_for, create_run_data, resolve_data_dir  # noqa: E402
from core.train.trainer import accumulation_window, create_training_parts, train_step  # noqa: E402

LOADER_GOAL = 0.9  # the real loader's samples/s against compute-only


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def int_list(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def compute_rate(parts, images, targets, batch, device, steps: int) -> float:
    """Samples/s of the training step alone on one batch already on the device."""
    for _ in range(3):
        train_step(parts, images, targets, batch)
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        train_step(parts, images, targets, batch)
    sync(device)
    return steps * len(targets) / (time.perf_counter() - start)


def fed_rate(loader, parts, device, channels_last, normalize, steps: int, warmup: int = 3) -> tuple[float, float]:
    """(samples/s, data-wait share) of the real step fed by `loader`, after `warmup` steps (worker start-up)."""
    cuda = device.type == "cuda"
    samples, waited, step = 0, 0.0, 0
    iterator = iter(loader)
    start = time.perf_counter()
    while step < warmup + steps:
        # The GPU runs behind the host: without these syncs the wait would absorb the previous step's
        # kernels (or hide the copy). Data wait = next batch + its copy to the device, nothing else.
        sync(device)
        wait_start = time.perf_counter()
        try:
            batch = next(iterator)
        except StopIteration:  # a new epoch: its start-up is part of training, so it stays in the clock
            iterator = iter(loader)
            continue
        images = images_to_device(batch["image"], device, channels_last, normalize)
        targets = batch["label"].to(device, non_blocking=cuda)
        sync(device)
        if step >= warmup:
            waited += time.perf_counter() - wait_start
        train_step(parts, images, targets, batch)
        step += 1
        if step == warmup:
            sync(device)
            start = time.perf_counter()
        elif step > warmup:
            samples += len(targets)
    sync(device)
    total = time.perf_counter() - start
    return samples / total, waited / total


def toolkit_rate(config, data, steps_per_epoch, device, channels_last, batch, steps: int, accum: int,
                 ema: bool) -> float:
    """Compute-only samples/s of the trainer's step with `accum` batches per optimizer step and EMA on/off."""
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, accum_steps=accum, ema=ema))
    seed_everything(0)
    model = create_model(config.model).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    parts = create_training_parts(config, model, data.train_set.labels, steps_per_epoch, device)
    model.train()
    images = images_to_device(batch["image"], device, channels_last, data.train_normalize)
    targets = batch["label"].to(device)
    steps = max(accum, steps // accum * accum)  # whole accumulation windows
    for step in range(1, 2 * accum + 1):  # warm-up, EMA copy included
        window, last = accumulation_window(step, 2 * accum, accum)
        train_step(parts, images, targets, batch, window=window, last=last)
    sync(device)
    start = time.perf_counter()
    for step in range(1, steps + 1):
        window, last = accumulation_window(step, steps, accum)
        train_step(parts, images, targets, batch, window=window, last=last)
    sync(device)
    return steps * len(targets) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default=str(Path(__file__).resolve().parents[1] / "configs" / "demo.yaml"))
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--accum", type=int, default=4, help="accum_steps of the toolkit rows")
    parser.add_argument("--workers", type=int_list, default=None, help="num_workers to try (CPU; default 0..cores)")
    parser.add_argument("--threads", type=int_list, default=None, help="torch threads to try (CPU; default 1..cores)")
    args = parser.parse_args()
    config = check_config(load_config(args.config, overrides=args.set), warn=print)
    device = setup_distributed(config.train.device).device
    cuda = device.type == "cuda"
    cores = available_cores()
    seed_everything(0)
    # The trainer's own parts: its data, its loader, its model set-up, its step and its device-side finish.
    data = create_run_data(config, resolve_data_dir(config))
    train_loader = create_loader_for(data.train_set, config, train=True)
    channels_last = cuda and config.train.channels_last
    model = create_model(config.model).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    if cuda and config.train.compile:
        model = torch.compile(model)
    parts = create_training_parts(config, model, data.train_set.labels, len(train_loader), device)
    model.train()
    batch = next(iter(train_loader))
    images = images_to_device(batch["image"], device, channels_last, data.train_normalize)
    targets = batch["label"].to(device)

    if cuda:
        pairs, thread_counts = [(w, torch.get_num_threads()) for w in (args.workers or [config.loader.num_workers])], []
    else:
        worker_counts = [w for w in (args.workers or range(cores + 1)) if w <= cores]
        thread_counts = args.threads or list(range(1, cores + 1))
        pairs = [(w, t) for w in worker_counts for t in thread_counts]
    compute = {}
    for threads in thread_counts or [torch.get_num_threads()]:
        if not cuda:
            torch.set_num_threads(threads)
        compute[threads] = compute_rate(parts, images, targets, batch, device, args.steps)
    best_compute = max(compute.values())

    fed = {}
    for workers, threads in pairs:
        if not cuda:
            torch.set_num_threads(threads)
        settings = dataclasses.replace(config, loader=dataclasses.replace(config.loader, num_workers=workers))
        loader = create_loader_for(data.train_set, settings, train=True)
        fed[workers, threads] = fed_rate(loader, parts, device, channels_last, data.train_normalize, args.steps)

    hardware = (f"GPU {torch.cuda.get_device_name(device)}" if cuda
                else f"CPU only ({platform.processor() or platform.machine()}, {cores} cores)")
    print(f"device: {hardware}")
    print(f"model {config.model.name} ({config.model.heads}), images {tuple(config.data.image_size)}, "
          f"batch {config.loader.batch_size}, amp {parts.amp_dtype}, data {data.data_dir}, "
          f"decode {config.loader.decode}/{config.loader.decoder}, cache {config.loader.cache}")
    for threads, rate in compute.items():
        print(f"compute only, {threads} torch thread(s): {rate:8.1f} samples/s")
    print(f"compute only, best            : {best_compute:8.1f} samples/s (baseline)")
    for (workers, threads), (rate, wait) in fed.items():
        print(f"with real loader, workers {workers}, threads {threads}: {rate:8.1f} samples/s  "
              f"ratio {rate / best_compute:.2f}x of compute, data wait {wait:6.1%} of the step time")
    (best_workers, best_threads), (best_rate, _) = max(fed.items(), key=lambda item: item[1][0])
    rule = compute_threads(best_workers)
    print(f"recommended: loader.num_workers={best_workers} with {best_threads} torch thread(s) "
          f"(the trainer's rule gives {rule} thread(s) at {best_workers} workers"
          + (")" if cuda or rule == best_threads or (best_workers, rule) not in fed
             else f": {fed[best_workers, rule][0]:.1f} samples/s)"))
    verdict = "met" if best_rate >= LOADER_GOAL * best_compute else "NOT met"
    print(f"goal real loader >= {LOADER_GOAL}x compute-only samples/s: {verdict} "
          f"({best_rate / best_compute:.2f}x at workers={best_workers}, threads={best_threads})")

    print(f"toolkit (compute only, batch {config.loader.batch_size}; ratios against plain measured here):")
    if not cuda:
        torch.set_num_threads(max(compute, key=compute.get))
    rates = {}
    for accum, ema in ((1, False), (args.accum, False), (1, True), (args.accum, True)):
        rates[accum, ema] = toolkit_rate(config, data, len(train_loader), device, channels_last, batch, args.steps,
                                         accum, ema)
        label = f"accum_steps {accum}, ema {'on ' if ema else 'off'}"
        print(f"  {label:<24}: {rates[accum, ema]:8.1f} samples/s  {rates[accum, ema] / rates[1, False]:.2f}x")


if __name__ == "__main__":
    main()
