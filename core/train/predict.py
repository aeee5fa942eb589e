"""Inference: a run's checkpoint over the eval set (info.csv order), optional flip TTA, a validated
submission.csv (default: in the run directory)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from core.data.datasets import MaskEvalDataset
from core.data.layout import read_eval
from core.errors import ConfigError
from core.progress import report
from core.train import runs
from core.train.inputs import create_reader, create_transforms, images_to_device
from core.train.models import create_model
from core.train.submission import read_info, write_submission
from core.train.distributed import DistInfo, resolve_device
from core.train.trainer import create_loader_for, load_checkpoint, resume_config

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


def predict(run_dir, data_dir=None, out=None, checkpoint: str = "best", tta: bool = False,
            batch_size: int | None = None, progress=None) -> dict:
    """Write the submission of a run; returns {path, rows, tta, checkpoint, epoch, class_counts}.

    `data_dir` defaults to the run's data.dir; `out` to RUN_DIR/submission.csv.
    """
    model, config, state = load_run_model(run_dir, checkpoint)
    device = next(model.parameters()).device
    data_dir = Path(data_dir or config.data.dir).expanduser()
    _, val_transform = create_transforms(config)
    eval_images = read_eval(data_dir)
    # The loader's reader for the val pipeline; with loader.cache=memmap the eval images get a cache of their own.
    reader = create_reader(config, val_transform, paths=[str(data_dir / path) for path in eval_images["path"]],
                           data_dir=data_dir)
    dataset = MaskEvalDataset(data_dir, eval_images, transform=val_transform, reader=reader)
    if batch_size:
        from dataclasses import replace

        config = replace(config, loader=replace(config.loader, batch_size=batch_size))
    loader = create_loader_for(dataset, config, train=False, dist_info=DistInfo(0, 1, 0, device))
    answers = predict_scores(model, loader, device, tta=tta, progress=progress, amp=config.train.amp,
                             channels_last=config.train.channels_last).argmax(1)
    out = Path(out) if out else Path(run_dir) / runs.SUBMISSION_FILE
    write_submission(read_info(data_dir), answers.tolist(), out)
    return {"path": str(out), "rows": int(len(answers)), "tta": bool(tta), "checkpoint": checkpoint,
            "epoch": int(state.get("epoch", 0)), "class_counts": np.bincount(answers, minlength=18).tolist()}
