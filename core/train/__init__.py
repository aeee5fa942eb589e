"""Training: models, losses, metrics, the trainer, run directories, inference and submissions.

    create_model(model_config)            core.train.models
    train_run(config, resume_dir=None)    core.train.trainer   (what `python -m core train` calls)
    predict(run_dir, data_dir, ...)       core.train.predict   (what `python -m core predict` calls)
    predict_val_scores(run_dir, ...)      core.train.predict   (validation probabilities: out-of-fold)
    create_run_data(config, data_dir)     core.train.run_data  (scan, split, datasets of a run)
    resume_config(run_dir, overrides)     core.train.checkpoints
    list_runs / read_status / read_metrics  core.train.runs    (no torch: safe for pages)
    validate_submission                   core.train.submission (no torch)
    write_suspects_to_relabel             core.train.noise

Names are imported on first use so that a page reading runs does not import torch.
"""
from __future__ import annotations

import importlib

_HOMES = {
    "create_model": "core.train.models", "create_loss": "core.train.losses",
    "classification_metrics": "core.train.metrics", "train_run": "core.train.trainer",
    "predict": "core.train.predict", "predict_val_scores": "core.train.predict",
    "create_run_data": "core.train.run_data", "resume_config": "core.train.checkpoints",
    "list_runs": "core.train.runs", "read_status": "core.train.runs",
    "read_metrics": "core.train.runs", "validate_submission": "core.train.submission",
    "write_suspects_to_relabel": "core.train.noise", "read_suspects": "core.train.noise",
}

__all__ = list(_HOMES)


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'core.train' has no attribute {name!r}")
