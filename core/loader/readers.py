"""Readers: path -> HxWx3 uint8 RGB array, the one thing a Dataset's `reader` must do.

`reader_for` picks the fastest reader a loader config allows for a pipeline's input size:
full decode, JPEG draft (reduced-size) decode, or the pre-resized memmap cache.
"""
from __future__ import annotations

from core.loader.cache import open_or_build_cache
from core.loader.config import LoaderConfig
from core.loader.draft import DraftReader, FullReader

__all__ = ["DraftReader", "FullReader", "reader_for", "train_image_paths"]


def reader_for(config: LoaderConfig, data_dir=None, image_size: tuple[int, int] | None = None, *,
               paths=None, progress=None):
    """The reader for `config.decode` / `config.cache` at the pipeline's input size (height, width).

    image_size None (the pipeline does not start with a Resize) means no shortcut is safe: full decode.
    `config.decoder` (cv2 or pil) decodes in every case.
    cache=memmap builds the cache for `paths` (default: every usable train image of `data_dir`) on first
    use, reporting `progress(done, total)`, and reads other paths by draft decoding.
    """
    if image_size is None:
        return FullReader(config.decoder)
    if config.cache == "memmap":
        if paths is None:
            paths = train_image_paths(data_dir)
        return open_or_build_cache(paths, image_size, progress=progress, decoder=config.decoder)
    if config.decode in ("draft", "gpu"):  # gpu reaches here only where it fell back (core.loader.gpu_decode)
        return DraftReader(image_size, decoder=config.decoder)
    return FullReader(config.decoder)


def train_image_paths(data_dir) -> list[str]:
    """Absolute paths of every usable train image (what a train/val split draws from)."""
    from core.data import scan_train

    scan = scan_train(data_dir)
    return [str(scan.data_dir / path) for path in scan.images["path"]]
