"""Start, find, cancel and resume training runs as separate processes, so a page never trains itself.

The Training page calls `launch_training` / `resume_training` / `cancel_run` and returns at once;
the trainer (`python -m core train`) runs in its own session, so page reruns, reloads, a closed tab
or a restarted Streamlit server do not stop it. Every launch leaves a small record in
`<runs root>/.launches/` (the command, its pid, the composed config and the process's own output),
so that any page session can see a run that is still starting, and why a run died before it could
write its status.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from core.errors import ConfigError, MaskLabError
from core.i18n import t
from core.train import runs
# pid_alive is declared in runs (no torch); pages and tests reach it from here too.
from core.train.runs import (ACTIVE_STATES, check_run_name, pid_alive, read_status, runs_core_train,  # noqa: F401
                             same_process, trainer_alive)

REPO_ROOT = Path(__file__).resolve().parents[2]
LAUNCH_DIR = ".launches"
FINAL_STATES = ("finished", "cancelled", "failed")


def runs_root() -> Path:
    """Where run directories live: $MASKLAB_RUNS_DIR, else runs/ in the repository."""
    configured = os.environ.get("MASKLAB_RUNS_DIR")
    return Path(configured).expanduser().resolve() if configured else REPO_ROOT / "runs"


def launch_dir(root) -> Path:
    return Path(root) / LAUNCH_DIR


@dataclass
class Launch:
    """One started trainer process: what was run, where its run directory will be, where it logs."""

    name: str
    run_dir: str
    pid: int
    command: list
    log: str
    started_at: float
    kind: str = "train"  # or "resume"

    @property
    def alive(self) -> bool:
        """The launched trainer still runs (a recorded pid may since belong to another process)."""
        return same_process(self.pid, started_by=self.started_at) and runs_core_train(self.pid) is not False


def unique_run_name(root, wanted: str) -> str:
    """`wanted`, or `wanted-2`, `wanted-3`... so that a run directory is never reused."""
    wanted = check_run_name(wanted)
    root = Path(root)
    name, number = wanted, 1
    while (root / name).exists() or (launch_dir(root) / f"{name}.json").exists():
        number += 1
        name = f"{wanted}-{number}"
    return name


def default_run_name(model: str = "run") -> str:
    """The trainer's own default name (<date-time>-<model>), so page and CLI runs read alike."""
    return runs.default_run_name(model)


def trainer_command() -> list[str]:
    """How the trainer CLI is started: this interpreter, `-m core`."""
    return [sys.executable, "-m", "core"]


def launch_training(config_text: str, root=None, name: str | None = None, allow_concurrent: bool = False) -> Launch:
    """Write the composed config and start `python -m core train --config FILE` in its own session.

    `config_text` is the experiment YAML; its run.root and run.name are set by the caller (the run
    directory is `root/name`, which must not exist). Refuses while another run is going unless
    `allow_concurrent`. Returns immediately.
    """
    root = Path(root or runs_root())
    _refuse_if_busy(root, allow_concurrent)
    name = check_run_name(name or default_run_name())
    if (root / name).exists():
        raise ConfigError.of("errors_train.run_exists", path=root / name)
    folder = launch_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / f"{name}.yaml"
    config_path.write_text(config_text, encoding="utf-8")
    command = [*trainer_command(), "train", "--config", str(config_path)]
    return _start(command, root, name, kind="train")


def resume_training(run_dir, allow_concurrent: bool = False) -> Launch:
    """Start `python -m core train --resume RUN_DIR` for a cancelled or failed run."""
    run_dir = Path(run_dir)
    if run_is_active(run_dir):
        raise MaskLabError.of("errors_train.still_running", run=run_dir.name)
    if not (run_dir / "last.pt").exists():
        raise MaskLabError.of("errors_train.no_last", path=run_dir)
    _refuse_if_busy(run_dir.parent, allow_concurrent)
    command = [*trainer_command(), "train", "--resume", str(run_dir)]
    return _start(command, run_dir.parent, run_dir.name, kind="resume")


def _refuse_if_busy(root: Path, allow_concurrent: bool) -> None:
    if allow_concurrent:
        return
    active = find_active_runs(root)
    if active:
        names = ", ".join(run.name for run in active)
        raise MaskLabError.of("errors_train.busy", runs=names)


def _start(command: list, root: Path, name: str, kind: str) -> Launch:
    folder = launch_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / f"{name}.log"
    env = dict(os.environ, PYTHONUNBUFFERED="1", MASKLAB_RUNS_DIR=str(root))
    with open(log_path, "ab") as log:
        log.write(f"\n$ {' '.join(command)}\n".encode())
        log.flush()
        # A new session: the trainer outlives the Streamlit script (and a Ctrl+C aimed at the server).
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    launch = Launch(name=name, run_dir=str(root / name), pid=process.pid, command=command, log=str(log_path),
                    started_at=time.time(), kind=kind)
    record = folder / f"{name}.json"
    record.write_text(json.dumps(asdict(launch), indent=1), encoding="utf-8")
    return launch


def read_launch(root, name: str) -> Launch | None:
    try:
        data = json.loads((launch_dir(root) / f"{name}.json").read_text(encoding="utf-8"))
        return Launch(**data)
    except (OSError, ValueError, TypeError):
        return None


def launch_log_path(run_dir) -> Path:
    run_dir = Path(run_dir)
    return launch_dir(run_dir.parent) / f"{run_dir.name}.log"


