"""Turn a run directory's files into what the Training, Runs and Submission pages show.

Everything here reads files the trainer is writing at the same moment, so every reader tolerates a
half-written last line of metrics.jsonl and a status.json caught mid-rewrite. No torch here.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import altair as alt
import pandas as pd
import yaml

from core.labels import NUM_CLASSES, class_name
from core.train.runs import CONFIG_FILE, read_metrics
from core.train.launch import (ACTIVE_STATES, LAUNCH_DIR, launch_log_path, read_launch, read_status_file, timestamp,
                               run_is_active, tail_text)

METRIC_NAMES = {"loss": "loss", "acc": "accuracy", "f1": "macro F1"}
# Settings always worth a leaderboard column; others appear when they differ between runs.
KEY_SETTINGS = ("model.name", "model.heads", "loss.name", "optim.name", "optim.lr", "loader.batch_size",
                "data.image_size")
# Short headers for the key settings, so the leaderboard fits a laptop screen.
SETTING_LABELS = {"model.name": "model", "model.heads": "heads", "loss.name": "loss", "optim.name": "optimizer",
                  "optim.lr": "lr", "loader.batch_size": "batch", "data.image_size": "size"}
# Leaderboard columns the page leaves out: "model" repeats model.name, "time (s)" is there to sort by,
# the device of each run is on the Training page.
HIDDEN_COLUMNS = ("model", "time (s)", "device")
# Settings that differ between every pair of runs without saying anything about the experiment.
# train.epochs is the "epochs" column's total already (a resume may extend it).
IGNORED_SETTINGS = ("run.name", "run.root", "train.epochs")


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
    state: str              # starting | running | finished | cancelled | failed | stopped | launching | died
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
        return f"Epoch {self.epochs_done}/{self.epochs or '?'} done"

    @property
    def step_text(self) -> str:
        if self.epochs and self.epochs_done >= self.epochs:
            return "All epochs done"
        return f"Epoch {self.epochs_done + 1}: step {self.step}/{self.steps_per_epoch or '?'}"

    @property
    def can_cancel(self) -> bool:
        return self.alive

    @property
    def can_resume(self) -> bool:
        return not self.alive and self.state in ("cancelled", "failed", "stopped")


def _fraction(done, total) -> float:
    return min(max(done / total, 0.0), 1.0) if total else 0.0


def run_progress(run_dir, now: float | None = None) -> RunProgress:
    """The run's state, progress, elapsed time and ETA from status.json and metrics.jsonl."""
    run_dir = Path(run_dir)
    status = read_status_file(run_dir)
    metrics = read_metrics(run_dir)
    launch = read_launch(run_dir.parent, run_dir.name)
    alive = run_is_active(run_dir)
    state = status.get("state") or ("launching" if alive else "died")
    if state in ACTIVE_STATES and not alive and not (launch and launch.alive):
        state = "stopped"  # the process is gone without saying so (killed, machine slept)
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


# ---------------------------------------------------------------- curves

def curves(run_dir, run_label: str | None = None) -> pd.DataFrame:
    """Long table epoch, metric (loss/accuracy/macro F1), split (train/val), value[, run] for altair."""
    rows = []
    for row in epoch_rows(read_metrics(run_dir)):
        for split in ("train", "val"):
            for short, metric in METRIC_NAMES.items():
                value = row.get(f"{split}_{short}")
                if value is not None:
                    rows.append({"epoch": int(row["epoch"]), "metric": metric, "split": split, "value": float(value)})
    table = pd.DataFrame(rows, columns=["epoch", "metric", "split", "value"])
    if run_label is not None:
        table["run"] = run_label
    return table


def step_losses(run_dir) -> pd.DataFrame:
    """Training loss per logged step, against fractional epochs (so a live run moves between epochs)."""
    rows = []
    for row in step_rows(read_metrics(run_dir)):
        per_epoch = int(row.get("steps_per_epoch") or 0)
        if per_epoch and row.get("loss") is not None:
            rows.append({"epoch": int(row.get("epoch", 1)) - 1 + int(row.get("step", 0)) / per_epoch,
                         "loss": float(row["loss"]), "lr": row.get("lr")})
    return pd.DataFrame(rows, columns=["epoch", "loss", "lr"])


def overlay(run_dirs) -> pd.DataFrame:
    """Curves of several runs in one table, told apart by the `run` column."""
    tables = [curves(run_dir, Path(run_dir).name) for run_dir in run_dirs]
    tables = [table for table in tables if not table.empty]
    if not tables:
        return pd.DataFrame(columns=["epoch", "metric", "split", "value", "run"])
    return pd.concat(tables, ignore_index=True)


def curves_chart(table: pd.DataFrame, metric: str, by_run: bool = False) -> alt.Chart:
    """One metric's train and val lines (val solid, train dashed); coloured by run when overlaying."""
    data = table[table["metric"] == metric]
    colour = "run:N" if by_run else "split:N"
    encoding = dict(x=alt.X("epoch:Q", title="epoch", axis=alt.Axis(tickMinStep=1, format="d")),
                    y=alt.Y("value:Q", title=metric, scale=alt.Scale(zero=metric != "loss")),
                    color=alt.Color(colour), strokeDash=alt.StrokeDash("split:N", sort=["val", "train"]),
                    tooltip=["epoch", "split", alt.Tooltip("value:Q", format=".4f")] + (["run"] if by_run else []))
    return alt.Chart(data, title=metric).mark_line(point=True).encode(**encoding).properties(height=220)


