"""Readers: path -> HxWx3 uint8 RGB array, the one thing a Dataset's `reader` must do.

`reader_for` picks the fastest reader a loader config allows for a pipeline's input size:
full decode, JPEG draft (reduced-size) decode, or the pre-resized memmap cache.
"""
from __future__ import annotations

import cv2
import numpy as np

from core.data.images import read_image
from core.loader.config import LoaderConfig


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


def reader_for(config: LoaderConfig, data_dir=None, image_size: tuple[int, int] | None = None, *,
               paths=None, progress=None):
    """The reader for `config.decode` / `config.cache` at the pipeline's input size (height, width).

    image_size None (the pipeline does not start with a Resize) means no shortcut is safe: full decode.
    cache=memmap builds the cache for `paths` (default: every usable train image of `data_dir`) on first
    use, reporting `progress(done, total)`, and reads other paths by draft decoding.
    """
    if image_size is None:
        return read_image
    if config.cache == "memmap":
        from core.loader.cache import open_or_build_cache

        if paths is None:
            paths = train_image_paths(data_dir)
        return open_or_build_cache(paths, image_size, progress=progress)
    if config.decode == "draft":
        return DraftReader(image_size)
    return read_image


def train_image_paths(data_dir) -> list[str]:
    """Absolute paths of every usable train image (what a train/val split draws from)."""
    from core.data import scan_train

    scan = scan_train(data_dir)
    return [str(scan.data_dir / path) for path in scan.images["path"]]
