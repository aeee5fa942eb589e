"""Which files are images, how to read one, and how to tell a corrupt one without a full decode."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageFile, ImageOps

from core.errors import DataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
# Left behind by macOS and Jupyter; never images even when their names end in .jpg.
JUNK_PREFIXES = ("._", ".")

# EXIF orientations stored turned by 90 degrees: width and height swap when they are applied.
SIDEWAYS = (5, 6, 7, 8)

# A truncated JPEG must be reported as corrupt, not silently padded with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False


def is_image_name(name: str) -> bool:
    return not name.startswith(JUNK_PREFIXES) and name.lower().endswith(IMAGE_EXTENSIONS)


def too_large_reason(error: Image.DecompressionBombError) -> str:
    """PIL refuses images over twice Image.MAX_IMAGE_PIXELS (a guard against decompression bombs)."""
    return f"too large to decode ({str(error).rstrip('.')}); shrink or replace the file"


def read_image(path, draft_size: tuple[int, int] | None = None) -> np.ndarray:
    """Decode an image file to an HxWx3 uint8 RGB array, upright; DataError naming the file if it cannot.

    Upright: the EXIF Orientation tag is applied, as a phone photo is meant to be seen (and as cv2.imread
    and browsers show it). Every reader — training, cache, preview, prediction — decodes here, so they
    all agree. `draft_size` (width, height, of the upright image) lets libjpeg decode at 1/2, 1/4 or 1/8
    scale when the pipeline resizes down anyway — the result is at least that large, never smaller.
    """
    try:
        with Image.open(path) as image:
            orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
            if draft_size is not None and image.format == "JPEG":
                width, height = draft_size
                image.draft("RGB", (height, width) if orientation in SIDEWAYS else (width, height))
            if orientation in range(2, 9):
                image = ImageOps.exif_transpose(image)
            return np.asarray(image.convert("RGB"))
    except Image.DecompressionBombError as error:
        raise DataError.of("errors_data.image_too_large", path=path, error=str(error).rstrip(".")) from None
    except (OSError, SyntaxError, ValueError) as error:
        raise DataError.of("errors_data.image_unreadable", path=path, error=error) from None


def corruption_reason(path) -> str | None:
    """None if the image decodes, else why not. Decodes JPEGs at 1/8 scale: fast, and still
    reads every compressed byte, so truncated or garbled files are caught."""
    try:
        with Image.open(path) as image:
            if image.format == "JPEG":
                image.draft("RGB", (image.width // 8 or 1, image.height // 8 or 1))
            image.load()
            if image.width < 8 or image.height < 8:
                return f"image is only {image.width}x{image.height} pixels"
    except Image.DecompressionBombError as error:
        return too_large_reason(error)
    except (OSError, SyntaxError, ValueError) as error:
        return f"cannot decode: {error}"
    return None


def image_size(path) -> tuple[int, int]:
    """(width, height) from the header only."""
    with Image.open(Path(path)) as image:
        return image.size
