"""On-disk cache of per-image check results, so a 19k-image set is decoded once, not per page or run.

Kept outside the data directory (which may be read-only): $MASKLAB_CACHE_DIR, else ~/.cache/masklab.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


def cache_root() -> Path:
    return Path(os.environ.get("MASKLAB_CACHE_DIR") or Path.home() / ".cache" / "masklab")


def cache_file(data_dir: Path) -> Path:
    digest = hashlib.sha1(str(Path(data_dir).resolve()).encode()).hexdigest()[:16]
    return cache_root() / "scan" / f"{digest}.json"


def load(data_dir: Path) -> dict:
    try:
        return json.loads(cache_file(data_dir).read_text())
    except (OSError, ValueError):
        return {}  # no cache or a damaged one: recheck everything


def save(data_dir: Path, entries: dict) -> None:
    path = cache_file(data_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entries))
        tmp.replace(path)
    except OSError:
        pass  # a cache that cannot be written only costs time
