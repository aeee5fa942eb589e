"""Index samplers for each `sampler` choice, reproducible per epoch and resumable.

Every random sampler here draws from its own generator reseeded with (seed, epoch) at the start of
each pass: a run repeats exactly, a resumed run continues with the right epoch's order after
`set_epoch(e)`, and without set_epoch each pass still differs because the epoch advances by itself.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch.utils.data import (BatchSampler, DistributedSampler, RandomSampler, Sampler, SequentialSampler,
                              SubsetRandomSampler, WeightedRandomSampler)

from core.errors import ConfigError


def class_balanced_weights(labels) -> torch.Tensor:
    """Weight 1/count(class) per sample, so each present class is drawn equally often on average."""
    labels = np.asarray(labels, dtype=np.int64)
    counts = np.bincount(labels)
    return torch.as_tensor(1.0 / counts[labels], dtype=torch.double)


class EpochSeeded(Sampler):
    """Wraps a torch sampler whose randomness comes from `generator`; reseeds it per epoch."""

    def __init__(self, inner: Sampler, generator: torch.Generator, seed: int):
        self.inner, self.generator, self.seed, self.epoch = inner, generator, int(seed), 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self):
        self.generator.manual_seed(_mix(self.seed, self.epoch))
        self.epoch += 1
        return iter(list(self.inner))  # drawn now, so a later set_epoch cannot change a pass under way

    def __len__(self) -> int:
        return len(self.inner)


class AutoEpochDistributedSampler(DistributedSampler):
    """torch's DistributedSampler that also advances its epoch by itself after each pass."""

    def __iter__(self):
        indices = super().__iter__()
        self.epoch += 1
        return indices


class DistributedWeightedSampler(Sampler):
    """Class-balanced draws in a distributed run: all ranks draw the same sequence, each takes its share."""

    def __init__(self, weights, num_samples: int, rank: int, world_size: int, seed: int):
        self.weights = torch.as_tensor(weights, dtype=torch.double)
        self.rank, self.world_size, self.seed, self.epoch = rank, world_size, int(seed), 0
        self.per_rank = math.ceil(num_samples / world_size)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self):
        generator = torch.Generator().manual_seed(_mix(self.seed, self.epoch))
        self.epoch += 1
        drawn = torch.multinomial(self.weights, self.per_rank * self.world_size, True, generator=generator)
        return iter(drawn[self.rank::self.world_size].tolist())

    def __len__(self) -> int:
        return self.per_rank


def build_sampler(name: str, dataset_len: int, *, shuffle: bool = False, num_samples: int | None = None,
                  labels=None, indices=None, seed: int = 0, distributed: bool = False, rank: int = 0,
                  world_size: int = 1) -> Sampler | None:
    """The sampler for a `sampler` setting, or None where DataLoader's own (from shuffle) is meant."""
    if distributed:
        return _distributed_sampler(name, dataset_len, shuffle, num_samples, labels, seed, rank, world_size)
    generator = torch.Generator()
    if name == "none":
        if not shuffle:
            return None
        return EpochSeeded(RandomSampler(range(dataset_len), generator=generator), generator, seed)
    if name == "sequential":
        return SequentialSampler(range(dataset_len))
    if name in ("random", "random_replacement"):
        inner = RandomSampler(range(dataset_len), replacement=name == "random_replacement",
                              num_samples=num_samples, generator=generator)
        return EpochSeeded(inner, generator, seed)
    if name == "subset_random":
        subset = _fixed_subset(dataset_len, num_samples, indices, seed)
        return EpochSeeded(SubsetRandomSampler(subset, generator=generator), generator, seed)
    if name == "weighted_random":
        weights = class_balanced_weights(_require_labels(labels, dataset_len))
        inner = WeightedRandomSampler(weights, num_samples or dataset_len, replacement=True, generator=generator)
        return EpochSeeded(inner, generator, seed)
    raise ConfigError.of("errors_loader.sampler_needs_torchrun", name=name)


def _distributed_sampler(name, dataset_len, shuffle, num_samples, labels, seed, rank, world_size):
    if name == "weighted_random":
        weights = class_balanced_weights(_require_labels(labels, dataset_len))
        return DistributedWeightedSampler(weights, num_samples or dataset_len, rank, world_size, seed)
    if name in ("random_replacement", "subset_random"):
        raise ConfigError.of("errors_loader.sampler_in_distributed", name=name)
    # none follows shuffle; random/distributed shuffle; sequential keeps the order (validation).
    shuffled = name in ("random", "distributed") or (name == "none" and shuffle)
    return AutoEpochDistributedSampler(range(dataset_len), num_replicas=world_size, rank=rank,
                                       shuffle=shuffled, seed=seed)


def wrap_in_batches(sampler: Sampler | None, dataset_len: int, batch_size: int, drop_last: bool) -> BatchSampler:
    return BatchSampler(sampler if sampler is not None else SequentialSampler(range(dataset_len)),
                        batch_size, drop_last)


def set_epoch(loader, epoch: int) -> None:
    """Tell the loader's sampler which epoch starts (resumes and distributed runs need it)."""
    batch_sampler = getattr(loader, "batch_sampler", None)
    for sampler in (getattr(batch_sampler, "sampler", None), getattr(loader, "sampler", None)):
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
            return


def _fixed_subset(dataset_len: int, num_samples: int | None, indices, seed: int) -> list[int]:
    if indices is not None:
        return [int(i) for i in indices]
    order = np.random.default_rng(seed).permutation(dataset_len)
    return order[: num_samples or dataset_len].tolist()


def _require_labels(labels, dataset_len: int) -> np.ndarray:
    if labels is None:
        raise ConfigError.of("errors_loader.weighted_no_labels")
    labels = np.asarray(labels)
    if len(labels) != dataset_len:
        raise ConfigError.of("errors_loader.weighted_label_count", labels=len(labels), images=dataset_len)
    return labels


def _mix(seed: int, epoch: int) -> int:
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])
