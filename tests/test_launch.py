"""Starting, finding, cancelling and resuming trainer processes: the real `python -m core train` on tiny demo data."""
from __future__ import annotations

import json
import os
import signal
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
from tests.pages.tiny_run import tiny_config

LIMIT_S = 90  # a tiny epoch takes well under a second; importing torch takes a few on a busy machine
LONG = 500  # epochs of a run kept alive for the cancel tests (cancelled long before the end)


@pytest.fixture
def runs(tmp_path):
    """The runs root; every trainer still going at the end is killed (a failing test must not leave one)."""
    root = tmp_path / "runs"
    yield root
    for run in find_active_runs(root):
        os.kill(run.pid, signal.SIGKILL)


def config_text(data_dir, root, name, epochs=1, **settings) -> str:
    config = tiny_config(data_dir, root, name, epochs=epochs)
    for key, value in settings.items():
        section, field = key.split("__")
        config.setdefault(section, {})[field] = value
    return yaml.safe_dump(config)


def wait_for(condition, limit=LIMIT_S) -> bool:
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


def test_launch_runs_in_its_own_session_and_finishes(demo_data_dir, runs):
    started = launch_training(config_text(demo_data_dir, runs, "one"), root=runs, name="one")
    run_dir = Path(started.run_dir)
    assert os.getsid(started.pid) == started.pid  # a new session: not killed with the Streamlit script
    assert wait_for(lambda: state_of(run_dir) == "finished"), launch.tail_text(started.log)
    assert wait_for(lambda: not pid_alive(started.pid))
    assert not run_is_active(run_dir) and find_active_runs(runs) == []
    record = json.loads((runs / ".launches" / "one.json").read_text())
    assert record["pid"] == started.pid and record["command"][-2:] == ["--config", str(runs / ".launches" / "one.yaml")]
    assert record["command"][1:3] == ["-m", "core"]  # the real trainer CLI
    # A finished run is not active even though its launch record and its status keep the trainer's pid.
    assert launch.read_status_file(run_dir)["pid"] == started.pid and (run_dir / "best.pt").stat().st_size > 1000


def test_second_run_needs_confirmation_and_cancel_then_resume(demo_data_dir, runs):
    first = launch_training(config_text(demo_data_dir, runs, "slow", epochs=LONG), root=runs, name="slow")
    run_dir = Path(first.run_dir)
    assert [run.name for run in find_active_runs(runs)] == ["slow"]  # seen even before status.json
    with pytest.raises(MaskLabError, match="already going"):
        launch_training(config_text(demo_data_dir, runs, "two"), root=runs, name="two")
    # Confirmed, a second launch starts (this one stops at once on a bad setting: no second training).
    second = launch_training(config_text(demo_data_dir, runs, "two", model__name="nope"), root=runs, name="two",
                             allow_concurrent=True)
    assert second.pid != first.pid

    assert wait_for(lambda: state_of(run_dir) == "running" and launch.read_status_file(run_dir).get("epoch", 0) >= 1), \
        launch.tail_text(first.log)
    with pytest.raises(MaskLabError, match="still running"):
        resume_training(run_dir)
    assert cancel_run(run_dir) == first.pid
    assert wait_for(lambda: state_of(run_dir) == "cancelled")
    assert wait_for(lambda: not run_is_active(run_dir))
    cancelled_epoch = launch.read_status_file(run_dir)["epoch"]
    assert 1 <= cancelled_epoch < LONG
    with pytest.raises(MaskLabError, match="not running"):
        cancel_run(run_dir)

    resumed = resume_training(run_dir)
    assert resumed.kind == "resume" and resumed.run_dir == str(run_dir)
    assert run_is_active(run_dir)  # active at once, though status.json still says cancelled
    assert [run.name for run in find_active_runs(runs)] == ["slow"]
    assert wait_for(lambda: state_of(run_dir) == "running"), launch.tail_text(resumed.log)
    assert cancel_run(run_dir) == resumed.pid  # the resumed trainer's pid from status.json, not the first one's
    assert wait_for(lambda: not run_is_active(run_dir))
    assert state_of(run_dir) == "cancelled" and launch.read_status_file(run_dir)["epoch"] >= cancelled_epoch


def test_resume_needs_a_checkpoint(tmp_path):
    run_dir = tmp_path / "empty"
    run_dir.mkdir()
    (run_dir / "status.json").write_text(json.dumps({"state": "failed"}))
    with pytest.raises(MaskLabError, match="no last.pt"):
        resume_training(run_dir)


def test_a_run_that_dies_before_its_status_shows_why(demo_data_dir, runs):
    started = launch_training(config_text(demo_data_dir, runs, "bad", model__name="nope"), root=runs, name="bad")
    assert wait_for(lambda: not pid_alive(started.pid))
    message = stopped_before_status(runs / "bad")
    assert "model.name" in message and "'nope'" in message
    assert find_active_runs(runs) == [] and not (runs / "bad").exists()


