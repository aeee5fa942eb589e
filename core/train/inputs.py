"""What goes into the model: the train/val pipelines, the image reader, and batches moved to the device.

Pipelines are Albumentations files (or preset names) from the augment section; empty means the
built-in Resize(data.image_size) + Normalize. The workers run each pipeline without its trailing Normalize
(`device_inputs`), so batches stay uint8 from decode to the device (a quarter of the bytes to move), and
`images_to_device` normalises them there once per batch — with the pipeline's own Normalize constants, or
ImageNet's for a pipeline without one — so either kind of pipeline trains correctly, on every path.

The reader is the loader's own choice (`core.loader.reader_for`) for the pipeline it feeds: a JPEG
draft decode or the memmap cache only when the pipeline starts with a Resize, the full image otherwise
(a pipeline starting with a Crop needs the original pixels).
"""
from __future__ import annotations

import albumentations as A
import numpy as np
import torch
from torch.utils.data import Dataset, get_worker_info

from core.loader.fast_pipeline import IMAGENET_MEAN, IMAGENET_STD, finish_images, resize_target, split_for_device
from core.loader.readers import reader_for


def default_pipeline(image_size) -> A.Compose:
    height, width = image_size
    return A.Compose([A.Resize(height, width), A.Normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD)])


def load_transform(spec: str, image_size, seed: int | None = None) -> A.Compose:
    """The pipeline named by an augment.* value (file path or preset name); empty -> default_pipeline."""
    if not spec:
        transform = default_pipeline(image_size)
    else:
        from core.augment import load_pipeline, resolve_pipeline

        transform = load_pipeline(resolve_pipeline(spec))
    if seed is not None:
        transform.set_random_seed(seed)
    return transform


def create_transforms(config) -> tuple[A.Compose, A.Compose]:
    """(train, val) pipelines of an ExperimentConfig; val is also the inference pipeline."""
    size = tuple(config.data.image_size)
    return (load_transform(config.augment.train, size, seed=config.train.seed),
            load_transform(config.augment.val, size, seed=config.train.seed))


def device_inputs(config, warn=None) -> tuple[tuple, tuple]:
    """((train per-image pipeline, its finisher), (val ...)): what the workers run and what the device
    finishes each batch with — a BatchNormalize (core.loader.split_for_device), or under loader.decode=gpu a
    GpuDecoder with no per-image pipeline at all. The per-image pipelines keep the seed. Where decode=gpu
    cannot apply, `warn` (default: stderr) gets the line saying why, and the CPU path runs.
    """
    from core.loader.gpu_decode import GpuDecoder, gpu_plan

    pipelines = []
    for train, pipeline in zip((True, False), create_transforms(config)):
        if config.loader.decode == "gpu":
            plan, why = gpu_plan(pipeline, config.loader, train=train)
            if plan is not None:
                pipelines.append((None, GpuDecoder(plan)))
                continue
            if why not in _SAID:  # once per process: prediction asks for the inputs more than once
                _SAID.add(why)
                (warn or _to_stderr)(why)
        per_image, normalize = split_for_device(pipeline)
        if per_image is not pipeline:
            per_image.set_random_seed(config.train.seed)
        pipelines.append((per_image, normalize))
    return pipelines[0], pipelines[1]


_SAID: set = set()


def _to_stderr(line: str) -> None:
    import sys

    print(line, file=sys.stderr, flush=True)


def create_input_reader(config, transform, finish, **kwargs):
    """The reader for one side of device_inputs: the files' bytes for a GpuDecoder, else create_reader's."""
    from core.loader.gpu_decode import EncodedReader, GpuDecoder

    if isinstance(finish, GpuDecoder):
        return EncodedReader()
    return create_reader(config, transform, **kwargs)


def create_reader(config, pipeline=None, *, paths=None, data_dir=None, progress=None):
    """The loader's reader (core.loader.reader_for) for the images `pipeline` receives (default: the val one).

    loader.decode=draft and loader.cache=memmap apply only when the pipeline starts with a Resize. The
    memmap cache holds `paths` (default: every train image of data_dir, default data.dir) and is built
    on first use.
    """
    if pipeline is None:
        pipeline = create_transforms(config)[1]
    return reader_for(config.loader, data_dir or config.data.dir, resize_target(pipeline), paths=paths,
                      progress=progress)


def mix_seed(*parts: int) -> int:
    """One 32-bit seed from several integers (seed, epoch, rank, worker), well mixed."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


class EpochSeededDataset(Dataset):
    """A dataset whose pipeline (and, in a worker, numpy and random) is reseeded from (seed, epoch, rank,
    worker) at the first item each process reads in an epoch.

    Why: the augmentations of epoch e must not depend on what ran before it, or a resumed run draws
    different ones than an uninterrupted run — with num_workers=0 (the pipeline lives in the trainer)
    and with persistent workers (never re-initialised) alike. The epoch sits in shared memory, so
    `set_epoch` in the trainer reaches persistent workers too. The rank keeps DDP ranks apart.
    """

    def __init__(self, dataset, seed: int, rank: int = 0):
        self.dataset, self.seed, self.rank = dataset, int(seed), int(rank)
        self._epoch = torch.zeros(1, dtype=torch.int64).share_memory_()
        self._seeded_for = None  # (epoch, worker) this process last seeded for

    def set_epoch(self, epoch: int) -> None:
        self._epoch[0] = int(epoch)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index):
        info = get_worker_info()
        worker = info.id + 1 if info is not None else 0
        key = (int(self._epoch[0]), worker)
        if key != self._seeded_for:
            self._seeded_for = key
            seed = mix_seed(self.seed, key[0], self.rank, worker)
            transform = getattr(self.dataset, "transform", None)
            if hasattr(transform, "set_random_seed"):
                transform.set_random_seed(seed)
            if info is not None:  # the trainer's own global streams are in the checkpoint instead
                import random

                random.seed(seed)
                np.random.seed(seed)
        return self.dataset[index]

    def __getattr__(self, name):  # labels, images, transform... of the wrapped dataset
        if name == "dataset":
            raise AttributeError(name)
        return getattr(self.dataset, name)


def images_to_device(images: torch.Tensor, device: torch.device, channels_last: bool, normalize=None) -> torch.Tensor:
    """Float NCHW images on `device`; uint8 batches are normalised there by `normalize` (the pipeline's
    moved Normalize, from device_inputs; default ImageNet's). The loader's finish_images, so the benchmark
    measures exactly this."""
    return finish_images(images, device, normalize, channels_last, non_blocking=device.type == "cuda")
