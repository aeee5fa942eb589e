"""Inference with a run's checkpoint: the eval set into a validated submission.csv (default: in the run
directory), and the run's validation set as probabilities (out-of-fold predictions for the experiments
engine; the per-image answers behind the Runs page's confusion cells). TTA by name (core.train.tta);
the raw or EMA weights of a checkpoint, or the run's averaged weights.
"""
from __future__ import annotations

import dataclasses
import json
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
from core.train.metrics import classification_metrics
from core.train.models import create_model
from core.train.run_data import create_eval_dataset, create_loader_for, create_val_dataset, val_normalize
from core.train.submission import read_info, write_submission, write_submission_record
from core.train.tta import TTA_CHOICES, TTA_SCORES_FILE, TTA_VIEWS, tta_name, tta_probabilities

CHECKPOINTS = {"best": runs.BEST_CHECKPOINT, "last": runs.LAST_CHECKPOINT,
               "averaged": runs.AVERAGED_CHECKPOINT}
WEIGHTS = ("auto", "raw", "ema")  # auto = the EMA weights where they scored a higher val F1 in that checkpoint


def checkpoint_weights(state: dict, weights: str = "auto") -> tuple[dict, str]:
    """(state dict, "raw" or "ema") of a checkpoint for `weights`; ConfigError when EMA is asked of a run
    trained without it."""
    if weights not in WEIGHTS:
        raise ConfigError.of("errors_train.weights_choice", choices=", ".join(WEIGHTS), weights=weights)
    ema = state.get("ema")
    if weights == "ema" and ema is None:
        raise ConfigError.of("errors_train.no_ema")
    better = ema is not None and (state.get("ema_val_f1") or -1.0) > (state.get("val_f1") or -1.0)
    if weights == "ema" or (weights == "auto" and better):
        return ema, "ema"
    return state["model"], "raw"


def load_run_model(run_dir, checkpoint: str = "best", device=None, weights: str = "auto"):
    """(model in eval mode on `device`, config, checkpoint dict) of a run; the dict's "weights" says
    which weights were loaded (raw or ema)."""
    if checkpoint not in CHECKPOINTS:
        raise ConfigError.of("errors_train.checkpoint_choice", checkpoint=checkpoint)
    run_dir = Path(run_dir)
    config = resume_config(run_dir)
    if checkpoint == "averaged" and not (run_dir / runs.AVERAGED_CHECKPOINT).exists():
        raise ConfigError.of("errors_train.no_averaged", path=run_dir / runs.AVERAGED_CHECKPOINT)
    state = load_checkpoint(run_dir / CHECKPOINTS[checkpoint])
    if int(state.get("epoch", 0)) == 0:  # last.pt is written at the start, before any training
        raise ConfigError.of("errors_train.no_epoch", path=run_dir / runs.LAST_CHECKPOINT)
    model = create_model(dataclasses.replace(config.model, pretrained=""))  # the checkpoint has the weights
    weights_state, state["weights"] = checkpoint_weights(state, weights)
    model.load_state_dict(weights_state)
    device = device or resolve_device(config.train.device)
    model = model.to(device).eval()
    if device.type == "cuda" and config.train.channels_last:  # the images come channels_last too
        model = model.to(memory_format=torch.channels_last)
    return model, config, state


@torch.no_grad()
def predict_scores(model, loader, device, tta: bool | str = False, progress=None, amp: bool = True,
                   channels_last: bool = True, normalize=None) -> np.ndarray:
    """Softmax probabilities (N x 18) in loader order, averaged over the views of `tta` (a name of
    core.train.tta; True = flip, False = none).

    `amp` and `channels_last` (the run's train.amp / train.channels_last) apply on CUDA only, as in training;
    `normalize` finishes uint8 batches on the device (run_data.val_normalize; default ImageNet's).
    """
    cuda = device.type == "cuda"
    amp_dtype = (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16) if cuda and amp else None
    tta = tta_name(tta)
    scores, done = [], 0
    for batch in loader:
        images = images_to_device(batch["image"], device, cuda and channels_last, normalize)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            probabilities = tta_probabilities(model, images, tta)
        scores.append(probabilities.cpu())
        done += len(images)
        report(progress, done, len(loader.dataset))
    return torch.cat(scores).numpy() if scores else np.zeros((0, 18), np.float32)


