"""The trainer end to end on CPU: it learns the demo cues, writes the run directory format, survives a
cancel (SIGTERM) and resumes exactly where it stopped, and marks a crash as failed."""
from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest
import torch

from core.config import load_config, save_config
from core.errors import DataError
from core.labels import NUM_CLASSES
from core.train import runs
from core.train.trainer import train_run
from tests.test_train_support import PYTHON, REPO, demo40_dir, fast_config, subprocess_env, trained_run

CHANCE_F1 = 1 / NUM_CLASSES


def test_short_cpu_run_beats_chance_by_a_wide_margin(tmp_path_factory):
    status = runs.read_status(trained_run(tmp_path_factory))
    assert status["state"] == "finished"
    assert status["best_val_f1"] > 3.5 * CHANCE_F1
    last = runs.read_metrics(trained_run(tmp_path_factory), "epoch")[-1]
    assert last["val_acc"] > 0.3 and last["train_loss"] < runs.read_metrics(trained_run(tmp_path_factory), "epoch")[0]["train_loss"]


def test_run_directory_has_the_documented_format(tmp_path_factory):
    run_dir = trained_run(tmp_path_factory)
    assert load_config(run_dir / "config.yaml").train.epochs == 12
    status = runs.read_status(run_dir)
    assert {"state", "pid", "epoch", "epochs", "step", "steps_per_epoch", "best_val_f1", "best_epoch", "device",
            "model", "started_at", "updated_at", "error"} <= set(status)
    assert status["epoch"] == status["epochs"] == 12 and status["device"] == "cpu" and status["error"] is None
    epochs = runs.read_metrics(run_dir, "epoch")
    assert [e["epoch"] for e in epochs] == list(range(1, 13))
    assert {"train_loss", "train_acc", "train_f1", "val_loss", "val_acc", "val_f1", "lr", "elapsed_s",
            "epoch_s"} <= set(epochs[0])
    assert len(epochs[0]["per_class_f1"]) == NUM_CLASSES and len(epochs[0]["confusion"]) == NUM_CLASSES
    assert sum(map(sum, epochs[0]["confusion"])) == sum(map(sum, epochs[-1]["confusion"])) > 0  # every val image, each epoch
    steps = runs.read_metrics(run_dir, "step")
    assert steps and {"epoch", "step", "steps_per_epoch", "loss", "lr", "elapsed_s"} <= set(steps[0])
    assert max(e["val_f1"] for e in epochs) == pytest.approx(status["best_val_f1"], abs=1e-6)
    best = torch.load(run_dir / "best.pt", weights_only=True)
    assert best["epoch"] == status["best_epoch"]
    assert {"model", "optimizer", "scheduler", "scaler", "rng", "config", "best_val_f1"} <= set(best)
    suspects = (run_dir / "suspects.csv").read_text().splitlines()[0]
    assert suspects.startswith("path,given_label,given_name,predicted_label,predicted_name,mean_loss")


def test_a_new_run_never_overwrites_an_existing_one(tmp_path_factory):
    run_dir = trained_run(tmp_path_factory)
    again = runs.create_run_dir(run_dir.parent, run_dir.name)
    assert again.name == f"{run_dir.name}-2" and (run_dir / "best.pt").exists()


def _start(args, log_path):
    with open(log_path, "w") as log:
        return subprocess.Popen([PYTHON, "-m", "core", "train", *args], cwd=REPO, env=subprocess_env(),
                                stdout=log, stderr=subprocess.STDOUT)


def test_sigterm_cancels_and_resume_continues_the_same_run_exactly(tmp_path_factory, tmp_path):
    data_dir = demo40_dir(tmp_path_factory)
    config = fast_config(data_dir, tmp_path / "runs", "train.epochs=5", "run.name=cancel-me")
    config_path = save_config(config, tmp_path / "c.yaml")
    process = _start(["--config", str(config_path)], tmp_path / "first.log")
    run_dir = tmp_path / "runs" / "cancel-me"
    deadline = time.monotonic() + 120
    while runs.read_status(run_dir).get("epoch", 0) < 1 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0, (tmp_path / "first.log").read_text()
    cancelled = runs.read_status(run_dir)
    assert cancelled["state"] == "cancelled", (tmp_path / "first.log").read_text()
    done_before = cancelled["epoch"]
    assert 1 <= done_before < 5

    resumed = _start(["--resume", str(run_dir)], tmp_path / "second.log")
    assert resumed.wait(timeout=180) == 0, (tmp_path / "second.log").read_text()
    status = runs.read_status(run_dir)
    assert status["state"] == "finished" and status["epoch"] == 5
    assert not any(p.name.startswith("cancel-me-") for p in (tmp_path / "runs").iterdir())  # same directory
    epochs = runs.read_metrics(run_dir, "epoch")
    assert [e["epoch"] for e in epochs] == [1, 2, 3, 4, 5]
    assert all(s["epoch"] <= 5 for s in runs.read_metrics(run_dir, "step"))
    assert epochs[-1]["elapsed_s"] > epochs[0]["elapsed_s"]

    # Exactly where it stopped: the same numbers as a run that was never interrupted.
    reference = train_run(fast_config(data_dir, tmp_path / "runs", "train.epochs=5", "run.name=reference"),
                          log=lambda text: None)
    expected = runs.read_metrics(reference, "epoch")
    assert [e["val_loss"] for e in epochs] == pytest.approx([e["val_loss"] for e in expected], rel=1e-3)
    assert [e["train_loss"] for e in epochs] == pytest.approx([e["train_loss"] for e in expected], rel=1e-3)


def test_a_crash_marks_the_run_failed_with_the_error(tmp_path):
    config = load_config(overrides=[f"data.dir={tmp_path / 'no-data'}", f"run.root={tmp_path / 'runs'}",
                                    "run.name=broken"])
    with pytest.raises(DataError):
        train_run(config, log=lambda text: None)
    status = runs.read_status(tmp_path / "runs" / "broken")
    assert status["state"] == "failed" and "no-data" in status["error"]


def test_cli_rejects_a_bad_override_naming_the_key(tmp_path):
    result = subprocess.run([PYTHON, "-m", "core", "train", "--set", "train.epochs=0"], cwd=REPO,
                            env=subprocess_env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "train.epochs" in result.stderr
