"""Reading run directories into progress, ETA and the log tail (files written by hand)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from core.train import follow
from tests.run_files import epoch_line, step_line, write_run


def live_pid():
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "train"])
    return process


@pytest.fixture
def running(tmp_path):
    process = live_pid()
    status = {"state": "running", "pid": process.pid, "epoch": 1, "epochs": 4, "step": 5, "steps_per_epoch": 10,
              "device": "cuda:0", "model": "resnet18", "best_val_f1": 0.4, "best_epoch": 1,
              "started_at": "2024-01-01T10:00:00", "updated_at": "2024-01-01T10:00:20"}
    lines = [step_line(1, 10, elapsed=8.0), epoch_line(1, 0.4, epoch_s=10.0), step_line(2, 5, elapsed=15.0)]
    yield write_run(tmp_path, "live", status, lines, partial=True)
    process.kill()
    process.wait()


def test_progress_of_a_running_run(running):
    progress = follow.run_progress(running)
    assert progress.state == "running" and progress.alive and progress.can_cancel and not progress.can_resume
    assert progress.epoch_fraction == pytest.approx(0.25)
    assert progress.step_fraction == pytest.approx(0.5)
    assert progress.step_text == "Epoch 2: step 5/10" and progress.epoch_text == "Epoch 1/4 done"
    assert progress.eta_s == pytest.approx((4 - 1 - 0.5) * 10.0)  # epochs left x seconds per epoch
    assert progress.device == "cuda:0" and progress.model == "resnet18"
    assert progress.elapsed_s >= 15.0


def test_a_running_status_whose_process_died_reads_stopped(tmp_path):
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    run_dir = write_run(tmp_path, "dead", {"state": "running", "pid": process.pid, "epoch": 1, "epochs": 3}, [])
    progress = follow.run_progress(run_dir)
    assert progress.state == "stopped" and not progress.alive and progress.can_resume and progress.eta_s is None


def test_eta_from_the_step_rate_before_any_epoch_ends():
    metrics = [step_line(1, 2, steps=10, elapsed=2.0), step_line(1, 6, steps=10, elapsed=6.0)]
    # 1 s per step, 2 epochs x 10 steps = 20, 6 done
    assert follow.estimate_eta(metrics, 0, 2, 6, 10) == pytest.approx(14.0)
    assert follow.estimate_eta([], 0, 2, 0, 10) is None
    assert follow.estimate_eta([], 2, 2, 0, 10) == 0.0


def test_a_resumed_epoch_keeps_its_latest_line():
    rows = follow.epoch_rows([epoch_line(1, 0.1), epoch_line(2, 0.2), epoch_line(2, 0.3)])
    assert [row["val_f1"] for row in rows] == [0.1, 0.3]


def test_log_tail_falls_back_to_the_launch_output(tmp_path):
    run_dir = tmp_path / "r"
    (tmp_path / ".launches").mkdir()
    (tmp_path / ".launches" / "r.log").write_text("error: data.dir: no train/ folder\n")
    assert "no train/ folder" in follow.run_log_tail(run_dir)
    run_dir.mkdir()
    (run_dir / "train.log").write_text("epoch 1 done\n")
    tail = follow.run_log_tail(run_dir)
    assert "epoch 1 done" in tail and "no train/ folder" in tail


def test_format_seconds():
    assert follow.format_seconds(65) == "1:05" and follow.format_seconds(3725) == "1:02:05"
    assert follow.format_seconds(None) == "—"


def test_one_function_decides_a_runs_state_from_its_files():
    """Issue #16.6: right after Resume the old status says cancelled while the new trainer runs."""
    from types import SimpleNamespace

    from core.train.follow import run_state

    resume = SimpleNamespace(kind="resume", alive=True)
    assert run_state({"state": "cancelled"}, alive=True, launch=resume) == "resuming"
    assert run_state({}, alive=True, launch=SimpleNamespace(kind="train", alive=True)) == "launching"
    assert run_state({"state": "running"}, alive=True) == "running"
    assert run_state({"state": "running"}, alive=False, launch=None) == "stopped"
    assert run_state({"state": "cancelled"}, alive=False, launch=None) == "cancelled"
    assert run_state({}, alive=False) == "died"
