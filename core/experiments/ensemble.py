"""Soft voting: the (weighted) mean of several runs' eval probabilities -> one validated submission.csv.

Members are run directories, or every finished run of an experiment's variant (its folds and seeds).
They must agree on data.age_edges (the meaning of the 18 classes) and data.image_size; a member that
does not is named before anything is predicted. The validation F1 is measured where the members'
validation predictions (val_probs.npz) exist: each image is scored by the weighted mean of the members
that validated it, so the folds of a variant give their out-of-fold F1 and runs on one split their
ensemble's F1 on it.
"""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np

from core.errors import ConfigError
from core.experiments.oof import read_val_probs
from core.train import runs
from core.train.metrics import macro_f1

PROBS_FILE = "probs.npy"
ENSEMBLE_FILE = "ensemble.json"


def ensemble_members(run_dirs=None, experiment=None, variant=None, weights=None, root=None) -> list[tuple[Path, float]]:
    """[(run_dir, weight)] from explicit run directories and/or an experiment's variant."""
    from core.experiments.queue import experiment_dir, read_queue

    members = [Path(run) for run in run_dirs or []]
    if experiment:
        items = read_queue(experiment_dir(experiment, root))
        variants = sorted({item["variant"] for item in items})
        if variant not in variants:
            raise ConfigError.of("errors_experiments.ensemble_not_a_variant", variant=variant, experiment=experiment,
                                 variants=", ".join(variants))
        members += [Path(item["run_dir"]) for item in items if item["variant"] == variant
                    and item["state"] == "finished"]
    if not members:
        raise ConfigError.of("errors_experiments.ensemble_no_runs")
    for run_dir in members:
        if not (run_dir / runs.CONFIG_FILE).exists():
            raise ConfigError.of("errors_experiments.ensemble_not_a_run", path=run_dir, config=runs.CONFIG_FILE)
    weights = [1.0] * len(members) if weights is None else [float(w) for w in weights]
    if len(weights) != len(members):
        raise ConfigError.of("errors_experiments.ensemble_weights_count", weights=len(weights), runs=len(members))
    if min(weights) < 0 or sum(weights) <= 0:
        raise ConfigError.of("errors_experiments.ensemble_weights_values", weights=weights)
    return list(zip(members, weights))


def check_compatible(members) -> None:
    """The members must share the class definition (age edges) and the input size."""
    from core.train.checkpoints import resume_config

    first_dir, first = None, None
    for run_dir, _ in members:
        config = resume_config(run_dir)
        if first is None:
            first_dir, first = run_dir, config
            continue
        for key, mine, theirs in (("data.age_edges", config.data.age_edges, first.data.age_edges),
                                  ("data.image_size", config.data.image_size, first.data.image_size)):
            if tuple(mine) != tuple(theirs):
                raise ConfigError.of("errors_experiments.ensemble_disagree", path=run_dir, setting=key, mine=list(mine),
                                     first=first_dir, theirs=list(theirs))


def eval_probabilities(run_dir, data_dir=None, checkpoint: str = "best", tta: bool = False) -> np.ndarray:
    """One run's softmax probabilities over the eval set, in info.csv's order."""
    from core.train.predict import predict_eval_scores

    return predict_eval_scores(run_dir, data_dir, checkpoint, tta)[0]


def ensemble_val_f1(members) -> tuple[float | None, int]:
    """(macro F1, images) of the weighted mean over the members that validated each image."""
    totals, weights, labels = {}, {}, {}
    for run_dir, weight in members:
        probs = read_val_probs(run_dir)
        if probs is None:
            return None, 0
        for path, label, row in zip(probs["paths"], probs["labels"], probs["probs"]):
            totals[path] = totals.get(path, 0) + weight * row
            weights[path] = weights.get(path, 0) + weight
            labels[path] = label
    scored = [path for path in totals if weights[path] > 0]
    if not scored:
        return None, 0
    predictions = np.array([(totals[path] / weights[path]).argmax() for path in scored])
    return macro_f1(np.array([labels[path] for path in scored]), predictions), len(scored)


def run_ensemble(members, data_dir=None, out=None, tta: bool = False, checkpoint: str = "best", root=None) -> dict:
    """Average the members' eval probabilities (weighted), write and validate submission.csv beside
    probs.npy and ensemble.json; returns {path, rows, members, weights, val_f1, val_images, class_counts}."""
    from core.train.submission import read_info, write_submission
    from core.train.checkpoints import resume_config

    check_compatible(members)
    data_dir = Path(data_dir or resume_config(members[0][0]).data.dir).expanduser()
    info = read_info(data_dir)
    total = sum(weight for _, weight in members)
    mean = None
    for run_dir, weight in members:
        probs = eval_probabilities(run_dir, data_dir, checkpoint, tta).astype(np.float64)
        mean = weight * probs if mean is None else mean + weight * probs
    mean /= total
    if out:
        out = Path(out)
    else:
        out = runs.runs_root(root) / "ensembles" / f"{datetime.now():%Y%m%d-%H%M%S}" / runs.SUBMISSION_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    answers = mean.argmax(1)
    write_submission(info, answers.tolist(), out)
    np.save(out.parent / PROBS_FILE, mean.astype(np.float32))
    val_f1, val_images = ensemble_val_f1(members)
    result = {"path": str(out), "rows": int(len(answers)), "members": [str(run) for run, _ in members],
              "weights": [weight for _, weight in members], "tta": bool(tta), "checkpoint": checkpoint,
              "val_f1": val_f1, "val_images": val_images,
              "class_counts": np.bincount(answers, minlength=18).tolist()}
    (out.parent / ENSEMBLE_FILE).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return result
