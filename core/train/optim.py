"""Optimizer and learning-rate schedule from the optim and sched config sections.

All schedules except 'plateau' step once per training step (smooth warm-up and decay however long an
epoch is); 'plateau' steps once per epoch on the validation macro F1.
"""
from __future__ import annotations

import copy
import math

import torch


def create_optimizer(config, parameters) -> torch.optim.Optimizer:
    """AdamW / Adam / SGD from an OptimConfig."""
    if config.name == "sgd":
        return torch.optim.SGD(parameters, lr=config.lr, momentum=config.momentum,
                               weight_decay=config.weight_decay, nesterov=config.momentum > 0)
    if config.name == "adam":
        return torch.optim.Adam(parameters, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.AdamW(parameters, lr=config.lr, weight_decay=config.weight_decay)


class StepSchedule:
    """Multiplier of the peak rate at a global step: linear warm-up, then cosine / step decay / constant.

    A class rather than a closure so that LambdaLR can be saved and restored with the checkpoint.
    """

    def __init__(self, name: str, total_steps: int, steps_per_epoch: int, warmup_epochs: float,
                 min_ratio: float, step_size: int, gamma: float):
        self.name, self.total_steps, self.steps_per_epoch = name, max(1, total_steps), max(1, steps_per_epoch)
        self.warmup_steps = int(round(warmup_epochs * self.steps_per_epoch))
        self.min_ratio, self.step_size, self.gamma = min_ratio, step_size, gamma

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        if self.name == "cosine":
            progress = min(1.0, (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps))
            return self.min_ratio + (1 - self.min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
        if self.name == "step":
            return self.gamma ** (step // self.steps_per_epoch // self.step_size)
        return 1.0


def create_scheduler(config, optimizer, epochs: int, steps_per_epoch: int, peak_lr: float):
    """(scheduler, per_step): per_step False means call scheduler.step(val_f1) once per epoch."""
    if config.name == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=config.gamma or 0.1,
                                                          patience=config.patience), False
    if config.name == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=peak_lr, epochs=epochs,
                                                   steps_per_epoch=max(1, steps_per_epoch)), True
    schedule = StepSchedule(config.name, epochs * steps_per_epoch, steps_per_epoch, config.warmup_epochs,
                            config.min_lr / peak_lr, config.step_size, config.gamma)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, schedule), True


# What a schedule plans from train.epochs (as opposed to how far it has gone): LambdaLR's StepSchedule,
# OneCycleLR's totals. load_state_dict would bring back the old run's plan.
_PLAN_ATTRIBUTES = ("lr_lambdas", "total_steps", "_schedule_phases")


def restore_scheduler(scheduler, state: dict) -> None:
    """Load a checkpoint's progress into `scheduler` but keep the plan it was built with from this config.

    Why: `--resume --set train.epochs=N` must stretch the schedule over the new epochs; the saved one ends
    at the old last step (cosine at min_lr: training on at LR 0; onecycle raises past its total). The
    optimizer's current rate is then recomputed for the restored step under the new plan.
    """
    plan = {name: copy.deepcopy(getattr(scheduler, name)) for name in _PLAN_ATTRIBUTES if hasattr(scheduler, name)}
    scheduler.load_state_dict(state)
    for name, value in plan.items():
        setattr(scheduler, name, value)
    if "lr_lambdas" in plan or "total_steps" in plan:
        scheduler.last_epoch -= 1
        scheduler.step()  # sets each group's lr for the restored step, as an uninterrupted run has it


def apply_peak_lr(scheduler, lr: float) -> None:
    """Make `lr` the peak rate of a restored LambdaLR schedule (`--resume --set optim.lr=...`) and set the
    current rate for the restored step under it; the checkpoint's optimizer state holds the old one."""
    scheduler.base_lrs = [lr for _ in scheduler.base_lrs]
    for group in scheduler.optimizer.param_groups:
        group["initial_lr"] = lr
    scheduler.last_epoch -= 1
    scheduler.step()


def current_lr(optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])
