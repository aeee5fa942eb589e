"""A run's predictions on its own validation images, kept beside it as `val_probs.npz`
{paths (relative to data.dir), labels, probs (N x 18)}: what comparisons, OOF scores and ensembles read.

The model is the run's final epoch (last.pt), not best.pt: best.pt was picked on these same images, which
would flatter every variant by a different amount. Labels use the competition's age bands (30/60)
whatever the run trained with, so that an age-edge variant is scored on the grader's classes.
(Until the trainer offers its own "predict my validation set", this module builds that set itself; the
split is the trainer's, core.data.folds.train_val_split.)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from core.labels import DEFAULT_AGE_EDGES

VAL_PROBS_FILE = "val_probs.npz"


def predict_val_probs(run_dir, checkpoint: str = "last", tta: bool = False) -> dict:
    """{paths, labels, probs} of the run's validation images (data split exactly as in its training)."""
    from core.data.datasets import MaskTrainDataset
    from core.data.folds import train_val_split
    from core.data.layout import scan_train
    from core.train.distributed import DistInfo
    from core.train.inputs import create_reader, create_transforms
    from core.train.predict import load_run_model, predict_scores
    from core.train.trainer import create_loader_for, resolve_data_dir

    model, config, _ = load_run_model(run_dir, checkpoint)
    device = next(model.parameters()).device
    scan = scan_train(resolve_data_dir(config), age_edges=DEFAULT_AGE_EDGES)
    _, val_images = train_val_split(scan.images, config.data)
    _, val_transform = create_transforms(config)
    # All train images, as the trainer passes them: with loader.cache=memmap the run's own cache is reused.
    reader = create_reader(config, val_transform, paths=[str(scan.data_dir / p) for p in scan.images["path"]])
    dataset = MaskTrainDataset(scan.data_dir, val_images, transform=val_transform, reader=reader)
    loader = create_loader_for(dataset, config, train=False, dist_info=DistInfo(0, 1, 0, device))
    probs = predict_scores(model, loader, device, tta=tta, amp=config.train.amp,
                           channels_last=config.train.channels_last)
    return {"paths": val_images["path"].to_numpy().astype(str), "labels": dataset.labels.astype(np.int64),
            "probs": probs.astype(np.float32)}


def write_val_probs(run_dir, checkpoint: str = "last") -> Path:
    result = predict_val_probs(run_dir, checkpoint)
    path = Path(run_dir) / VAL_PROBS_FILE
    tmp = path.with_name(f".{path.stem}.tmp.npz")
    np.savez(tmp, **result)
    tmp.replace(path)
    return path


def read_val_probs(run_dir) -> dict | None:
    path = Path(run_dir) / VAL_PROBS_FILE
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as data:
        return {"paths": data["paths"].astype(str), "labels": data["labels"], "probs": data["probs"]}


def out_of_fold(parts: list[dict]) -> dict:
    """The folds' validation predictions joined, sorted by path; every image must appear exactly once."""
    paths = np.concatenate([part["paths"] for part in parts])
    order = np.argsort(paths, kind="stable")
    paths = paths[order]
    if len(paths) > 1 and (paths[1:] == paths[:-1]).any():
        duplicate = paths[1:][paths[1:] == paths[:-1]][0]
        raise ValueError(f"{duplicate}: predicted by more than one fold; these runs are not folds of one split")
    return {"paths": paths, "labels": np.concatenate([part["labels"] for part in parts])[order],
            "probs": np.concatenate([part["probs"] for part in parts])[order]}
