"""worker_init_fn: each DataLoader worker gets its own, reproducible random streams; and how many compute
threads leave the workers their cores."""
from __future__ import annotations

import contextlib
import random

import numpy as np
import torch

from core.machine import available_cores


def seed_worker(worker_id: int) -> None:
    """Seed `random`, numpy and the dataset's Albumentations pipeline from the worker's torch seed.

    torch seeds itself, numpy and `random` per worker (base seed + worker id, new each epoch, fixed
    by the loader's generator); they are reseeded here from that same seed so all streams follow one
    number. What torch cannot reach is the pipeline's own generator (A.Compose keeps one): it is forked
    with the parent's state, so without this every worker would draw the same flips and crops.
    """
    seed = torch.initial_seed() % 2**32
    random.seed(seed)
    np.random.seed(seed)
    info = torch.utils.data.get_worker_info()
    transform = getattr(info.dataset, "transform", None) if info is not None else None
    if hasattr(transform, "set_random_seed"):  # an A.Compose; same mixing as core.augment.reseed
        base = getattr(transform, "seed", None) or 0
        transform.set_random_seed(int(np.random.SeedSequence([base, seed, worker_id]).generate_state(1)[0]))


@contextlib.contextmanager
def one_opencv_thread_in_new_workers():
    """Workers started inside this block decode and resize with one OpenCV thread each (the workers are the
    parallelism; more threads only contend), the parent keeping its own count once they have started.

    Set in the parent around the fork, never in the worker: a forked worker that calls cv2.setNumThreads
    after its parent has run OpenCV's thread pool waits forever for the pool's threads, which fork did not copy
    (a DataLoader worker hung on it whenever an earlier test had resized or blurred in the parent).
    """
    import cv2

    before = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


def compute_threads(num_workers: int, world_size: int = 1) -> int:
    """torch threads for CPU training: the cores left after the loader workers, shared by the processes.

    torch takes every core by default; with workers decoding on the same cores the two fight, and a
    2-core machine measured 5x slower steps with 2 threads than with 1 while workers ran. bench/train.py
    measures the step with the loader over workers x threads, so this rule can be checked on a machine.
    """
    return max(1, available_cores() // max(1, world_size) - num_workers)
