"""What one draw of a pipeline applied, in words: "Rotate -21.9°; ColorJitter brightness 0.854, ...".

Albumentations 2.0.8 records it when the Compose has `save_applied_params` (the result's
"applied_transforms": each transform that fired, with the values it drew). Steps that fired with nothing
drawn (a flip) are named; steps that do the same to every image (Resize, Normalize) are left out.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

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
        if key == "matrix":
            if "rotate" not in params:  # Rotate, ShiftScaleRotate: the angle lives in the matrix only
                matrix = np.asarray(value)
                bits.append(f"{math.degrees(math.atan2(matrix[0, 1], matrix[0, 0])):.1f}°")
        elif key == "kernel":
            bits.append(f"kernel {len(value)}")
        elif key == "holes":
            bits.append(f"{len(value)} hole{'s' * (len(value) != 1)}")
        elif isinstance(value, dict):
            bits.append(f"{key} " + " ".join(f"{k}{_number(v)}" for k, v in value.items()))
        elif isinstance(value, (bool, str)) or isinstance(value, numbers.Number):
            bits.append(f"{key} {_number(value)}")
        elif isinstance(value, (tuple, list)) and len(value) <= 4 and all(isinstance(v, numbers.Number) for v in value):
            bits.append(f"{key} {[_number(v) for v in value]}".replace("'", ""))
    return name + (" " + ", ".join(bits) if bits else "")


def _number(value) -> str:
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    return f"{float(value):.3g}"