def step_loss_chart(table: pd.DataFrame) -> alt.Chart:
    return (alt.Chart(table, title="training loss per step").mark_line()
            .encode(x=alt.X("epoch:Q", title="epoch"), y=alt.Y("loss:Q", scale=alt.Scale(zero=False)),
                    tooltip=[alt.Tooltip("epoch:Q", format=".2f"), alt.Tooltip("loss:Q", format=".4f")])
            .properties(height=220))


# ---------------------------------------------------------------- leaderboard

def flatten(config: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = json.dumps(value) if isinstance(value, list) else value
    return flat


def leaderboard(root) -> pd.DataFrame:
    """Every run with its state, best val macro F1, accuracy at that epoch, epochs, time, model and the
    settings that tell runs apart (key settings always, any other setting where runs differ)."""
    rows, configs = [], []
    for run_dir in list_run_dirs(root):
        progress = run_progress(run_dir)
        best = best_epoch_row(run_dir)
        rows.append({
            "run": run_dir.name, "state": progress.state,
            "best val F1": _number(best.get("val_f1")) if best else None,
            "val accuracy": _number(best.get("val_acc")) if best else None,
            "best epoch": int(best["epoch"]) if best else None,
            "epochs": f"{progress.epochs_done}/{progress.epochs or '?'}",
            "time": format_seconds(progress.elapsed_s), "time (s)": round(progress.elapsed_s, 1),
            "model": progress.model if progress.model != "?" else None,
            "device": progress.device if progress.device != "?" else None,
            "started": _started(run_dir),
        })
        configs.append(flatten(read_config(run_dir)))
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    settings = pd.DataFrame(configs)
    keep = [key for key in settings.columns if key not in IGNORED_SETTINGS and
            (key in KEY_SETTINGS or settings[key].astype(str).nunique(dropna=False) > 1)]
    keep.sort(key=lambda key: (key not in KEY_SETTINGS, KEY_SETTINGS.index(key) if key in KEY_SETTINGS else 0, key))
    table = pd.concat([table, settings[keep].reset_index(drop=True)], axis=1)
    return table.sort_values("best val F1", ascending=False, na_position="last", kind="stable").reset_index(drop=True)


def leaderboard_headers(board: pd.DataFrame) -> dict:
    """{column: header} of the columns the Runs page shows, in order (short names for the key settings)."""
    return {column: SETTING_LABELS.get(column, column) for column in board.columns if column not in HIDDEN_COLUMNS}


def _number(value):
    return None if value is None else round(float(value), 4)


def _started(run_dir: Path) -> str:
    stamp = timestamp(read_status_file(run_dir).get("started_at"))
    if stamp is None:
        stamp = run_dir.stat().st_mtime
    return datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M")


# ---------------------------------------------------------------- best checkpoint

def best_epoch_row(run_dir) -> dict | None:
    """The epoch line of the best checkpoint: status.json's best_epoch, else the highest val_f1."""
    rows = [row for row in epoch_rows(read_metrics(run_dir)) if row.get("val_f1") is not None]
    if not rows:
        return None
    best_epoch = read_status_file(run_dir).get("best_epoch")
    for row in rows:
        if best_epoch is not None and int(row["epoch"]) == int(best_epoch):
            return row
    return max(rows, key=lambda row: float(row["val_f1"]))


def per_class_table(row: dict, age_edges=(30, 60)) -> pd.DataFrame:
    """class, name, F1 and support (validation images of the class) for one epoch line."""
    f1 = list(row.get("per_class_f1") or [None] * NUM_CLASSES)
    confusion = row.get("confusion") or [[0] * NUM_CLASSES for _ in range(NUM_CLASSES)]
    return pd.DataFrame({
        "class": range(NUM_CLASSES),
        "name": [class_name(label, age_edges) for label in range(NUM_CLASSES)],
        "F1": [None if value is None else round(float(value), 4) for value in f1],
        "support": [int(sum(confusion[label])) for label in range(NUM_CLASSES)],
    })


def confusion_table(row: dict) -> pd.DataFrame:
    """Long table true, predicted, count (every cell, zeros included) of one epoch line's confusion."""
    confusion = row.get("confusion") or []
    cells = [{"true": true, "predicted": predicted, "count": int(count)}
             for true, counts in enumerate(confusion) for predicted, count in enumerate(counts)]
    return pd.DataFrame(cells, columns=["true", "predicted", "count"])


def confusion_chart(table: pd.DataFrame) -> alt.Chart:
    base = alt.Chart(table).encode(x=alt.X("predicted:O", title="predicted class"),
                                   y=alt.Y("true:O", title="true class"))
    heat = base.mark_rect().encode(color=alt.Color("count:Q", scale=alt.Scale(scheme="blues")),
                                   tooltip=["true", "predicted", "count"])
    text = base.mark_text(fontSize=9).encode(text=alt.condition(alt.datum.count > 0, "count:Q", alt.value("")))
    return (heat + text).properties(height=420)


def error_cells(table: pd.DataFrame) -> pd.DataFrame:
    """Off-diagonal cells with images, most frequent confusions first."""
    wrong = table[(table["true"] != table["predicted"]) & (table["count"] > 0)]
    return wrong.sort_values("count", ascending=False, kind="stable").reset_index(drop=True)


VAL_PREDICTIONS = "val_predictions.csv"


def read_val_predictions(run_dir) -> pd.DataFrame | None:
    """Per-image validation predictions of the best checkpoint (path, label, pred, epoch), if computed."""
    path = Path(run_dir) / VAL_PREDICTIONS
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError):
        return None
    if not {"path", "label", "pred", "epoch"} <= set(table.columns):
        return None
    best = read_status_file(run_dir).get("best_epoch")
    if best is not None and int(table["epoch"].iloc[0] if len(table) else -1) != int(best):
        return None  # a newer best checkpoint exists
    return table


