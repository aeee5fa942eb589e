"""FaceCrop: crop each image to its own face box, an Albumentations step like any other.

The box travels with the item, not through a global: the dataset calls the pipeline as
`pipeline(image=..., face_box=(x0, y0, x1, y1, score))`, coordinates as fractions of the image's
width and height (so a reduced-size decode or a resized cache crops the same face), or None. With
no box, or a score below `min_score`, the step crops a centred box instead. Put it first: a flip or
rotation before it would move the face away from its box.

Importing this module registers the class with Albumentations, so `A.from_dict` / `A.load` find it
by its full name (core.augment.face_crop.FaceCrop).
"""
from __future__ import annotations

from typing import Annotated, Any

from albumentations.augmentations.crops.transforms import BaseCrop
from pydantic import Field

FACE_BOX_KEY = "face_box"


def crop_box(image_hw: tuple[int, int], face_box, margin: float, aspect: float | None, min_score: float,
             fallback_height: float) -> tuple[tuple[int, int, int, int], bool]:
    """((x0, y0, x1, y1) in pixels, whether the face box was used) for an image of size (height, width)."""
    H, W = image_hw
    used = face_box is not None and len(face_box) >= 4 and (len(face_box) < 5 or face_box[4] >= min_score)
    if used:
        f0, g0, f1, g1 = face_box[:4]
        cx, cy, w, h = (f0 + f1) / 2 * W, (g0 + g1) / 2 * H, (f1 - f0) * W, (g1 - g0) * H
        w, h = w * (1 + 2 * margin), h * (1 + 2 * margin)
    else:  # the centred box is already the crop's size: no margin
        h = fallback_height * H
        w = h * aspect if aspect else fallback_height * W
        cx, cy = W / 2, H / 2
    if aspect:
        if w / h < aspect:
            w = h * aspect
        else:
            h = w / aspect
    scale = min(1.0, W / w, H / h)  # too big for the image: shrink, keeping the aspect
    w, h = max(1, round(w * scale)), max(1, round(h * scale))
    x0 = min(max(0, round(cx - w / 2)), W - w)  # shifted inside the image rather than cut
    y0 = min(max(0, round(cy - h / 2)), H - h)
    return (x0, y0, x0 + w, y0 + h), used


class FaceCrop(BaseCrop):
    """Crop to the image's face box, widened by a margin and set to an aspect; a centred box without one.

    Args:
        margin (float): Space added on every side of the face, as a fraction of the box's size.
        aspect (float | None): Width/height of the crop (0.75 = 192/256); None keeps the box's shape.
        min_score (float): Boxes scored below this are ignored and the centred box is used.
        fallback_height (float): Height of the centred crop used without a face, as a fraction of the image.
        p (float): Probability of applying the transform.

    Targets:
        image, mask, bboxes, keypoints, volume, mask3d
    """

    class InitSchema(BaseCrop.InitSchema):
        margin: Annotated[float, Field(ge=0, le=2)]
        aspect: Annotated[float | None, Field(gt=0, le=4)]
        min_score: Annotated[float, Field(ge=-10, le=10)]
        fallback_height: Annotated[float, Field(gt=0, le=1)]

    def __init__(self, margin: float = 0.25, aspect: float | None = 0.75, min_score: float = 0.0,
                 fallback_height: float = 0.6, p: float = 1.0):
        super().__init__(p=p)
        self.margin = margin
        self.aspect = aspect
        self.min_score = min_score
        self.fallback_height = fallback_height

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        coords, used = crop_box(params["shape"][:2], data.get(FACE_BOX_KEY), self.margin, self.aspect,
                                self.min_score, self.fallback_height)
        return {"crop_coords": coords, "face_found": used}

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("margin", "aspect", "min_score", "fallback_height")


def uses_face_crop(transform) -> bool:
    """True when an Albumentations transform (a Compose, a group or a step) holds a FaceCrop."""
    if isinstance(transform, FaceCrop):
        return True
    return any(uses_face_crop(child) for child in getattr(transform, "transforms", None) or ())
