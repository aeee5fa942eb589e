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


def apply_transform(transform, image: np.ndarray):
    """Run an Albumentations or torchvision transform on an HxWx3 uint8 RGB array."""
    if transform is None:
        return image
    if is_albumentations(transform):
        return transform(image=image)["image"]
    return transform(Image.fromarray(image))


class MaskTrainDataset(Dataset):
    """Training/validation images with the class label and the three attribute labels.

    Items are dicts: image, label (0..17), mask, gender, age (band), index (row in `images`).
    `reader(path)` decodes a file; swap it for a reduced-size or cached reader without touching this class.
    """

    def __init__(self, data_dir, images: pd.DataFrame, transform=None, reader=read_image):
        self.data_dir = Path(data_dir)
        self.images = images.reset_index(drop=True)
        self.transform = transform
        self.reader = reader
        self._paths = [str(self.data_dir / p) for p in self.images["path"]]
        self._labels = self.images[["label", "mask", "gender_label", "age_label"]].to_numpy(dtype=np.int64)

    def __len__(self) -> int:
        return len(self._paths)

    def __getitem__(self, index: int) -> dict:
        image = apply_transform(self.transform, self.reader(self._paths[index]))
        label, mask, gender, age = self._labels[index]
        return {"image": image, "label": int(label), "mask": int(mask), "gender": int(gender),
                "age": int(age), "index": int(index)}

    @property
    def labels(self) -> np.ndarray:
        """Class label per item, for samplers (class-balanced weights) without decoding images."""
        return self._labels[:, 0]


class MaskEvalDataset(Dataset):
    """Eval images in info.csv order; items are dicts: image, image_id."""

    def __init__(self, data_dir, eval_images: pd.DataFrame, transform=None, reader=read_image):
        self.data_dir = Path(data_dir)
        self.eval_images = eval_images.reset_index(drop=True)
        self.transform = transform
        self.reader = reader
        self._paths = [str(self.data_dir / p) for p in self.eval_images["path"]]
        self._ids = list(self.eval_images["ImageID"])

    def __len__(self) -> int:
        return len(self._paths)

    def __getitem__(self, index: int) -> dict:
        return {"image": apply_transform(self.transform, self.reader(self._paths[index])),
                "image_id": self._ids[index]}
