"""Averages of weights over a run, beside the raw weights: an EMA updated every optimizer step
(timm's ModelEmaV3), and, at the end of the run, `averaged.pt` from torch.optim.swa_utils.AveragedModel:
either SWA over the last epochs or the mean of the best checkpoints (their files kept as best-<epoch>.pt
until then). An average's BatchNorm statistics are recomputed on the training images, as SWA requires.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, update_bn

from core.train.runs import AVERAGED_CHECKPOINT  # noqa: F401 — the run directory's files are named there
TOP_CHECKPOINT = "best-{epoch}.pt"  # weights of one of the train.average_epochs best epochs (average=best)


def create_ema(model: nn.Module, decay: float):
    """timm's EMA of `model` (the plain model, before DDP/compile wrappers), on the same device."""
    from timm.utils import ModelEmaV3

    return ModelEmaV3(model, decay=decay)


class WeightAverager:
    """What train.average asks for, kept across epochs and resumes: the running SWA average, or the list of
    the best epochs and their weight files."""

    def __init__(self, mode: str, count: int, epochs: int, model: nn.Module, run_dir: Path | None):
        self.mode, self.count, self.epochs, self.run_dir = mode, count, epochs, run_dir
        self.swa = AveragedModel(model) if mode == "swa" else None
        self.top: list[tuple[float, int]] = []  # (val F1, epoch), best first

    def end_epoch(self, epoch: int, model: nn.Module, score: float, save_weights) -> None:
        """Fold `model` after `epoch` into the average; `save_weights(path)` writes its weights (rank 0)."""
        if self.mode == "swa" and epoch > self.epochs - self.count:
            self.swa.update_parameters(model)
        elif self.mode == "best":
            self.top.append((score, epoch))
            self.top.sort(key=lambda item: (-item[0], item[1]))
            kept = {e for _, e in self.top[:self.count]}
            if epoch in kept and save_weights is not None:
                save_weights(self.run_dir / TOP_CHECKPOINT.format(epoch=epoch))
            for _, dropped in self.top[self.count:]:
                if save_weights is not None:
                    (self.run_dir / TOP_CHECKPOINT.format(epoch=dropped)).unlink(missing_ok=True)
            self.top = self.top[:self.count]

    def averaged_model(self, model: nn.Module, load_weights) -> AveragedModel | None:
        """The average at the end of the run (None when nothing was averaged). `load_weights(path)` reads
        one best-<epoch>.pt; `model` is a scratch copy of the architecture."""
        if self.mode == "swa":
            return self.swa if int(self.swa.n_averaged) > 0 else None
        if self.mode == "best" and self.top:
            average = None
            for _, epoch in self.top:
                model.load_state_dict(load_weights(self.run_dir / TOP_CHECKPOINT.format(epoch=epoch)))
                if average is None:
                    average = AveragedModel(model)
                average.update_parameters(model)
            return average
        return None

    def state_dict(self) -> dict:
        return {"swa": self.swa.state_dict() if self.swa is not None else None,
                "top": [[float(score), int(epoch)] for score, epoch in self.top]}

    def load_state_dict(self, state: dict) -> None:
        if self.swa is not None and state.get("swa") is not None:
            self.swa.load_state_dict(state["swa"])
        self.top = [(float(score), int(epoch)) for score, epoch in state.get("top") or []]


def recompute_batchnorm(average: AveragedModel, images) -> None:
    """BatchNorm statistics of the averaged weights, from one pass over `images` (batches on the device)."""
    with torch.no_grad():
        update_bn(images, average)
