"""What one draw of a pipeline applied, in words: "Rotate -21.9°; ColorJitter brightness 0.854, ...".

Albumentations 2.0.8 records it when the Compose has `save_applied_params` (the result's
"applied_transforms": each transform that fired, with the values it drew). Steps that fired with nothing
drawn (a flip) are named; steps that do the same to every image (Resize, Normalize) are left out.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from core.i18n import t

# Do the same thing to every image: naming them on every draw says nothing.
SAME_EVERY_TIME = {"Resize", "Normalize", "ToTensorV2", "CenterCrop", "Crop", "FaceCrop", "PadIfNeeded",
                   "LongestMaxSize", "SmallestMaxSize", "ToFloat", "FromFloat"}
# Recorded, but settings or bookkeeping rather than what was drawn.
NOT_DRAWN = {"shape", "interpolation", "mask_interpolation", "fill", "fill_mask", "x_min", "x_max", "y_min", "y_max",
             "bbox_matrix", "seed", "output_shape", "noise_map", "order", "image_type", "border_mode"}


def describe_applied(applied) -> str:
    """One line for a draw's `applied_transforms`; empty when only fixed steps ran."""
    return "; ".join(_one(name, params) for name, params in applied if name not in SAME_EVERY_TIME)


def _one(name: str, params: dict) -> str:
    bits = []
    for key, value in params.items():
        if key in NOT_DRAWN:
            continue
        try:
            bit = _bit(key, value, params)
        except (TypeError, ValueError, IndexError):  # a record shaped unlike those we know: the name says enough
            bit = None
        if bit:
            bits.append(bit)
    return name + (" " + ", ".join(bits) if bits else "")


def _bit(key: str, value, params: dict) -> str | None:
    """One drawn value in words, or None for what a caption cannot show (arrays, nested records)."""
    if key == "matrix":
        if "rotate" in params:  # Affine records its angle itself
            return None
        matrix = np.asarray(value)  # Rotate, ShiftScaleRotate: the angle lives in the matrix only
        return f"{math.degrees(math.atan2(matrix[0, 1], matrix[0, 0])):.1f}°"
    if key == "kernel":
        return t("augmentation.kernel", size=value if isinstance(value, numbers.Integral) else len(value))
    if key == "holes":
        return t("augmentation.holes" if len(value) != 1 else "augmentation.hole", count=len(value))
    if isinstance(value, dict):
        return f"{key} " + " ".join(f"{k}{_number(v)}" for k, v in value.items())
    if isinstance(value, (bool, str, numbers.Number)):
        return f"{key} {_number(value)}"
    if isinstance(value, (tuple, list)) and len(value) <= 4 and all(isinstance(v, numbers.Number) for v in value):
        return f"{key} [{', '.join(_number(v) for v in value)}]"
    return None


def _number(value) -> str:
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    return f"{float(value):.3g}"
