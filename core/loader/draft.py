"""Reduced-size JPEG decoding: the reader behind decode=draft and the image cache's builder.

Two libraries decode: Pillow (`Image.draft`) and OpenCV (`IMREAD_REDUCED_COLOR_k`). Both ask libjpeg for
the same 1/k scale (the largest that is not below the target), so they give the same pixels; OpenCV was
measured faster on 384x512 photos (bench/loader.py measures both on your files and says whether they
agree). Either way the image comes out upright (EXIF orientation applied) and RGB.
"""
from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import ExifTags, Image

from core.data.images import SIDEWAYS, read_image
from core.errors import ConfigError

DECODERS = ("cv2", "pil")
_REDUCED = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
            8: cv2.IMREAD_REDUCED_COLOR_8}
# OpenCV >= 4.11 can hand RGB straight from the decoder; older ones decode BGR and we swap the channels.
_RGB = getattr(cv2, "IMREAD_COLOR_RGB", None)


def draft_scale(size: tuple[int, int], target: tuple[int, int] | None) -> int:
    """The 1/k scale libjpeg decodes at for a (width, height) image and a (width, height) target: the largest
    of 8, 4, 2, 1 that keeps both sides at least the target's (Pillow's rule for Image.draft)."""
    if target is None:
        return 1
    ratio = min(size[0] // max(1, target[0]), size[1] // max(1, target[1]))
    return next(k for k in (8, 4, 2, 1) if k <= max(ratio, 1))


def read_image_cv2(path, draft_size: tuple[int, int] | None = None) -> np.ndarray:
    """read_image's result (HxWx3 uint8 RGB, upright, at least `draft_size` (width, height)) decoded by OpenCV.

    Files OpenCV should not take (not JPEG, or unreadable to it) go to read_image, which names the problem.
    """
    try:
        data = np.fromfile(path, dtype=np.uint8)
        with Image.open(io.BytesIO(data.tobytes())) as header:  # header only: format, size, orientation
            fmt, size = header.format, header.size
            orientation = header.getexif().get(ExifTags.Base.Orientation, 1) if fmt == "JPEG" else 1
    except (OSError, SyntaxError, ValueError):
        return read_image(path, draft_size)
    if fmt != "JPEG":
        return read_image(path, draft_size)
    if draft_size is not None and orientation in SIDEWAYS:  # the target is upright; the stored image is turned
        draft_size = (draft_size[1], draft_size[0])
    flags = _REDUCED[draft_scale(size, draft_size)]
    if _RGB is not None:
        flags = (flags & ~cv2.IMREAD_COLOR) | _RGB
    image = cv2.imdecode(data, flags)  # applies the EXIF orientation itself
    if image is None:
        return read_image(path, draft_size)
    return image if _RGB is not None else np.ascontiguousarray(image[:, :, ::-1])


def decode_file(path, draft_size: tuple[int, int] | None = None, decoder: str = "cv2") -> np.ndarray:
    """Decode with `decoder` (cv2 or pil): HxWx3 uint8 RGB, upright."""
    if decoder == "cv2":
        return read_image_cv2(path, draft_size)
    if decoder == "pil":
        return read_image(path, draft_size)
    raise ConfigError.of("errors_loader.decoder", decoder=decoder, choices=", ".join(DECODERS))


class DraftReader:
    """Decode JPEGs at 1/2, 1/4 or 1/8 scale, never below (height, width); other formats in full.

    `exact=True` also resizes to exactly (height, width) (INTER_AREA), as the cache does.
    """

    def __init__(self, size: tuple[int, int], exact: bool = False, decoder: str = "cv2"):
        self.size, self.exact, self.decoder = (int(size[0]), int(size[1])), exact, decoder

    def __call__(self, path) -> np.ndarray:
        height, width = self.size
        image = decode_file(path, (width, height), self.decoder)
        if self.exact and image.shape[:2] != (height, width):
            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        return image

    def __repr__(self) -> str:
        return f"DraftReader(size={self.size}, exact={self.exact}, decoder={self.decoder})"


class FullReader:
    """Decode every pixel with `decoder` (a class, so worker processes can pickle it)."""

    def __init__(self, decoder: str = "cv2"):
        self.decoder = decoder

    def __call__(self, path) -> np.ndarray:
        return decode_file(path, None, self.decoder)

    def __repr__(self) -> str:
        return f"FullReader(decoder={self.decoder})"
