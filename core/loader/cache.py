"""On-disk cache of pre-resized uint8 images (numpy memmap): decode once, read at memory speed.

Stored outside the data directory ($MASKLAB_CACHE_DIR, else ~/.cache/masklab) under a key made of
the image size and every file's path, byte size and modification time, so a size change or an
edited/added/removed image gives a different key: a stale cache cannot be read. The memmap is opened
lazily in each process, so DataLoader workers share the OS page cache instead of copies.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from core.data.scan_cache import cache_root
from core.errors import DataError
from core.loader.draft import DraftReader
from core.machine import available_cores
from core.progress import report

CACHE_VERSION = 2  # 2: images stored upright (EXIF orientation applied)
IMAGES_FILE, INDEX_FILE = "images.u8", "index.json"


def cache_key(paths, image_size: tuple[int, int]) -> str:
    """Digest of the size and each file's (path, bytes, mtime): any change means another cache."""
    hasher = hashlib.sha1(json.dumps([CACHE_VERSION, list(image_size)]).encode())
    for path in paths:
        stat = os.stat(path)
        hasher.update(f"{os.path.abspath(path)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return hasher.hexdigest()[:20]


def cache_dir_for(paths, image_size) -> Path:
    return cache_root() / "loader" / f"{image_size[0]}x{image_size[1]}-{cache_key(paths, image_size)}"


class CachedReader:
    """Reader from a built cache; paths not in it (eval images, new files) are draft-decoded instead."""

    def __init__(self, folder: Path, paths: list[str], image_size: tuple[int, int]):
        self.folder, self.image_size = Path(folder), tuple(image_size)
        self.rows = {os.path.abspath(path): row for row, path in enumerate(paths)}
        self.fallback = DraftReader(self.image_size, exact=True)
        self._images = None  # opened on first read, in whichever process reads

    def _open(self) -> np.memmap:
        if self._images is None:
            height, width = self.image_size
            self._images = np.memmap(self.folder / IMAGES_FILE, dtype=np.uint8, mode="r",
                                     shape=(len(self.rows), height, width, 3))
        return self._images

    def __call__(self, path) -> np.ndarray:
        row = self.rows.get(os.path.abspath(path))
        if row is None:
            return self.fallback(path)
        return np.array(self._open()[row])  # a private, writable copy: transforms may work in place

    def __len__(self) -> int:
        return len(self.rows)

    def __getstate__(self):  # workers reopen the memmap themselves
        return {**self.__dict__, "_images": None}

    def __repr__(self) -> str:
        return f"CachedReader({self.folder}, images={len(self.rows)}, size={self.image_size})"


def open_or_build_cache(paths, image_size: tuple[int, int], progress=None, workers: int | None = None,
                        decoder: str = "cv2") -> CachedReader:
    """The cache for these files at this size (height, width), built now if it does not exist yet (decoded by
    `decoder`; both decoders give the same pixels, so the choice is not part of the cache's key)."""
    paths = [os.path.abspath(path) for path in paths]
    image_size = (int(image_size[0]), int(image_size[1]))
    folder = cache_dir_for(paths, image_size)
    if not _is_complete(folder, len(paths)):
        _build(folder, paths, image_size, progress, workers, decoder)
    else:
        report(progress, len(paths), len(paths))
    return CachedReader(folder, paths, image_size)


def _is_complete(folder: Path, count: int) -> bool:
    try:
        return json.loads((folder / INDEX_FILE).read_text()).get("count") == count
    except (OSError, ValueError):
        return False


def _build(folder: Path, paths: list[str], image_size, progress, workers, decoder: str = "cv2") -> None:
    """Decode into a private staging folder, then rename: readers never see half a cache."""
    height, width = image_size
    staging = folder.with_name(f"{folder.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        # A raw memmap (no .npy header): shape and dtype live in index.json.
        out = np.memmap(staging / IMAGES_FILE, dtype=np.uint8, mode="w+", shape=(max(len(paths), 1), height, width, 3))
        reader = DraftReader(image_size, exact=True, decoder=decoder)

        def fill(row: int) -> None:
            out[row] = reader(paths[row])

        # Decoding and resizing release the GIL, so threads use every core without pickling images.
        with ThreadPoolExecutor(max_workers=workers or available_cores()) as pool:
            for done, _ in enumerate(pool.map(fill, range(len(paths))), start=1):
                if done % 16 == 0 or done == len(paths):
                    report(progress, done, len(paths))
        out.flush()
        (staging / INDEX_FILE).write_text(json.dumps({"version": CACHE_VERSION, "count": len(paths),
                                                     "height": height, "width": width, "paths": paths}))
        _publish(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if not paths:
        report(progress, 0, 0)


def _publish(staging: Path, folder: Path) -> None:
    count = json.loads((staging / INDEX_FILE).read_text())["count"]
    if _is_complete(folder, count):  # another process finished the same cache first
        shutil.rmtree(staging, ignore_errors=True)
        return
    shutil.rmtree(folder, ignore_errors=True)  # an interrupted or damaged earlier build
    try:
        staging.rename(folder)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not _is_complete(folder, count):
            raise DataError.of("errors_loader.cache_write", folder=folder) from None

