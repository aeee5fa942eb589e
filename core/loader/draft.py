"""Reduced-size JPEG decoding: the reader behind decode=draft and the image cache's builder."""
from __future__ import annotations

import cv2
import numpy as np

from core.data.images import read_image


class DraftReader:
    """Decode JPEGs at 1/2, 1/4 or 1/8 scale, never below (height, width); other formats in full.

    `exact=True` also resizes to exactly (height, width) (INTER_AREA), as the cache does.
    """

    def __init__(self, size: tuple[int, int], exact: bool = False):
        self.size, self.exact = (int(size[0]), int(size[1])), exact

    def __call__(self, path) -> np.ndarray:
        height, width = self.size
        image = read_image(path, draft_size=(width, height))
        if self.exact and image.shape[:2] != (height, width):
            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        return image

    def __repr__(self) -> str:
        return f"DraftReader(size={self.size}, exact={self.exact})"
