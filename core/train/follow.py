"""Where a run stands, from the files the trainer is writing: config, epoch and step lines, progress,
elapsed time and ETA, the log tail, and the run directories under a root.

Every reader here tolerates a half-written last line of metrics.jsonl and a status.json caught
mid-rewrite. No torch here (pages import it); charts live in core.train.charts, the leaderboard and a
run's tables in core.train.leaderboard, model inference in core.train.predict.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from core.i18n import has_text, t
from core.train.runs import CONFIG_FILE, read_metrics
from core.train.launch import (ACTIVE_STATES, FINAL_STATES, LAUNCH_DIR, launch_log_path, read_launch, read_status_file, timestamp,
                               run_is_active, tail_text)


# ---------------------------------------------------------------- reading the files

def read_config(run_dir) -> dict:
    try:
        data = yaml.safe_load(Path(run_dir, CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def epoch_rows(metrics: list[dict]) -> list[dict]:
    """One row per epoch; a resumed run that repeated an epoch keeps its latest line for it."""
    latest = {}
    for row in metrics:
        if row.get("kind") == "epoch" and "epoch" in row:
            latest[int(row["epoch"])] = row
    return [latest[epoch] for epoch in sorted(latest)]


def step_rows(metrics: list[dict]) -> list[dict]:
    return [row for row in metrics if row.get("kind") == "step"]


def list_run_dirs(root) -> list[Path]:
    """Run directories under `root` (those with a config or a status), newest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    runs = [path for path in root.iterdir() if path.is_dir() and not path.name.startswith(".")
            and ((path / "status.json").exists() or (path / "config.yaml").exists())]
    return sorted(runs, key=lambda path: path.stat().st_mtime, reverse=True)


def pending_launches(root) -> list[str]:
    """Launched runs whose directory does not exist yet (the trainer is still importing torch)."""
    folder = Path(root) / LAUNCH_DIR
    if not folder.is_dir():
        return []
    return sorted(path.stem for path in folder.glob("*.json") if not (Path(root) / path.stem).exists())


# ---------------------------------------------------------------- progress of one run

@dataclass
class RunProgress:
    """Where a run stands, in the words and fractions the Training page shows."""

    name: str
    state: str              # starting | running | finished | cancelled | failed | stopped | launching | resuming | died
    alive: bool
    epochs_done: int
    epochs: int
    step: int
    steps_per_epoch: int
    elapsed_s: float
    eta_s: float | None
    device: str
    model: str
    best_val_f1: float | None
    best_epoch: int | None
    error: str | None

    @property
    def epoch_fraction(self) -> float:
        return _fraction(self.epochs_done, self.epochs)

    @property
    def step_fraction(self) -> float:
        return _fraction(self.step, self.steps_per_epoch)

    @property
    def epoch_text(self) -> str:
        return t("training.follow_text.epoch_done", done=self.epochs_done, total=self.epochs or "?")

    @property
    def step_text(self) -> str:
        if self.epochs and self.epochs_done >= self.epochs:
            return t("training.follow_text.all_done")
        return t("training.follow_text.step", epoch=self.epochs_done + 1, step=self.step,
                 total=self.steps_per_epoch or "?")

    @property
    def can_cancel(self) -> bool:
        return self.alive

    @property
    def can_resume(self) -> bool:
        return not self.alive and self.state in ("cancelled", "failed", "stopped")


def state_word(state: str) -> str:
    """A run's state in the session's language; the files and the leaderboard's data keep the English word."""
    key = f"training.states.{state}"
    return t(key) if has_text(key) else state


def _fraction(done, total) -> float:
    return min(max(done / total, 0.0), 1.0) if total else 0.0


def run_state(status: dict, alive: bool, launch=None) -> str:
    """The one word every view of a run shows, decided from its files and whether its process runs.

    While a launched trainer has not yet (re)written status.json, the old file still says what the run
    was: a resumed run's "cancelled" is then "resuming", a new run's missing status "launching".
    """
    state = status.get("state")
    if alive:
        if not state:
            return "launching"
        if state in FINAL_STATES:  # alive with a final state: a launch newer than the status (run_is_active)
            return "resuming" if launch is not None and launch.kind == "resume" else "launching"
        return state
    if not state:
        return "died"
    if state in ACTIVE_STATES and not (launch and launch.alive):
        return "stopped"  # the process is gone without saying so (killed, machine slept)
    return state


