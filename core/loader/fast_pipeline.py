"""Where a pipeline can be made cheaper without changing what the model sees.

- `resize_target`: a pipeline that starts by resizing down lets the reader decode JPEGs at reduced size
  (or read a pre-resized cache) — the Resize then has (almost) nothing left to do.
- `split_normalize`: a trailing Normalize is moved off the per-image path onto the whole batch, so
  workers handle and send uint8 (a quarter of float32's bytes) and the GPU does the arithmetic.
"""
from __future__ import annotations

import albumentations as A
import torch

from core.imagenet import IMAGENET_MEAN, IMAGENET_STD  # noqa: F401  (the loader's API re-exports them)


def resize_target(pipeline) -> tuple[int, int] | None:
    """(height, width) of the pipeline's first step when that is an always-applied Resize, else None."""
    transforms = list(getattr(pipeline, "transforms", []) or [])
    first = transforms[0] if transforms else None
    if isinstance(first, A.Resize) and first.p >= 1.0:
        return int(first.height), int(first.width)
    return None


class BatchNormalize:
    """(x / max_pixel_value - mean) / std on a whole NxCxHxW batch, on whatever device it lives."""

    def __init__(self, mean, std, max_pixel_value: float = 255.0):
        self.mean, self.std, self.max_pixel_value = tuple(mean), tuple(std), float(max_pixel_value)
        self._constants: dict = {}

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        key = images.device
        if key not in self._constants:
            mean = torch.tensor(self.mean, device=key).view(1, -1, 1, 1) * self.max_pixel_value
            std = torch.tensor(self.std, device=key).view(1, -1, 1, 1) * self.max_pixel_value
            self._constants[key] = (mean, 1.0 / std)
        mean, inv_std = self._constants[key]
        out = images.float()
        if out is images:  # already float: never change the caller's tensor
            out = out.clone()
        return out.sub_(mean).mul_(inv_std)  # in place: one float tensor instead of three

    def __repr__(self) -> str:
        return f"BatchNormalize(mean={self.mean}, std={self.std}, max_pixel_value={self.max_pixel_value})"


def split_normalize(pipeline):
    """(pipeline without its trailing Normalize [+ ToTensorV2], BatchNormalize) or (pipeline, None).

    Only a standard, always-applied Normalize at the very end moves: anything after it would see
    different values otherwise.
    """
    transforms = list(getattr(pipeline, "transforms", []) or [])
    if not isinstance(pipeline, A.Compose) or not transforms:
        return pipeline, None
    tail = transforms[-1]
    cut = 1
    if type(tail).__name__ == "ToTensorV2" and len(transforms) > 1:
        tail, cut = transforms[-2], 2
    if not (isinstance(tail, A.Normalize) and tail.p >= 1.0 and tail.normalization == "standard"):
        return pipeline, None
    per_image = A.Compose(transforms[:-cut], p=pipeline.p, seed=getattr(pipeline, "seed", None))
    return per_image, BatchNormalize(tail.mean, tail.std, tail.max_pixel_value)


def normalize_placement(normalize: BatchNormalize | None, device) -> tuple:
    """(normalize for the loader's collate, normalize for prepare_batch): on the GPU when there is one.

    Without a GPU the main process is the one serial stage, so the arithmetic moves into the workers'
    collate instead, where it runs in parallel and float tensors cross by shared memory.
    """
    if normalize is None:
        return None, None
    return (None, normalize) if torch.device(device).type == "cuda" else (normalize, None)


def prepare_batch(batch: dict, device, normalize: BatchNormalize | None = None, non_blocking: bool = True) -> dict:
    """Move a batch's tensors to `device` (asynchronously from pinned memory) and finish normalising."""
    moved = {key: value.to(device, non_blocking=non_blocking) if torch.is_tensor(value) else value
             for key, value in batch.items()}
    if normalize is not None:
        moved["image"] = normalize(moved["image"])
    elif moved["image"].dtype == torch.uint8:
        moved["image"] = moved["image"].float() / 255.0  # no Normalize in the pipeline: scale to 0..1
    return moved
