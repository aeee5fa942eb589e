"""Test-time augmentation: a declared set of views of a batch (flip, zooms, corner crops), chosen by name
per prediction; the model's softmax probabilities are averaged over the views.

The views act on the batch as the model sees it (already resized and normalised), so every view keeps the
input size: a zoom or a crop takes part of the image and resizes it back. torch is imported inside the
functions: the Submission page reads the declared choices without paying for it.
"""
from __future__ import annotations

import json
from pathlib import Path

from core.errors import ConfigError

# name -> the views averaged. The identity is always in, so no choice can do worse than by much.
TTA_VIEWS = {
    "none": ("identity",),
    "flip": ("identity", "hflip"),
    "scales": ("identity", "zoom90", "zoom80"),
    "flip+scales": ("identity", "hflip", "zoom90", "zoom80", "hflip_zoom90", "hflip_zoom80"),
    "crops": ("identity", "crop_tl", "crop_tr", "crop_bl", "crop_br"),
}
TTA_CHOICES = tuple(TTA_VIEWS)
CROP_FRACTION = 0.9  # the corner crops keep 90% of each side
TTA_SCORES_FILE = "tta_val_f1.json"  # in the run directory: core.train.predict.tta_val_f1's last record


def tta_name(tta) -> str:
    """A TTA choice from a name, or from the older on/off flag (True = flip); ConfigError if unknown."""
    if tta is None or tta is False:
        return "none"
    if tta is True:
        return "flip"
    if tta not in TTA_VIEWS:
        raise ConfigError.of("errors_submission.unknown_tta", tta=tta, choices=", ".join(TTA_CHOICES))
    return tta


def read_tta_val_f1(run_dir) -> dict | None:
    """The last record of each TTA choice's val F1 in a run ({checkpoint, weights, epoch, val_f1}), or None."""
    try:
        return json.loads((Path(run_dir) / TTA_SCORES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _resize_back(part, size):
    import torch.nn.functional as F

    return F.interpolate(part, size=size, mode="bilinear", align_corners=False, antialias=True)


def _centre(images, fraction: float):
    height, width = images.shape[-2:]
    h, w = round(height * fraction), round(width * fraction)
    top, left = (height - h) // 2, (width - w) // 2
    return _resize_back(images[..., top:top + h, left:left + w], (height, width))


def _corner(images, bottom: bool, right: bool):
    height, width = images.shape[-2:]
    h, w = round(height * CROP_FRACTION), round(width * CROP_FRACTION)
    top, left = (height - h) if bottom else 0, (width - w) if right else 0
    return _resize_back(images[..., top:top + h, left:left + w], (height, width))


def view(images, name: str):
    """One named view of an N x C x H x W batch."""
    import torch

    if name.startswith("hflip_"):
        return view(torch.flip(images, dims=[3]), name[len("hflip_"):])
    if name == "identity":
        return images
    if name == "hflip":
        return torch.flip(images, dims=[3])
    if name.startswith("zoom"):
        return _centre(images, int(name[len("zoom"):]) / 100)
    corners = {"crop_tl": (False, False), "crop_tr": (False, True), "crop_bl": (True, False), "crop_br": (True, True)}
    if name in corners:
        return _corner(images, *corners[name])
    raise ConfigError.of("errors_submission.unknown_view", name=name)


def tta_probabilities(model, images, tta: str = "none"):
    """Mean softmax probabilities of `model` over the views of `tta` (float32, N x classes)."""
    views = TTA_VIEWS[tta_name(tta)]
    total = None
    for name in views:
        probabilities = model(view(images, name)).float().softmax(1)
        total = probabilities if total is None else total + probabilities
    return total / len(views)
