"""Training-step throughput and the share of time spent waiting for data.

    python bench/train.py [--config configs/demo.yaml] [--set key=value ...] [--steps 30]

Measures, in the same run and on the same device (CUDA when present, else CPU):
  compute  - the training step alone on one batch already on the device (the ceiling);
  loader   - the real step fed by the configured DataLoader, with the time blocked waiting for the next
             batch (data wait) timed separately.
  toolkit  - the compute-only step with gradient accumulation (train.accum_steps) and EMA (train.ema) on
             and off, each against the plain step of the same run.
Prints samples/s of both, their ratio, and the data-wait share. On a GPU the loader loop synchronises at
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
from core.train.inputs import images_to_device  # noqa: E402
from core.train.models import create_model  # noqa: E402
from core.train.run_data import create_loader_for, create_run_data, resolve_data_dir  # noqa: E402
from core.train.trainer import accumulation_window, cpu_threads, create_training_parts, train_step  # noqa: E402


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


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
    images = images_to_device(batch["image"], device, channels_last)
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
    args = parser.parse_args()
    config = check_config(load_config(args.config, overrides=args.set), warn=print)
    device = setup_distributed(config.train.device).device
    cuda = device.type == "cuda"
    seed_everything(0)
    if not cuda:
        torch.set_num_threads(cpu_threads(config.loader.num_workers, 1))
    # The trainer's own parts: its data, its loader, its model set-up and its step.
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
    images = images_to_device(batch["image"], device, channels_last)
    targets = batch["label"].to(device)
    for _ in range(3):
        train_step(parts, images, targets, batch)
    sync(device)
    start = time.perf_counter()
    for _ in range(args.steps):
        train_step(parts, images, targets, batch)
    sync(device)
    compute_rate = args.steps * len(targets) / (time.perf_counter() - start)

    samples, waited, steps = 0, 0.0, 0
    iterator = iter(train_loader)
    start = time.perf_counter()
    while steps < args.steps:
        # The GPU runs behind the host: without these syncs the wait would absorb the previous step's
        # kernels (or hide the copy). Data wait = next batch + its copy to the device, nothing else.
        sync(device)
        wait_start = time.perf_counter()
        try:
            batch = next(iterator)
        except StopIteration:
            iterator = iter(train_loader)
            continue
        images = images_to_device(batch["image"], device, channels_last)
        targets = batch["label"].to(device, non_blocking=cuda)
        sync(device)
        waited += time.perf_counter() - wait_start
        train_step(parts, images, targets, batch)
        samples += len(targets)
        steps += 1
    sync(device)
    total = time.perf_counter() - start
    loader_rate = samples / total

    hardware = (f"GPU {torch.cuda.get_device_name(device)}" if cuda
                else f"CPU only ({platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
                     f"{config.loader.num_workers} loader workers)")
    print(f"device: {hardware}")
    print(f"model {config.model.name} ({config.model.heads}), images {tuple(config.data.image_size)}, "
          f"batch {config.loader.batch_size}, amp {parts.amp_dtype}")
    print(f"compute only      : {compute_rate:8.1f} samples/s (baseline)")
    print(f"with real loader  : {loader_rate:8.1f} samples/s  ratio {loader_rate / compute_rate:.2f}x of compute")
    print(f"data wait share   : {waited / total:6.1%} of the step time")

    print(f"toolkit (compute only, batch {config.loader.batch_size}; ratios against plain measured here):")
    rates = {}
    for accum, ema in ((1, False), (args.accum, False), (1, True), (args.accum, True)):
        rates[accum, ema] = toolkit_rate(config, data, len(train_loader), device, channels_last, batch, args.steps,
                                         accum, ema)
        label = f"accum_steps {accum}, ema {'on ' if ema else 'off'}"
        print(f"  {label:<24}: {rates[accum, ema]:8.1f} samples/s  {rates[accum, ema] / rates[1, False]:.2f}x")


if __name__ == "__main__":
    main()
