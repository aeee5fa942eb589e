"""The run directory: what `python -m core train` writes and the Training/Runs/Submission pages read.

Layout of `<run.root>/<run.name>/` (run.root defaults to "runs", or $MASKLAB_RUNS_DIR when set;
run.name defaults to `<YYYYmmdd-HHMMSS>-<model>`; an existing directory is never reused: a new run
gets the first free name among NAME, NAME-2, NAME-3, ...):

- `config.yaml`   the full resolved experiment config; `--config` on it repeats the run.
- `metrics.jsonl` one JSON object per line, appended as training goes (epochs are 1-based):
      {"kind": "step", "epoch", "step", "steps_per_epoch", "loss", "lr", "elapsed_s"}   every train.log_every steps
      {"kind": "epoch", "epoch", "train_loss", "train_acc", "train_f1", "val_loss", "val_acc", "val_f1",
       "per_class_f1": [18 floats], "confusion": [18][18] ints (row = true class), "lr", "elapsed_s", "epoch_s",
       with train.ema also "ema_val_loss", "ema_val_f1"}
  `elapsed_s` counts training time since the run started, across resumes.
- `status.json`   rewritten atomically (never half-written):
      {"state": "starting|running|finished|cancelled|failed", "pid", "epoch" (completed epochs), "epochs",
       "step", "steps_per_epoch", "best_val_f1", "best_epoch", "device", "model", "started_at",
       "updated_at", "error", "weights" (pretrained weights loaded: {source, matched, total, skipped}, when any)}
      (times are ISO 8601 local time; error is null unless failed)
- `last.pt`, `best.pt` torch dicts {model, optimizer, scheduler, scaler, epoch, step, passes, rng, config,
  best_val_f1, best_epoch, epochs_without_gain, elapsed_s, noise, ema (EMA weights or null), averaging
  (train.average's state), val_f1 and ema_val_f1 of that epoch}; last.pt is the state after the last
  completed epoch (written at the start too, as epoch 0) or, after a cancel mid-epoch, after `step` steps
  of the next one (`passes`: each rank's losses and predictions so far; with train.accum_steps always at the
  end of an accumulation window); best.pt the one with the best val F1 (of the raw or EMA weights).
- `averaged.pt`   train.average's weights {model, epoch, val_f1, averaged_epochs, config}, written at the end;
  `best-<epoch>.pt` ({model}) the best epochs' weights kept for train.average=best.
- `tta_val_f1.json` the val F1 of each TTA choice (core.train.predict.tta_val_f1; the Submission page).
- `train.log`     the trainer's console lines (start, each epoch, early stop, end, cancel, failure),
  appended to on resume.
- `suspects.csv`  label-noise suspects (see core.train.noise), rewritten each epoch.
- `submission.csv` default output of `python -m core predict`.

A cancel (SIGTERM/SIGINT) saves last.pt at the step it reached and marks the run "cancelled"; `--resume`
continues from there in the same directory (replaying the epoch's earlier batches without training on
them, so the data and augmentations continue exactly), so the metrics read as one uninterrupted run. This module needs no torch: pages import it.
"""
from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pandas as pd

from core.errors import ConfigError

CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.jsonl"
STATUS_FILE = "status.json"
LAST_CHECKPOINT = "last.pt"
AVERAGED_CHECKPOINT = "averaged.pt"  # train.average: the averaged weights, written at the end of the run
BEST_CHECKPOINT = "best.pt"
LOG_FILE = "train.log"
SUSPECTS_FILE = "suspects.csv"
SUBMISSION_FILE = "submission.csv"
STATES = ("starting", "running", "finished", "cancelled", "failed")
ACTIVE_STATES = ("starting", "running")
DEFAULT_ROOT = "runs"


def runs_root(root=None) -> Path:
    """The folder holding run directories: `root` if given (and not the plain default), else
    $MASKLAB_RUNS_DIR, else ./runs."""
    if root and str(root) != DEFAULT_ROOT:
        return Path(root).expanduser()
    return Path(os.environ.get("MASKLAB_RUNS_DIR") or DEFAULT_ROOT).expanduser()


def default_run_name(model_name: str) -> str:
    # timm/<name> becomes timm-<name>: a run name is one folder
    return f"{datetime.now():%Y%m%d-%H%M%S}-{model_name.replace('/', '-')}"


def check_run_name(name) -> str:
    """`name` stripped, if it is a plain folder name: a run directory never lands outside its runs root."""
    name = str(name or "").strip()
    if not name or name.startswith(".") or not all(ch.isalnum() or ch in "-_." for ch in name):
        raise ConfigError.of("errors_train.bad_run_name", name=name)
    return name


def create_run_dir(root, name: str) -> Path:
    """Make `root/name`, or `root/name-2`, `-3`... if taken; never reuses an existing directory.

    ConfigError for a name that is not a plain folder name (`../x`, `/tmp/x`, `a/b`).
    """
    name = check_run_name(name)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, 10_000):
        path = root / (name if attempt == 1 else f"{name}-{attempt}")
        # A symlink named like the run would still lead elsewhere.
        if path.resolve().parent != root.resolve():
            raise ConfigError.of("errors_train.run_outside_root", path=path, root=root)
        try:
            path.mkdir()  # atomic: two trainers started at once cannot get the same directory
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"{root}: no free run name for {name}")


def now_iso() -> str:
    return datetime.now().isoformat(timespec="seconds")


def write_json_atomic(path: Path, data) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def write_status(run_dir, status: dict) -> dict:
    """Replace status.json atomically with `status` (updated_at set now)."""
    status = {**status, "updated_at": now_iso()}
    write_json_atomic(Path(run_dir) / STATUS_FILE, status)
    return status


