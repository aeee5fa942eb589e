"""A tiny finished training run for the Runs and Submission page tests: trained once per test process with
the real CLI, then copied into each test's own runs folder."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
TINY_SETTINGS = {"data.image_size": [64, 48], "model.name": "small_cnn", "model.width": 8,
                 "loader.batch_size": 16, "loader.num_workers": 0, "train.log_every": 1, "train.amp": False}
_trained: dict = {}


def tiny_config(data_dir, root, name: str, epochs: int = 2) -> dict:
    config = {"data": {"dir": str(data_dir)}, "train": {"epochs": epochs}, "run": {"root": str(root), "name": name}}
    for key, value in TINY_SETTINGS.items():
        section, field = key.split(".")
        config.setdefault(section, {})[field] = value
    return config


def finished_run(data_dir, runs_root, name: str = "tiny") -> Path:
    """runs_root/name: a copy of a 2-epoch small_cnn run on `data_dir` (trained on first use)."""
    key = str(data_dir)
    if key not in _trained:
        cache = Path(data_dir).parent / "tiny-run-cache"
        config_path = cache / "tiny.yaml"
        if not (cache / "tiny" / "best.pt").exists():
            shutil.rmtree(cache, ignore_errors=True)
            cache.mkdir(parents=True)
            config_path.write_text(yaml.safe_dump(tiny_config(data_dir, cache, "tiny")))
            subprocess.run([sys.executable, "-m", "core", "train", "--config", str(config_path)], cwd=REPO_ROOT,
                           check=True, capture_output=True, timeout=180)
        _trained[key] = cache / "tiny"
    target = Path(runs_root) / name
    shutil.copytree(_trained[key], target)
    return target
