"""collate_fn: a list of samples -> one batch; the mixing ones blend pairs of images and their labels.

Images arrive as HxWxC numpy arrays (Albumentations, uint8 when the Normalize step was moved to the
batch) or CxHxW tensors (torchvision). They leave as one NxCxHxW tensor; uint8 stays uint8, because
stacking and sending a quarter of the bytes is faster than float — `BatchNormalize` finishes the job on
the training device. In a worker the batch is stacked straight into shared memory, as default_collate
does: otherwise sending it to the trainer copies it once more.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import default_collate, get_worker_info

from core.labels import NUM_CLASSES


def stack_images(images: list) -> torch.Tensor:
    """NxCxHxW tensor from HWC arrays or CHW tensors (uint8 stays uint8; layout is channels-last); a list of
    1-D byte tensors from encoded files."""
    first = images[0]
    if isinstance(first, np.ndarray) and first.ndim == 1:  # encoded files (decode=gpu): decoded on the device
        return [torch.from_numpy(image) for image in images]
    if isinstance(first, np.ndarray):
        if first.ndim == 2:
            images = [image[:, :, None] for image in images]
        out = _batch_tensor((len(images), *images[0].shape), torch.from_numpy(np.empty(0, images[0].dtype)).dtype)
        np.stack(images, out=out.numpy())
        return out.permute(0, 3, 1, 2)
    tensors = [torch.as_tensor(image) for image in images]
    out = _batch_tensor((len(tensors), *tensors[0].shape), tensors[0].dtype)
    return torch.stack(tensors, out=out)


def _batch_tensor(shape, dtype) -> torch.Tensor:
    """An empty tensor for a batch: in shared memory inside a DataLoader worker (it is sent from there)."""
    if get_worker_info() is None:
        return torch.empty(shape, dtype=dtype)
    numel = int(np.prod(shape))
    storage = torch.UntypedStorage._new_shared(numel * torch.empty((), dtype=dtype).element_size())
    return torch.empty((0,), dtype=dtype).set_(storage, 0, shape)


def collate_batch(samples: list[dict]) -> dict:
    """DataLoader's default_collate for every field, except images, which are stacked as above."""
    batch = default_collate([{k: v for k, v in sample.items() if k != "image"} for sample in samples])
    batch["image"] = stack_images([sample["image"] for sample in samples])
    return batch


class MixCollate:
    """Mixup or CutMix inside the batch (a class, not a closure, so worker processes can pickle it).

    Images leave in the dtype and value range they came in (uint8 0..255, or float as the pipeline made
    them), exactly like the plain collate's, so what follows (BatchNormalize, prepare_batch, the trainer)
    treats a mixed batch like any other. Adds `target` (N x 18 soft labels), `mix_index` (the partner of
    each image) and `mix_lambda` (share of the own image) so a multi-head model can mix its mask/gender/age losses the same way:
    loss = lam * loss(y) + (1 - lam) * loss(y[mix_index]).
    """

    def __init__(self, mode: str, alpha: float = 0.4, num_classes: int = NUM_CLASSES):
        if mode not in ("mixup", "cutmix"):
            raise ValueError(f"mode must be mixup or cutmix, not {mode!r}")
        self.mode, self.alpha, self.num_classes = mode, float(alpha), num_classes

    def __call__(self, samples: list[dict]) -> dict:
        batch = collate_batch(samples)
        images = batch["image"]
        # numpy's global RNG: seeded per worker by worker_init, so mixing is reproducible too.
        lam = float(np.random.beta(self.alpha, self.alpha))
        index = torch.from_numpy(np.random.permutation(len(images)))
        if self.mode == "mixup":
            batch["image"] = _blend(images, images[index], lam)
        else:
            batch["image"], lam = _cutmix(images, index, lam)
        labels = batch["label"]
        one_hot = torch.nn.functional.one_hot(labels, self.num_classes).float()
        batch["target"] = lam * one_hot + (1.0 - lam) * one_hot[index]
        batch["mix_index"] = index
        batch["mix_lambda"] = torch.tensor(lam)
        return batch


def _blend(images: torch.Tensor, partners: torch.Tensor, lam: float) -> torch.Tensor:
    """lam * images + (1 - lam) * partners in the images' own dtype and value range.

    uint8 must stay uint8 (rounded): downstream, a uint8 batch means 0..255 pixels still to be scaled or
    normalised, a float one means finished values — a float 0..255 batch would reach the model unscaled.
    """
    mixed = lam * images.float() + (1.0 - lam) * partners.float()
    if images.is_floating_point():
        return mixed.to(images.dtype)
    return mixed.round_().clamp_(0, 255).to(images.dtype)


def _cutmix(images: torch.Tensor, index: torch.Tensor, lam: float) -> tuple[torch.Tensor, float]:
    """Paste a box of area (1 - lam) from each partner image; lam is corrected for clipping at the edges."""
    height, width = images.shape[-2:]
    cut = np.sqrt(1.0 - lam)
    box_h, box_w = int(height * cut), int(width * cut)
    cy, cx = np.random.randint(height), np.random.randint(width)
    top, bottom = max(cy - box_h // 2, 0), min(cy + box_h // 2, height)
    left, right = max(cx - box_w // 2, 0), min(cx + box_w // 2, width)
    mixed = images.clone()
    mixed[..., top:bottom, left:right] = images[index][..., top:bottom, left:right]
    return mixed, 1.0 - (bottom - top) * (right - left) / float(height * width)


def collate_for(name: str, alpha: float = 0.4):
    """The collate_fn for a `collate` setting."""
    if name == "default":
        return collate_batch
    return MixCollate(name, alpha)