def test_an_existing_run_directory_is_refused(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(ConfigError, match="never overwritten"):
        launch_training("{}", root=tmp_path, name="taken")
    assert not (tmp_path / ".launches" / "taken.json").exists()  # nothing was started


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


# ----- a run directory stays inside its root; only the run's own trainer is ever signalled ---------------
def test_run_names_that_leave_the_runs_root_are_refused(tmp_path):
    from core.train import runs as run_dirs

    root = tmp_path / "runs"
    for bad in ("../../tmp/escape", "..", "/tmp/escape", "a/b", ".hidden", "", "a\\b"):
        with pytest.raises(ConfigError, match="run.name"):
            run_dirs.create_run_dir(root, bad)
    (tmp_path / "elsewhere").mkdir()
    root.mkdir(exist_ok=True)
    (root / "linked").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ConfigError, match="outside the runs root"):
        run_dirs.create_run_dir(root, "linked")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere", "runs"]
    assert run_dirs.create_run_dir(root, "plain.name_1-a") == root / "plain.name_1-a"


def test_the_cli_refuses_a_run_name_with_a_path(demo_data_dir, tmp_path):
    config = tmp_path / "exp.yaml"
    config.write_text(config_text(demo_data_dir, tmp_path / "runs", "fine"))
    done = subprocess.run([sys.executable, "-m", "core", "train", "--config", str(config),
                           "--set", "run.name=../escape"], cwd=launch.REPO_ROOT, capture_output=True, text=True,
                          timeout=LIMIT_S)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: run.name") and "'../escape'" in last and "Traceback" not in done.stderr
    assert not (tmp_path / "escape").exists() and not any((tmp_path / "runs").glob("*escape*"))


@pytest.fixture
def sleeper():
    """A real process that is not a trainer (its pid will be written into a run's files)."""
    process = subprocess.Popen(["sleep", "30"])
    yield process
    process.kill()
    process.wait()


def test_cancel_never_signals_a_process_that_is_not_the_trainer(tmp_path, sleeper):
    run_dir = tmp_path / "runs" / "borrowed"
    run_dir.mkdir(parents=True)
    # A running state whose pid is alive but is not `core train` (e.g. a pid reused after the trainer died).
    (run_dir / "status.json").write_text(json.dumps({"state": "running", "pid": sleeper.pid,
                                                     "updated_at": launch.runs.now_iso()}))
    with pytest.raises(MaskLabError, match="not `python -m core train`"):
        cancel_run(run_dir)
    # The same pid written before that process started: another process now, so the run is not running.
    os.utime(run_dir / "status.json", (time.time() - 3600, time.time() - 3600))
    assert not run_is_active(run_dir)
    with pytest.raises(MaskLabError, match="not running"):
        cancel_run(run_dir)
    # A launch record with the pid and no status yet: launched long before this process started.
    (run_dir / "status.json").unlink()
    (tmp_path / "runs" / ".launches").mkdir()
    (tmp_path / "runs" / ".launches" / "borrowed.json").write_text(json.dumps(
        {"name": "borrowed", "run_dir": str(run_dir), "pid": sleeper.pid, "command": [], "log": "x",
         "started_at": time.time() - 3600}))
    assert find_active_runs(tmp_path / "runs") == []
    with pytest.raises(MaskLabError, match="not running"):
        cancel_run(run_dir)
    time.sleep(0.2)
    assert sleeper.poll() is None  # never signalled


def test_a_trainer_killed_without_warning_is_dead_and_blocks_nothing(demo_data_dir, runs):
    from core.train import follow
    from core.train import runs as run_dirs

    started = launch_training(config_text(demo_data_dir, runs, "killed", epochs=LONG), root=runs, name="killed")
    run_dir = Path(started.run_dir)
    assert wait_for(lambda: state_of(run_dir) == "running"), launch.tail_text(started.log)
    os.kill(started.pid, signal.SIGKILL)  # as the OOM killer does: no chance to write its status
    # The leaderboard sees it dead first (a zombie child of ours, until something reaps it, counts as dead).
    assert wait_for(lambda: not run_dirs.list_runs(runs).set_index("name").loc["killed", "alive"])
    assert run_dirs.list_runs(runs).set_index("name").loc["killed", "state"] == "running"  # as it last wrote
    assert not run_is_active(run_dir) and find_active_runs(runs) == []
    progress = follow.run_progress(run_dir)
    assert progress.state == "stopped" and not progress.alive and progress.can_resume
    with pytest.raises(MaskLabError, match="not running"):
        cancel_run(run_dir)
    again = launch_training(config_text(demo_data_dir, runs, "after", model__name="nope"), root=runs, name="after")
    assert again.pid != started.pid  # not refused as "a run is already going"