def read_status_file(run_dir) -> dict:
    """status.json as a dict; {} when it is missing (the trainer writes it atomically)."""
    status = read_status(run_dir)
    return status if isinstance(status, dict) else {}


def run_is_active(run_dir) -> bool:
    """The run's trainer process is alive: by status.json, or by its launch record before that exists."""
    run_dir = Path(run_dir)
    status = read_status_file(run_dir)
    if trainer_alive(run_dir, status):
        return True
    # Before the trainer writes status.json (or, when resuming, rewrites "cancelled" to "running").
    launch = read_launch(run_dir.parent, run_dir.name)
    if not (launch and launch.alive):
        return False
    updated = timestamp(status.get("updated_at"))
    # A final state written after this launch: the process is only exiting.
    return not (status.get("state") in FINAL_STATES and updated is not None and updated > launch.started_at)


def timestamp(value) -> float | None:
    """Seconds since the epoch from a number or an ISO 8601 time string (status.json's times)."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return None


def find_active_runs(root=None) -> list[Launch]:
    """Runs whose trainer is alive now, newest first; includes launches that have no run directory yet."""
    root = Path(root or runs_root())
    if not root.is_dir():
        return []
    names = {path.name for path in root.iterdir() if path.is_dir() and not path.name.startswith(".")}
    folder = launch_dir(root)
    if folder.is_dir():
        names |= {path.stem for path in folder.glob("*.json")}
    active = []
    for name in names:
        if not run_is_active(root / name):
            continue
        launch = read_launch(root, name)
        status = read_status_file(root / name)
        pid = status.get("pid") if status.get("state") in ACTIVE_STATES else None
        if launch is None:
            launch = Launch(name=name, run_dir=str(root / name), pid=int(pid or 0), command=[],
                            log=str(launch_log_path(root / name)), started_at=0.0)
        elif pid:
            launch.pid = int(pid)
        active.append(launch)
    return sorted(active, key=lambda launch: launch.started_at, reverse=True)


def cancel_run(run_dir) -> int:
    """Ask the run's trainer to stop (SIGTERM: it saves last.pt and marks the run cancelled); its pid.

    Only a process verified to be this run's `core train` process (alive, started when the run recorded it,
    running `core train`) is signalled: a recorded pid may since belong to another program. MaskLabError when
    there is none.
    """
    run_dir = Path(run_dir)
    status = read_status_file(run_dir)
    if trainer_alive(run_dir, status):
        pid = int(status["pid"])
        if runs_core_train(pid) is False:
            raise MaskLabError.of("errors_train.not_our_process", run=run_dir.name, pid=pid)
    else:
        launch = read_launch(run_dir.parent, run_dir.name)
        if launch is None or not run_is_active(run_dir):
            raise MaskLabError.of("errors_train.not_running", run=run_dir.name, state=status.get("state", "unknown"))
        pid = launch.pid  # launched, and not yet written its status (or rewritten it, on resume)
    os.kill(pid, signal.SIGTERM)
    return pid


def stopped_before_status(run_dir) -> str | None:
    """The end of the launch log when the process died before writing status.json (e.g. a bad config)."""
    run_dir = Path(run_dir)
    if read_status_file(run_dir):
        return None
    launch = read_launch(run_dir.parent, run_dir.name)
    if launch is None or launch.alive:
        return None
    return tail_text(launch.log, 20) or t("errors_train.exited_without_output")


def tail_text(path, lines: int = 40, max_bytes: int = 64_000) -> str:
    """The last `lines` lines of a (possibly growing, possibly huge) text file; '' when missing."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - max_bytes))
            data = handle.read()
    except OSError:
        return ""
    # Progress bars rewrite their line with \r: keep only the latest state of each line.
    text = data.decode("utf-8", errors="replace")
    rows = [row.rsplit("\r", 1)[-1] if "\r" in row.rstrip("\r") else row.rstrip("\r") for row in text.split("\n")]
    while rows and not rows[-1].strip():
        rows.pop()
    return "\n".join(rows[-lines:])


# ---------------------------------------------------------------- composing a run on the Training page

def config_sources(root=None, recent_runs: int = 10) -> dict:
    """Starting points for a new run: {label: config file or None for the declared defaults}.

    configs/demo.yaml comes first (it trains on a laptop CPU), then other configs/, then the configs of
    the most recent runs (to repeat or vary one).
    """
    root = Path(root or runs_root())
    configs = sorted((REPO_ROOT / "configs").glob("*.yaml"), key=lambda path: (path.name != "demo.yaml", path.name))
    sources = {f"configs/{path.name}": path for path in configs}
    sources["declared defaults"] = None
    runs = [path for path in root.iterdir() if (path / "config.yaml").exists()] if root.is_dir() else []
    for run_dir in sorted(runs, key=lambda path: path.stat().st_mtime, reverse=True)[:recent_runs]:
        sources[f"run {run_dir.name}"] = run_dir / "config.yaml"
    return sources


def config_from_values(values: dict):
    """An ExperimentConfig from {"section.key": value}; ConfigError names the first bad key."""
    from core.config import config_from_dict

    nested: dict = {}
    for key, value in values.items():
        section, _, name = key.partition(".")
        nested.setdefault(section, {})[name] = value
    return config_from_dict(nested)


def pipeline_file_for(root, name: str, split: str = "train") -> Path:
    """Where the Augmentation page's pipeline is saved as run `name`'s train or val pipeline (kept for
    --resume and repeats)."""
    return launch_dir(root) / f"{name}.{split}-pipeline.yaml"
