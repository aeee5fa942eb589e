"""torchrun: two CPU processes (gloo) train one short epoch under DDP; rank 0 alone writes the run."""
from __future__ import annotations

import math
import subprocess
from pathlib import Path

from core.config import save_config
from core.data.layout import scan_train
from core.data.split import split_by_profile
from core.train import runs
from tests.test_train_support import REPO, demo40_dir, fast_config, subprocess_env

TORCHRUN = Path(REPO) / ".venv" / "bin" / "torchrun"


def test_torchrun_two_processes_write_one_run(tmp_path_factory, tmp_path):
    config = fast_config(demo40_dir(tmp_path_factory), tmp_path / "runs", "train.epochs=1", "run.name=ddp")
    path = save_config(config, tmp_path / "ddp.yaml")
    result = subprocess.run([str(TORCHRUN), "--standalone", "--nproc_per_node=2", "-m", "core", "train",
                             "--config", str(path)], cwd=REPO, env={**subprocess_env(), "OMP_NUM_THREADS": "1"},
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["ddp"]  # one run, not one per rank
    status = runs.read_status(tmp_path / "runs" / "ddp")
    assert status["state"] == "finished" and status["device"] == "cpu x2 processes"
    epoch = runs.read_metrics(tmp_path / "runs" / "ddp", "epoch")
    assert len(epoch) == 1
    # Each rank trained on half the images; validation gathered from both ranks covers every image once.
    train_images, val_images = split_by_profile(scan_train(config.data.dir).images, config.data.val_ratio,
                                                config.data.split_seed)
    assert status["steps_per_epoch"] == math.ceil(math.ceil(len(train_images) / 2) / config.loader.batch_size)
    assert sum(map(sum, epoch[0]["confusion"])) == len(val_images)
