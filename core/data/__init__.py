"""Data layer: reading the competition layout, label fixes, Datasets, the split by person, demo data.

`create_dataset` is the one call pages, the loader and the trainer use to get a Dataset.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from core.data.datasets import MaskEvalDataset, MaskTrainDataset
from core.data.images import read_image
from core.data.layout import read_eval, scan_train
from core.data.split import split_by_profile
from core.errors import ConfigError
from core.labels import DEFAULT_AGE_EDGES

REPO_ROOT = Path(__file__).resolve().parents[2]
SPLITS = ("train", "val", "all", "eval")


def demo_data_dir() -> Path:
    return Path(os.environ.get("MASKLAB_DEMO_DIR") or REPO_ROOT / "data" / "demo")


def default_data_dir() -> Path:
    """The configured data directory ($MASKLAB_DATA_DIR), else the embedded demo dataset."""
    configured = os.environ.get("MASKLAB_DATA_DIR")
    return Path(configured).expanduser() if configured else demo_data_dir()


def ensure_demo_data(out_dir=None, progress=None, **options) -> Path:
    """Generate the demo dataset once; concurrent callers (two app sessions) never see half of it."""
    from core.data.demo import generate_demo_dataset, is_complete_demo

    out_dir = Path(out_dir or demo_data_dir())
    if is_complete_demo(out_dir):
        return out_dir
    staging = out_dir.with_name(f"{out_dir.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    generate_demo_dataset(staging, progress=progress, **options)
    try:
        if out_dir.exists() and not is_complete_demo(out_dir):
            shutil.rmtree(out_dir)  # a leftover of an interrupted run
        staging.rename(out_dir)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not is_complete_demo(out_dir):
            raise
    return out_dir


def create_dataset(data_dir, split: str = "train", transform=None, val_ratio: float = 0.2,
                   seed: int = 42, age_edges=DEFAULT_AGE_EDGES, reader=read_image, scan=None):
    """A Dataset for 'train', 'val' (split by person), 'all' (every train image) or 'eval'."""
    if split not in SPLITS:
        raise ConfigError.of("errors_data.split_choice", splits=", ".join(SPLITS), split=split)
    if split == "eval":
        return MaskEvalDataset(data_dir, read_eval(data_dir), transform=transform, reader=reader)
    scan = scan or scan_train(data_dir, age_edges=age_edges)
    images = scan.images
    if split != "all":
        train_images, val_images = split_by_profile(images, val_ratio=val_ratio, seed=seed)
        images = train_images if split == "train" else val_images
    return MaskTrainDataset(scan.data_dir, images, transform=transform, reader=reader)
