"""Run directories written by hand, as the trainer writes them (no tests here)."""
from __future__ import annotations

import json

import yaml


def epoch_line(epoch, val_f1, val_acc=0.5, epoch_s=10.0, confusion=None):
    confusion = confusion or [[0] * 18 for _ in range(18)]
    return {"kind": "epoch", "epoch": epoch, "train_loss": 2.0 / epoch, "train_acc": 0.4, "train_f1": 0.3,
            "val_loss": 2.5 / epoch, "val_acc": val_acc, "val_f1": val_f1, "per_class_f1": [0.25] * 18,
            "confusion": confusion, "lr": 0.001, "elapsed_s": 10.0 * epoch, "epoch_s": epoch_s}


def step_line(epoch, step, steps=10, elapsed=1.0):
    return {"kind": "step", "epoch": epoch, "step": step, "steps_per_epoch": steps, "loss": 1.0 / step,
            "lr": 0.001, "elapsed_s": elapsed}


def write_run(root, name, status, lines, config=None, partial=False):
    run_dir = root / name
    run_dir.mkdir(parents=True)
    (run_dir / "status.json").write_text(json.dumps(status))
    text = "".join(json.dumps(line) + "\n" for line in lines)
    if partial:
        text += '{"kind": "step", "epo'  # the trainer is half-way through writing a line
    (run_dir / "metrics.jsonl").write_text(text)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config or {"model": {"name": "small_cnn"}}))
    return run_dir