def _scores(model, config, dataset, tta, progress=None, batch_size: int | None = None) -> np.ndarray:
    device = next(model.parameters()).device
    loader = create_loader_for(dataset, config, train=False, batch_size=batch_size)
    return predict_scores(model, loader, device, tta=tta, progress=progress, amp=config.train.amp,
                          channels_last=config.train.channels_last, normalize=val_normalize(config))


def predict_val_scores(run_dir, checkpoint: str = "best", tta: bool | str = False, data_dir=None, progress=None,
                       batch_size: int | None = None, weights: str = "auto") -> dict:
    """A run's validation set through its checkpoint: {"scores": N x 18 probabilities, "paths", "labels"
    (competition labels, the ones the run was scored on), "epoch"}, rows in the validation set's order.

    The split, pipeline and labels are the run's own (core.train.run_data), as training validated on them;
    `data_dir` defaults to the run's data.dir.
    """
    model, config, state = load_run_model(run_dir, checkpoint, weights=weights)
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


def predict_eval_scores(run_dir, data_dir=None, checkpoint: str = "best", tta: bool | str = False, progress=None,
                        batch_size: int | None = None, weights: str = "auto") -> tuple[np.ndarray, dict]:
    """(N x 18 probabilities over the eval set in info.csv order, the checkpoint) of a run;
    `data_dir` defaults to the run's data.dir."""
    tta = tta_name(tta)  # an unknown name stops before the model is loaded
    model, config, state = load_run_model(run_dir, checkpoint, weights=weights)
    data_dir = Path(data_dir or config.data.dir).expanduser()
    return _scores(model, config, create_eval_dataset(config, data_dir), tta, progress, batch_size), state


def tta_val_f1(run_dir, checkpoint: str = "best", weights: str = "auto", data_dir=None, progress=None) -> dict:
    """Validation macro F1 of each TTA choice with one checkpoint ({choice: f1}, competition labels); also
    kept in RUN_DIR/tta_val_f1.json for the Submission page."""
    model, config, state = load_run_model(run_dir, checkpoint, weights=weights)
    dataset = create_val_dataset(config, data_dir)
    if len(dataset) == 0:
        raise ConfigError.of("errors_train.no_val_tta", run_dir=run_dir)
    views = sum(len(TTA_VIEWS[name]) for name in TTA_CHOICES)
    result, done = {}, 0
    for name in TTA_CHOICES:
        def step(count, total, name=name):  # one bar over every choice, weighted by its forward passes
            report(progress, done + count * len(TTA_VIEWS[name]), total * views)

        scores = _scores(model, config, dataset, name, step if progress else None)
        done += len(dataset) * len(TTA_VIEWS[name])
        result[name] = round(float(classification_metrics(dataset.labels, scores.argmax(1))["f1"]), 6)
    record = {"checkpoint": checkpoint, "weights": state["weights"], "epoch": int(state.get("epoch", 0)),
              "val_f1": result}
    (Path(run_dir) / TTA_SCORES_FILE).write_text(json.dumps(record), encoding="utf-8")
    return record


def predict(run_dir, data_dir=None, out=None, checkpoint: str = "best", tta: bool | str = False,
            batch_size: int | None = None, progress=None, weights: str = "auto") -> dict:
    """Write the submission of a run; returns {path, rows, tta (the choice's name), checkpoint, weights, epoch,
    class_counts}.

    `data_dir` defaults to the run's data.dir; `out` to RUN_DIR/submission.csv. The same facts go to a record
    beside it (submission.json), so the Submission page can say later which checkpoint and TTA made the file.
    """
    out = Path(out) if out else Path(run_dir) / runs.SUBMISSION_FILE
    if out.is_dir():
        raise ConfigError.of("errors_train.out_is_dir", out=out, example=out / runs.SUBMISSION_FILE)
    tta = tta_name(tta)
    data_dir = Path(data_dir or resume_config(run_dir).data.dir).expanduser()
    scores, state = predict_eval_scores(run_dir, data_dir, checkpoint, tta, progress, batch_size, weights)
    answers = scores.argmax(1)
    write_submission(read_info(data_dir), answers.tolist(), out)
    result = {"path": str(out), "rows": int(len(answers)), "tta": tta, "checkpoint": checkpoint,
              "weights": state["weights"],
              "epoch": int(state.get("epoch", 0)), "class_counts": np.bincount(answers, minlength=18).tolist()}
    write_submission_record(out, {**result, "run": str(run_dir), "data_dir": str(data_dir)})  # what made the file
    return result