def compute_val_predictions(run_dir, progress=None) -> pd.DataFrame:
    """Run the best checkpoint over the run's validation split (same split and pipeline as training) and
    keep the per-image answers in the run directory. Imports torch: call it only on demand."""
    from core.data.datasets import MaskTrainDataset
    from core.data.layout import scan_train
    from core.data.split import split_by_profile
    from core.train.distributed import DistInfo
    from core.train.inputs import create_reader, create_transforms
    from core.train.predict import load_run_model, predict_scores
    from core.train.trainer import create_loader_for, resolve_data_dir

    model, config, state = load_run_model(run_dir, "best")
    device = next(model.parameters()).device
    scan = scan_train(resolve_data_dir(config), age_edges=tuple(config.data.age_edges))
    _, val_images = split_by_profile(scan.images, config.data.val_ratio, config.data.split_seed)
    _, val_transform = create_transforms(config)
    dataset = MaskTrainDataset(scan.data_dir, val_images, transform=val_transform,
                               reader=create_reader(config, val_transform, data_dir=scan.data_dir))
    loader = create_loader_for(dataset, config, train=False, dist_info=DistInfo(0, 1, 0, device))
    answers = predict_scores(model, loader, device, progress=progress, amp=config.train.amp,
                             channels_last=config.train.channels_last).argmax(1)
    table = pd.DataFrame({"path": val_images["path"].to_numpy(), "label": val_images["label"].to_numpy(),
                          "pred": answers, "epoch": int(state.get("epoch", 0))})
    table.to_csv(Path(run_dir) / VAL_PREDICTIONS, index=False)
    return table


def cell_images(predictions: pd.DataFrame, true: int, predicted: int, limit: int = 24) -> pd.DataFrame:
    """The validation images of one confusion cell (true class, predicted class)."""
    hits = predictions[(predictions["label"] == true) & (predictions["pred"] == predicted)]
    return hits.head(limit).reset_index(drop=True)


# ---------------------------------------------------------------- submissions

def class_distribution(labels, run_label: str) -> pd.DataFrame:
    """Share of each class (0..17) among `labels`, for the side-by-side distribution chart."""
    counts = pd.Series(list(labels), dtype="int64").value_counts().reindex(range(NUM_CLASSES), fill_value=0)
    total = max(int(counts.sum()), 1)
    return pd.DataFrame({"class": range(NUM_CLASSES), "share": (counts / total).round(4).values,
                         "count": counts.values, "set": run_label})


def distributions(label_sets: dict) -> pd.DataFrame:
    """class_distribution of each named label set, in one table (empty sets left out)."""
    tables = [class_distribution(labels, name) for name, labels in label_sets.items() if len(labels)]
    return pd.concat(tables, ignore_index=True) if tables else class_distribution([], "none").iloc[:0]


def distribution_chart(table: pd.DataFrame) -> alt.Chart:
    return (alt.Chart(table).mark_bar()
            .encode(x=alt.X("class:O"), xOffset="set:N", y=alt.Y("share:Q", axis=alt.Axis(format="%")),
                    color="set:N", tooltip=["set", "class", "count", alt.Tooltip("share:Q", format=".1%")])
            .properties(height=260))


def run_data_dir(run_dir) -> Path:
    """The data directory a run trained on (a relative data.dir is relative to where the trainer ran)."""
    from core.train.launch import REPO_ROOT

    data_dir = Path(str(read_config(run_dir).get("data", {}).get("dir") or "")).expanduser()
    return data_dir if data_dir.is_absolute() else REPO_ROOT / data_dir


def submission_runs(root) -> list[Path]:
    """Runs with a checkpoint to predict with, best first (the leaderboard's order)."""
    board = leaderboard(root)
    if board.empty:
        return []
    return [Path(root) / name for name in board["run"]
            if (Path(root) / name / "best.pt").exists() or (Path(root) / name / "last.pt").exists()]
