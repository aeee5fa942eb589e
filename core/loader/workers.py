"""worker_init_fn: each DataLoader worker gets its own, reproducible random streams."""
from __future__ import annotations

import random

import numpy as np
import torch


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
