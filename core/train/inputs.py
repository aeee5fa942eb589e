"""What goes into the model: the train/val pipelines, the image reader, and batches moved to the device.

Pipelines are Albumentations files (or preset names) from the augment section; empty means the
built-in Resize(data.image_size) + Normalize. A pipeline without Normalize yields uint8 images; the
loader keeps them uint8 (a quarter of the bytes to move) and `batch_to_device` normalises them with
the ImageNet statistics on the device, so either kind of pipeline trains correctly.
"""
from __future__ import annotations

import functools

import albumentations as A
import torch

from core.data.images import read_image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


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


def create_reader(config):
    """read_image, decoding JPEGs at reduced scale (never below data.image_size) when loader.decode is draft."""
    if config.loader.decode != "draft":
        return read_image
    height, width = config.data.image_size
    return functools.partial(read_image, draft_size=(width, height))


def images_to_device(images: torch.Tensor, device: torch.device, channels_last: bool) -> torch.Tensor:
    """Float NCHW images on `device`; uint8 batches are scaled and normalised there."""
    images = images.to(device, non_blocking=device.type == "cuda")
    if images.dtype == torch.uint8:
        mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1) * 255
        std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1) * 255
        images = (images.float() - mean) / std
    else:
        images = images.float()
    if channels_last:
        return images.contiguous(memory_format=torch.channels_last)
    return images.contiguous()
