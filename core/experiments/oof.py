"""A run's predictions on its own validation images, kept beside it as `val_probs.npz`
{paths (relative to data.dir), labels, probs (N x 18)}: what comparisons, OOF scores and ensembles read.

The model is the run's final epoch (last.pt), not best.pt: best.pt was picked on these same images, which
would flatter every variant by a different amount. Labels use the competition's age bands (30/60)
whatever the run trained with, so that an age-edge variant is scored on the grader's classes
(core.train.predict.predict_val_scores: the split, pipeline and labels the trainer validated on).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

VAL_PROBS_FILE = "val_probs.npz"


def predict_val_probs(run_dir, checkpoint: str = "last", tta: bool = False) -> dict:
    """{paths, labels, probs} of the run's validation images (data split exactly as in its training)."""
    from core.train.predict import predict_val_scores

    result = predict_val_scores(run_dir, checkpoint, tta=tta)
    return {"paths": np.asarray(result["paths"]).astype(str), "labels": np.asarray(result["labels"], np.int64),
            "probs": result["scores"].astype(np.float32)}


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
