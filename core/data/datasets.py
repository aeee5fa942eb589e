"""Map-style Datasets: one image in, its labels out. Batching, order and workers are the DataLoader's job.

Both datasets take any transform callable: an Albumentations transform (called as
`transform(image=array)["image"]`) or a torchvision one (called on a PIL image).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from torch.utils.data import Dataset

from core.data.images import read_image


def is_albumentations(transform) -> bool:
    module = type(transform).__module__ or ""
    return module.startswith("albumentations")


def apply_transform(transform, image: np.ndarray, face_box=None):
    """Run an Albumentations or torchvision transform on an HxWx3 uint8 RGB array.

    `face_box` (fractions x0, y0, x1, y1, score, or None) reaches a FaceCrop step as its own target.
    """
    if transform is None:
        return image
    if is_albumentations(transform):
        if face_box is not None:
            return transform(image=image, face_box=face_box)["image"]
        return transform(image=image)["image"]
    return transform(Image.fromarray(image))


class MaskTrainDataset(Dataset):
    """Training/validation images with the class label and the three attribute labels.

    Items are dicts: image, label (0..17), mask, gender, age (band), index (row in `images`).
    `reader(path)` decodes a file; swap it for a reduced-size or cached reader without touching this class.
    `face_boxes` ({relative path: box}) feeds a FaceCrop step; by default read from faceboxes.csv
    when the transform has one.
    """

    def __init__(self, data_dir, images: pd.DataFrame, transform=None, reader=read_image, face_boxes=None):
        self.data_dir = Path(data_dir)
        self.images = images.reset_index(drop=True)
        self.transform = transform
        self.reader = reader
        self._paths = [str(self.data_dir / p) for p in self.images["path"]]
        self._face_boxes = _face_boxes(self.data_dir, self.images["path"], transform, face_boxes)
        self._labels = self.images[["label", "mask", "gender_label", "age_label"]].to_numpy(dtype=np.int64)

    def __len__(self) -> int:
        return len(self._paths)

    def __getitem__(self, index: int) -> dict:
        image = apply_transform(self.transform, self.reader(self._paths[index]), self._face_boxes[index])
        label, mask, gender, age = self._labels[index]
        return {"image": image, "label": int(label), "mask": int(mask), "gender": int(gender),
                "age": int(age), "index": int(index)}

    @property
    def labels(self) -> np.ndarray:
        """Class label per item, for samplers (class-balanced weights) without decoding images."""
        return self._labels[:, 0]


class MaskEvalDataset(Dataset):
    """Eval images in info.csv order; items are dicts: image, image_id."""

    def __init__(self, data_dir, eval_images: pd.DataFrame, transform=None, reader=read_image, face_boxes=None):
        self.data_dir = Path(data_dir)
        self.eval_images = eval_images.reset_index(drop=True)
        self.transform = transform
        self.reader = reader
        self._paths = [str(self.data_dir / p) for p in self.eval_images["path"]]
        self._face_boxes = _face_boxes(self.data_dir, self.eval_images["path"], transform, face_boxes)
        self._ids = list(self.eval_images["ImageID"])

    def __len__(self) -> int:
        return len(self._paths)

    def __getitem__(self, index: int) -> dict:
        return {"image": apply_transform(self.transform, self.reader(self._paths[index]), self._face_boxes[index]),
                "image_id": self._ids[index]}


def _face_boxes(data_dir: Path, paths, transform, face_boxes) -> list:
    """Each item's face box, in item order (None where there is none)."""
    if face_boxes is None:
        from core.faces.boxes import boxes_for_transform

        face_boxes = boxes_for_transform(data_dir, transform)
    return [face_boxes.get(path) for path in paths] if face_boxes else [None] * len(paths)
