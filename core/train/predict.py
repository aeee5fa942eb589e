"""Inference with a run's checkpoint: the eval set into a validated submission.csv (default: in the run
directory), and the run's validation set as probabilities (out-of-fold predictions for the experiments
engine; the per-image answers behind the Runs page's confusion cells). Optional flip TTA.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from core.errors import ConfigError
from core.progress import report
from core.train import runs
from core.train.checkpoints import load_checkpoint, resume_config
from core.train.distributed import resolve_device
from core.train.inputs import images_to_device
from core.train.leaderboard import VAL_PREDICTIONS
from core.train.models import create_model
from core.train.run_data import create_eval_dataset, create_loader_for, create_val_dataset
from core.train.submission import read_info, write_submission, write_submission_record

CHECKPOINTS = {"best": runs.BEST_CHECKPOINT, "last": runs.LAST_CHECKPOINT}


def load_run_model(run_dir, checkpoint: str = "best", device=None):
    """(model in eval mode on `device`, config, checkpoint dict) of a run."""
    if checkpoint not in CHECKPOINTS:
        raise ConfigError(f"--checkpoint: must be best or last, got {checkpoint!r}")
    run_dir = Path(run_dir)
    config = resume_config(run_dir)
    state = load_checkpoint(run_dir / CHECKPOINTS[checkpoint])
    if int(state.get("epoch", 0)) == 0:  # last.pt is written at the start, before any training
        raise ConfigError(f"{run_dir / runs.LAST_CHECKPOINT}: no epoch finished yet; nothing to predict with")
    model = create_model(config.model)
    model.load_state_dict(state["model"])
    device = device or resolve_device(config.train.device)
    model = model.to(device).eval()
    if device.type == "cuda" and config.train.channels_last:  # the images come channels_last too
        model = model.to(memory_format=torch.channels_last)
    return model, config, state


@torch.no_grad()
def predict_scores(model, loader, device, tta: bool = False, progress=None, amp: bool = True,
                   channels_last: bool = True) -> np.ndarray:
    """Softmax probabilities (N x 18) in loader order; TTA averages with the horizontally flipped image.

    `amp` and `channels_last` (the run's train.amp / train.channels_last) apply on CUDA only, as in training.
    """
    cuda = device.type == "cuda"
    amp_dtype = (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16) if cuda and amp else None
    scores, done = [], 0
    for batch in loader:
        images = images_to_device(batch["image"], device, channels_last=cuda and channels_last)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            probabilities = model(images).float().softmax(1)
            if tta:
                probabilities = (probabilities + model(torch.flip(images, dims=[3])).float().softmax(1)) / 2
        scores.append(probabilities.cpu())
        done += len(images)
        report(progress, done, len(loader.dataset))
    return torch.cat(scores).numpy() if scores else np.zeros((0, 18), np.float32)


def _scores(model, config, dataset, tta: bool, progress=None, batch_size: int | None = None) -> np.ndarray:
    device = next(model.parameters()).device
    loader = create_loader_for(dataset, config, train=False, batch_size=batch_size)
    return predict_scores(model, loader, device, tta=tta, progress=progress, amp=config.train.amp,
                          channels_last=config.train.channels_last)


def predict_val_scores(run_dir, checkpoint: str = "best", tta: bool = False, data_dir=None, progress=None,
                       batch_size: int | None = None) -> dict:
    """A run's validation set through its checkpoint: {"scores": N x 18 probabilities, "paths", "labels"
    (competition labels, the ones the run was scored on), "epoch"}, rows in the validation set's order.

    The split, pipeline and labels are the run's own (core.train.run_data), as training validated on them;
    `data_dir` defaults to the run's data.dir.
    """
    model, config, state = load_run_model(run_dir, checkpoint)
    dataset = create_val_dataset(config, data_dir)
    scores = _scores(model, config, dataset, tta, progress, batch_size)
    return {"scores": scores, "paths": dataset.images["path"].to_numpy(), "labels": dataset.labels.copy(),
            "epoch": int(state.get("epoch", 0))}


def compute_val_predictions(run_dir, progress=None) -> pd.DataFrame:
    """The best checkpoint's answer for each validation image (path, label, pred, epoch), kept in the run
    directory as val_predictions.csv for the Runs page's confusion cells."""
    result = predict_val_scores(run_dir, "best", progress=progress)
    table = pd.DataFrame({"path": result["paths"], "label": result["labels"], "pred": result["scores"].argmax(1),
                          "epoch": result["epoch"]})
    table.to_csv(Path(run_dir) / VAL_PREDICTIONS, index=False)
    return table


def predict(run_dir, data_dir=None, out=None, checkpoint: str = "best", tta: bool = False,
            batch_size: int | None = None, progress=None) -> dict:
    """Write the submission of a run; returns {path, rows, tta, checkpoint, epoch, class_counts}.

    `data_dir` defaults to the run's data.dir; `out` to RUN_DIR/submission.csv. The same facts go to a record
    beside it (submission.json), so the Submission page can say later which checkpoint and TTA made the file.
    """
    out = Path(out) if out else Path(run_dir) / runs.SUBMISSION_FILE
    if out.is_dir():
        raise ConfigError(f"--out {out}: is a directory; give the file to write, e.g. {out / runs.SUBMISSION_FILE}")
    model, config, state = load_run_model(run_dir, checkpoint)
    data_dir = Path(data_dir or config.data.dir).expanduser()
    answers = _scores(model, config, create_eval_dataset(config, data_dir), tta, progress, batch_size).argmax(1)
    write_submission(read_info(data_dir), answers.tolist(), out)
    result = {"path": str(out), "rows": int(len(answers)), "tta": bool(tta), "checkpoint": checkpoint,
              "epoch": int(state.get("epoch", 0)), "class_counts": np.bincount(answers, minlength=18).tolist()}
    write_submission_record(out, {**result, "run": str(run_dir), "data_dir": str(data_dir)})  # what made the file
    return result