def run_progress(run_dir, now: float | None = None) -> RunProgress:
    """The run's state, progress, elapsed time and ETA from status.json and metrics.jsonl."""
    run_dir = Path(run_dir)
    status = read_status_file(run_dir)
    metrics = read_metrics(run_dir)
    launch = read_launch(run_dir.parent, run_dir.name)
    alive = run_is_active(run_dir)
    state = run_state(status, alive, launch)
    epochs_done = int(status.get("epoch") or 0)
    epochs = int(status.get("epochs") or 0)
    steps_per_epoch = int(status.get("steps_per_epoch") or 0)
    step = int(status.get("step") or 0)
    steps = step_rows(metrics)
    if steps:  # step lines are written more often than status.json
        last = steps[-1]
        steps_per_epoch = int(last.get("steps_per_epoch") or steps_per_epoch)
        if int(last.get("epoch", 0)) > epochs_done:
            step = max(step, int(last.get("step") or 0))
    if state == "finished":
        step = steps_per_epoch
    elapsed = _elapsed(run_dir, status, metrics, state in ACTIVE_STATES and alive, now)
    return RunProgress(
        name=run_dir.name, state=state, alive=alive, epochs_done=epochs_done, epochs=epochs, step=step,
        steps_per_epoch=steps_per_epoch, elapsed_s=elapsed,
        eta_s=estimate_eta(metrics, epochs_done, epochs, step, steps_per_epoch) if alive else None,
        device=str(status.get("device") or "?"), model=str(status.get("model") or "?"),
        best_val_f1=status.get("best_val_f1"), best_epoch=status.get("best_epoch"), error=status.get("error"))


def _elapsed(run_dir: Path, status: dict, metrics: list[dict], running: bool, now: float | None) -> float:
    """Training seconds so far: the latest elapsed_s, plus, while running, the time since it was written."""
    latest = next((float(row["elapsed_s"]) for row in reversed(metrics) if "elapsed_s" in row), 0.0)
    if not running:
        return latest
    now = time.time() if now is None else now
    if not metrics:
        started = timestamp(status.get("started_at"))
        return max(now - started, 0.0) if started else 0.0
    try:
        written = (run_dir / "metrics.jsonl").stat().st_mtime
    except OSError:
        return latest
    return latest + max(now - written, 0.0)


def estimate_eta(metrics: list[dict], epochs_done: int, epochs: int, step: int, steps_per_epoch: int) -> float | None:
    """Seconds left: from the recent epochs' durations (validation included), else from the step rate."""
    if not epochs or epochs_done >= epochs:
        return 0.0 if epochs else None
    current = _fraction(step, steps_per_epoch)
    durations = [float(row["epoch_s"]) for row in epoch_rows(metrics) if row.get("epoch_s")]
    if durations:
        per_epoch = sum(durations[-3:]) / len(durations[-3:])
        return max(epochs - epochs_done - current, 0.0) * per_epoch
    steps = [row for row in step_rows(metrics) if "elapsed_s" in row]
    if len(steps) >= 2 and steps_per_epoch:
        first, last = steps[0], steps[-1]
        done = _global_step(last, steps_per_epoch) - _global_step(first, steps_per_epoch)
        seconds = float(last["elapsed_s"]) - float(first["elapsed_s"])
        if done > 0 and seconds > 0:
            remaining = epochs * steps_per_epoch - _global_step(last, steps_per_epoch)
            return max(remaining, 0) * seconds / done
    return None


def _global_step(row: dict, steps_per_epoch: int) -> int:
    return (int(row.get("epoch", 1)) - 1) * steps_per_epoch + int(row.get("step", 0))


def format_seconds(seconds: float | None) -> str:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "—"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def run_log_tail(run_dir, lines: int = 30) -> str:
    """The trainer's train.log tail, else its launch output (what it printed before the run existed)."""
    text = tail_text(Path(run_dir) / "train.log", lines)
    launch_text = tail_text(launch_log_path(run_dir), lines)
    if text and launch_text and ("Traceback" in launch_text or "error" in launch_text.lower()):
        return text + "\n--- process output ---\n" + launch_text
    return text or launch_text


def run_data_dir(run_dir) -> Path:
    """The data directory a run trained on (a relative data.dir is relative to where the trainer ran)."""
    from core.train.launch import REPO_ROOT

    data_dir = Path(str(read_config(run_dir).get("data", {}).get("dir") or "")).expanduser()
    return data_dir if data_dir.is_absolute() else REPO_ROOT / data_dir


def run_weights_line(run_dir) -> str | None:
    """Which pretrained weights the run started from and how many tensors matched (status.json), or None."""
    weights = read_status_file(run_dir).get("weights")
    if not weights:
        return None
    line = t("training.follow_text.weights", source=weights["source"], matched=weights["matched"],
             total=weights["total"])
    skipped = weights.get("skipped")
    if skipped:
        line += t("training.follow_text.not_loaded", names=", ".join(skipped[:4]) + (" ..." if len(skipped) > 4 else ""))
    return line