def update_status(run_dir, **changes) -> dict:
    """Merge `changes` into status.json."""
    return write_status(run_dir, {**read_status(run_dir), **changes})


def read_status(run_dir) -> dict:
    """status.json as a dict; {} when it does not exist (yet) or cannot be read."""
    try:
        return json.loads((Path(run_dir) / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def append_metrics(run_dir, record: dict) -> None:
    with open(Path(run_dir) / METRICS_FILE, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def read_metrics(run_dir, kind: str | None = None) -> list[dict]:
    """The metrics lines (only `kind` ones if given); a half-written last line is skipped."""
    path = Path(run_dir) / METRICS_FILE
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if kind is None or record.get("kind") == kind:
            records.append(record)
    return records


def truncate_metrics(run_dir, after_epoch: int, keep_steps: int = 0) -> None:
    """Drop lines of epochs after `after_epoch` (an unfinished epoch that a resume will redo), except the
    step lines of the next epoch up to step `keep_steps` (a resume continues after them)."""
    def kept_line(record: dict) -> bool:
        epoch = int(record.get("epoch", 0))
        return epoch <= after_epoch or (epoch == after_epoch + 1 and record.get("kind") == "step"
                                        and int(record.get("step", 0)) <= keep_steps)

    kept = [r for r in read_metrics(run_dir) if kept_line(r)]
    path = Path(run_dir) / METRICS_FILE
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")
    os.replace(tmp, path)


def pid_alive(pid) -> bool:
    """True while process `pid` runs (a finished child of ours is reaped, not counted as alive; a zombie is dead)."""
    try:
        pid = int(pid)
    except (TypeError, ValueError):
        return False
    if pid <= 0:
        return False
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)  # reap our own exited child so it is not a zombie
        if done == pid:
            return False
    except ChildProcessError:
        pass  # not our child (another server process started it): ask the OS below
    except OSError:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _proc_state(pid) != "Z"


def _proc_stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name (which may hold spaces and ')'): field 3 (state) first."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _proc_state(pid: int) -> str | None:
    fields = _proc_stat_fields(pid)
    return fields[0] if fields else None


def process_start_time(pid) -> float | None:
    """When process `pid` started, in seconds since the epoch (about 10 ms precise); None without /proc."""
    fields = _proc_stat_fields(int(pid))
    try:
        ticks = int(fields[19])  # field 22 of stat: start time in clock ticks after boot
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
    except (TypeError, IndexError, ValueError, StopIteration, OSError):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def runs_core_train(pid) -> bool | None:
    """Whether process `pid` runs `python -m core train` (alone or under torchrun); None without /proc."""
    try:
        argv = Path(f"/proc/{int(pid)}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return False if Path("/proc/self").exists() else None  # gone, or a system without /proc
    except OSError:
        return False
    return any(argv[i:i + 3] == [b"-m", b"core", b"train"] for i in range(len(argv)))


# A process's start time from /proc is truncated (boot time in whole seconds): it may read up to 1 s early,
# never late. The slack only absorbs small wall-clock adjustments.
START_SLACK_S = 1.0


def same_process(pid, started_by: float | None = None) -> bool:
    """Process `pid` is alive and started by `started_by` (a time it had surely started by: its launch, or a
    file it wrote), so it is not a later process that reused the pid. Without /proc only liveness is checked."""
    if not pid_alive(pid):
        return False
    start = process_start_time(pid)
    return start is None or started_by is None or start <= started_by + START_SLACK_S


def trainer_alive(run_dir, status: dict | None = None) -> bool:
    """status.json says starting/running and the process that wrote it still runs (not dead, not a reused pid).

    A trainer may run inside another program (a notebook calling the trainer): alive, though not `core train`.
    """
    status = read_status(run_dir) if status is None else status
    if status.get("state") not in ACTIVE_STATES:
        return False
    try:
        written = (Path(run_dir) / STATUS_FILE).stat().st_mtime
    except OSError:
        return False
    return same_process(status.get("pid"), started_by=written)


def is_run_dir(path) -> bool:
    path = Path(path)
    return path.is_dir() and ((path / STATUS_FILE).exists() or (path / CONFIG_FILE).exists())


LEADERBOARD_COLUMNS = ["name", "state", "alive", "model", "epoch", "epochs", "best_val_f1", "best_epoch",
                       "last_val_f1", "last_val_acc", "device", "started_at", "updated_at", "has_best",
                       "has_submission", "path"]


def list_runs(root=None) -> pd.DataFrame:
    """One row per run directory under `root` (default: runs_root()), best val F1 first.

    `alive` is False for a run left 'starting'/'running' by a trainer that no longer exists.
    """
    root = runs_root(root)
    rows = []
    for path in sorted(root.iterdir()) if root.is_dir() else []:
        if not is_run_dir(path):
            continue
        status = read_status(path)
        epochs = read_metrics(path, "epoch")
        last = epochs[-1] if epochs else {}
        rows.append({
            "name": path.name, "state": status.get("state", "unknown"),
            "alive": trainer_alive(path, status),
            "model": status.get("model"), "epoch": status.get("epoch", 0), "epochs": status.get("epochs"),
            "best_val_f1": status.get("best_val_f1"), "best_epoch": status.get("best_epoch"),
            "last_val_f1": last.get("val_f1"), "last_val_acc": last.get("val_acc"),
            "device": status.get("device"), "started_at": status.get("started_at"),
            "updated_at": status.get("updated_at"), "has_best": (path / BEST_CHECKPOINT).exists(),
            "has_submission": (path / SUBMISSION_FILE).exists(), "path": str(path),
        })
    table = pd.DataFrame(rows, columns=LEADERBOARD_COLUMNS)
    if not table.empty:
        table = table.sort_values("best_val_f1", ascending=False, na_position="last", kind="stable")
    return table.reset_index(drop=True)
