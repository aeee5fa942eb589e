"""Checkpoint files and random state: save (write-then-rename), load with the next step named on
failure, every random stream a resume needs, and what a resume may change.

A checkpoint holds plain tensors and values only, so `torch.load(weights_only=True)` reads it.
"""
from __future__ import annotations

import errno
import random
from pathlib import Path

import numpy as np
import torch

from core.config import ExperimentConfig, config_to_dict
from core.errors import ConfigError, DataError
from core.train import runs

# numpy's legacy seeding takes 32-bit seeds; core.config bounds train.seed to the same range.
MAX_SEED = 2**32 - 1


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (MAX_SEED + 1))
    torch.manual_seed(seed)


def rng_state(loader) -> dict:
    """Every random stream the next epoch draws from (tensors and plain values only: weights_only loads)."""
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {"python": random.getstate(), "numpy": [name, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss,
                                                     gauss], "torch": torch.get_rng_state(),
             "loader": loader.generator.get_state() if loader.generator is not None else None}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict, loader) -> None:
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    name, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if state.get("loader") is not None and loader.generator is not None:
        loader.generator.set_state(state["loader"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: Path, state: dict) -> None:
    """torch.save to a temporary file, then rename: a crash mid-write never leaves a broken last.pt.

    A failed write (a full disk) removes the temporary file and raises DataError naming the file; the
    previous checkpoint at `path` is untouched.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        torch.save(state, tmp)
        tmp.replace(path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        if error.errno == errno.ENOSPC:
            raise DataError.of("errors_train.save_failed", path=path, name=path.name,
                               reason=DataError.of("errors_train.disk_full")) from None
        raise DataError.of("errors_train.save_failed", path=path, name=path.name,
                           reason=error.strerror or str(error)) from None


def load_checkpoint(path: Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise ConfigError.of("errors_train.no_checkpoint", path=path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a truncated or foreign file fails inside torch in many ways
        other = "last.pt" if path.name == "best.pt" else "best.pt"
        raise ConfigError.of("errors_train.checkpoint_unreadable", path=path, error=type(error).__name__,
                             other=other) from None


def restore_scaler(scaler, state: dict | None) -> None:
    """Load a GradScaler's state when there is one to load.

    Why: a CPU or bf16 run saves a disabled scaler's empty state; an fp16 resume on a GPU enables the
    scaler, and loading an empty state into an enabled one raises. It then starts from its default scale.
    """
    if state:
        scaler.load_state_dict(state)


def resume_config(run_dir, overrides=()) -> ExperimentConfig:
    """The config a run was started with (its config.yaml), with `overrides` such as train.epochs=20."""
    from core.config import load_config

    path = Path(run_dir) / runs.CONFIG_FILE
    if not path.exists():
        raise ConfigError.of("errors_train.not_run_dir", run_dir=run_dir, file=runs.CONFIG_FILE)
    return load_config(path, overrides)


# What a resume may change. Everything else shapes the model, its targets or the optimizer's state, which
# the checkpoint restores as they were: a change there would be silently ignored, so it is refused.
RESUMABLE_CHANGES = {
    "data": ("dir",),
    "augment": (),
    "loader": None,   # None: any key (except after a cancel mid-epoch, checked by the trainer)
    "model": ("pretrained", "partial_load"),  # the weights come from the checkpoint anyway
    "loss": (),
    "optim": ("lr", "grad_clip"),
    "sched": (),
    "train": ("epochs", "device", "amp", "channels_last", "compile", "early_stop_patience", "log_every",
              "noise_skip_epochs", "noise_min_fraction"),
    "run": None,
}
# optim.lr can be applied only where the schedule multiplies a base rate (LambdaLR); onecycle and plateau
# keep their own record of the rate in the checkpoint.
LR_CHANGE_SCHEDULES = ("none", "cosine", "step")


def check_resume_changes(saved: dict, config: ExperimentConfig, where) -> None:
    """ConfigError naming each setting a resume changes that it cannot apply (saved = the checkpoint's config)."""
    current = config_to_dict(config)
    refused = []
    for section, values in current.items():
        allowed = RESUMABLE_CHANGES.get(section, ())
        if allowed is None:
            continue
        for key, value in values.items():
            old = (saved.get(section) or {}).get(key, value)
            if old != value and key not in allowed:
                refused.append(f"{section}.{key} ({old!r} -> {value!r})")
    if (saved.get("optim") or {}).get("lr", config.optim.lr) != config.optim.lr \
            and config.sched.name not in LR_CHANGE_SCHEDULES:
        refused.append(f"optim.lr under sched.name={config.sched.name} (its checkpoint holds the old rate)")
    if refused:
        raise ConfigError.of("errors_train.resume_refused", where=where, changes="; ".join(refused))
