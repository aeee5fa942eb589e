"""Starting, finding, cancelling and resuming trainer processes (a fast stand-in trainer plays the CLI)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from core.errors import ConfigError, MaskLabError
from core.train import launch
from core.train.launch import (cancel_run, find_active_runs, launch_training, pid_alive, resume_training,
                               run_is_active, stopped_before_status, tail_text, unique_run_name)

FAKE = [sys.executable, str(Path(__file__).with_name("fake_trainer.py"))]


def fake_config(root, name, **fake) -> str:
    return yaml.safe_dump({"run": {"root": str(root), "name": name}, "fake": fake})


def wait_for(condition, limit=15.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def state_of(run_dir) -> str | None:
    return launch.read_status_file(run_dir).get("state")


def test_runs_root_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MASKLAB_RUNS_DIR", str(tmp_path / "r"))
    assert launch.runs_root() == (tmp_path / "r").resolve()
    monkeypatch.delenv("MASKLAB_RUNS_DIR")
    assert launch.runs_root() == launch.REPO_ROOT / "runs"


def test_run_names_are_plain_and_never_reused(tmp_path):
    (tmp_path / "demo").mkdir()
    assert unique_run_name(tmp_path, "demo") == "demo-2"
    assert unique_run_name(tmp_path, "fresh") == "fresh"
    for bad in ("../escape", "", ".hidden", "a/b"):
        with pytest.raises(ConfigError, match="run.name"):
            unique_run_name(tmp_path, bad)


def test_launch_runs_in_its_own_session_and_finishes(tmp_path):
    started = launch_training(fake_config(tmp_path, "one", epochs=2, steps=3), root=tmp_path, name="one",
                              command_prefix=FAKE)
    run_dir = Path(started.run_dir)
    assert os.getsid(started.pid) == started.pid  # a new session: not killed with the Streamlit script
    assert wait_for(lambda: state_of(run_dir) == "finished")
    assert wait_for(lambda: not pid_alive(started.pid))
    assert not run_is_active(run_dir) and find_active_runs(tmp_path) == []
    record = json.loads((tmp_path / ".launches" / "one.json").read_text())
    assert record["pid"] == started.pid and record["command"][-2:] == ["--config", str(tmp_path / ".launches" / "one.yaml")]


def test_second_run_needs_confirmation_and_cancel_then_resume(tmp_path):
    first = launch_training(fake_config(tmp_path, "slow", epochs=2, steps=40, step_s=0.05), root=tmp_path,
                            name="slow", command_prefix=FAKE)
    run_dir = Path(first.run_dir)
    assert [run.name for run in find_active_runs(tmp_path)] == ["slow"]  # seen even before status.json
    with pytest.raises(MaskLabError, match="already going"):
        launch_training(fake_config(tmp_path, "two"), root=tmp_path, name="two", command_prefix=FAKE)
    second = launch_training(fake_config(tmp_path, "two", epochs=1, steps=1), root=tmp_path, name="two",
                             allow_concurrent=True, command_prefix=FAKE)
    assert wait_for(lambda: state_of(Path(second.run_dir)) == "finished")

    assert wait_for(lambda: launch.read_status_file(run_dir).get("step", 0) >= 2)
    with pytest.raises(MaskLabError, match="still running"):
        resume_training(run_dir, command_prefix=FAKE)
    assert cancel_run(run_dir) == first.pid
    assert wait_for(lambda: state_of(run_dir) == "cancelled")
    assert wait_for(lambda: not run_is_active(run_dir))
    with pytest.raises(MaskLabError, match="not running"):
        cancel_run(run_dir)

    resumed = resume_training(run_dir, command_prefix=FAKE)
    assert resumed.kind == "resume" and resumed.run_dir == str(run_dir)
    assert run_is_active(run_dir)  # active at once, though status.json still says cancelled
    cancel_run(run_dir)
    assert wait_for(lambda: not run_is_active(run_dir))


def test_resume_needs_a_checkpoint(tmp_path):
    run_dir = tmp_path / "empty"
    run_dir.mkdir()
    (run_dir / "status.json").write_text(json.dumps({"state": "failed"}))
    with pytest.raises(MaskLabError, match="no last.pt"):
        resume_training(run_dir, command_prefix=FAKE)


def test_a_run_that_dies_before_its_status_shows_why(tmp_path):
    started = launch_training(fake_config(tmp_path, "bad", fail=True), root=tmp_path, name="bad", command_prefix=FAKE)
    assert wait_for(lambda: not pid_alive(started.pid))
    message = stopped_before_status(tmp_path / "bad")
    assert "model.name" in message
    assert find_active_runs(tmp_path) == []


def test_an_existing_run_directory_is_refused(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(ConfigError, match="never overwritten"):
        launch_training("{}", root=tmp_path, name="taken", command_prefix=FAKE)


def test_a_stale_status_with_a_dead_pid_is_not_running(tmp_path):
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    run_dir = tmp_path / "stale"
    run_dir.mkdir()
    (run_dir / "status.json").write_text(json.dumps({"state": "running", "pid": process.pid}))
    assert not pid_alive(process.pid)
    assert not run_is_active(run_dir)
    assert find_active_runs(tmp_path) == []


def test_pid_alive_reaps_finished_children():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    assert wait_for(lambda: not pid_alive(process.pid))  # a zombie would still answer os.kill(pid, 0)
    assert pid_alive(os.getpid())
    assert not pid_alive(None) and not pid_alive("x") and not pid_alive(0)


def test_tail_text_keeps_the_last_state_of_progress_lines(tmp_path):
    log = tmp_path / "log.txt"
    log.write_text("start\n" + "".join(f"\rbatch {i}/10" for i in range(11)) + "\nline a\nline b\n\n")
    assert tail_text(log, 3) == "batch 10/10\nline a\nline b"
    assert tail_text(tmp_path / "missing.txt") == ""
