"""create_loader: one DataLoader from a LoaderConfig — the only place DataLoader(...) is called."""
from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from core.loader.collate import collate_for
from core.loader.config import LoaderConfig
from core.loader.memory import keep_batch_memory
from core.loader.samplers import build_sampler, wrap_in_batches
from core.loader.validate import validate_loader_config
from core.loader.workers import one_opencv_thread_in_new_workers, seed_worker


class WorkerLoader(DataLoader):
    """A DataLoader whose worker processes start with one OpenCV thread each (see one_opencv_thread_in_new_workers)."""

    def _get_iterator(self):
        if self.num_workers == 0:
            return super()._get_iterator()
        with one_opencv_thread_in_new_workers():  # the workers fork while the iterator is made
            return super()._get_iterator()


def resolve_pin_memory(config: LoaderConfig) -> bool:
    """pin_memory as set, or (not set) on exactly when a CUDA GPU will receive the batches."""
    return torch.cuda.is_available() if config.pin_memory is None else bool(config.pin_memory)


def dataset_labels(dataset):
    """Class labels of a dataset without decoding images (MaskTrainDataset.labels), else None."""
    return getattr(dataset, "labels", None)


def create_loader(dataset, config: LoaderConfig, *, labels=None, indices=None, seed: int = 0,
                  distributed: bool = False, rank: int = 0, world_size: int = 1) -> DataLoader:
    """A DataLoader built from `config`, validated first (ConfigError in words, naming loader.<key>).

    `labels` (class per item) feed the class-balanced weighted_random sampler; by default they come
    from `dataset.labels`. `indices` fixes the subset of subset_random. `seed` fixes the order, the
    worker seeds and the mixing. Under torchrun pass distributed=True, rank and world_size: the sampler
    becomes a DistributedSampler (or a distributed class-balanced one). Call
    `core.loader.set_epoch(loader, epoch)` at the start of each epoch to make a resumed run repeat.
    Batches leave as the pipeline made them (uint8 once the Normalize moved): see fast_pipeline.finish_images.
    """
    validate_loader_config(config, len(dataset), distributed=distributed)
    keep_batch_memory()  # before the first batch, and inherited by the workers: see core.loader.memory
    sampler = build_sampler(config.sampler, len(dataset), shuffle=config.shuffle, num_samples=config.num_samples,
                            labels=dataset_labels(dataset) if labels is None else labels, indices=indices,
                            seed=seed, distributed=distributed, rank=rank, world_size=world_size)
    workers = config.num_workers
    kwargs = dict(num_workers=workers, collate_fn=collate_for(config.collate, config.mixup_alpha),
                  pin_memory=resolve_pin_memory(config), timeout=config.timeout if workers else 0,
                  worker_init_fn=seed_worker if config.seed_workers else None,
                  generator=torch.Generator().manual_seed(seed),  # base of the per-worker seeds
                  persistent_workers=config.persistent_workers and workers > 0)
    if workers > 0 and config.prefetch_factor is not None:
        kwargs["prefetch_factor"] = config.prefetch_factor
    if config.batch_sampler:
        batches = wrap_in_batches(sampler, len(dataset), config.batch_size, config.drop_last)
        return WorkerLoader(dataset, batch_sampler=batches, **kwargs)
    return WorkerLoader(dataset, batch_size=config.batch_size, shuffle=False,
                      sampler=sampler, drop_last=config.drop_last, **kwargs)
