"""The leaderboard of every run and the tables of one run's best checkpoint (per-class F1, confusion
cells and their validation images) and of a submission's class mix. No torch here."""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pandas as pd

from core.i18n import t
from core.labels import DEFAULT_AGE_EDGES, NUM_CLASSES, class_name
from core.train.follow import epoch_rows, format_seconds, list_run_dirs, read_config, run_progress
from core.train.launch import read_status_file, timestamp
from core.train.runs import read_metrics

VAL_PREDICTIONS = "val_predictions.csv"  # written by core.train.predict.compute_val_predictions
# Settings always worth a leaderboard column; others appear when they differ between runs.
KEY_SETTINGS = ("model.name", "model.heads", "loss.name", "optim.name", "optim.lr", "loader.batch_size",
                "data.image_size")
# Short headers for the key settings, so the leaderboard fits a laptop screen: runs.columns.<name> in locales/.
SETTING_LABELS = {"model.name": "model", "model.heads": "heads", "loss.name": "loss", "optim.name": "optimizer",
                  "optim.lr": "lr", "loader.batch_size": "batch", "data.image_size": "size"}
# The leaderboard's own columns and their headers' keys (runs.columns.<key>); other settings keep their dotted key.
COLUMN_KEYS = {"run": "run", "state": "state", "best val F1": "best_val_f1", "val accuracy": "val_accuracy",
               "best epoch": "best_epoch", "epochs": "epochs", "time": "time", "started": "started", **SETTING_LABELS}
# Leaderboard columns the page leaves out: "model" repeats model.name, "time (s)" is there to sort by,
# the device of each run is on the Training page.
HIDDEN_COLUMNS = ("model", "time (s)", "device")
# Settings that differ between every pair of runs without saying anything about the experiment.
# train.epochs is the "epochs" column's total already (a resume may extend it).
IGNORED_SETTINGS = ("run.name", "run.root", "train.epochs")


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
    """{column: header} of the columns the Runs page shows, in order, in the session's language (short names for
    the key settings; any other setting by its dotted key, as in the config)."""
    return {column: t(f"runs.columns.{COLUMN_KEYS[column]}") if column in COLUMN_KEYS else column
            for column in board.columns if column not in HIDDEN_COLUMNS}


def _number(value):
    return None if value is None else round(float(value), 4)


def _started(run_dir: Path) -> str:
    stamp = timestamp(read_status_file(run_dir).get("started_at"))
    if stamp is None:
        stamp = run_dir.stat().st_mtime
    return datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M")


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


def per_class_table(row: dict, age_edges=DEFAULT_AGE_EDGES) -> pd.DataFrame:
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


def error_cells(table: pd.DataFrame) -> pd.DataFrame:
    """Off-diagonal cells with images, most frequent confusions first."""
    wrong = table[(table["true"] != table["predicted"]) & (table["count"] > 0)]
    return wrong.sort_values("count", ascending=False, kind="stable").reset_index(drop=True)


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


def cell_images(predictions: pd.DataFrame, true: int, predicted: int, limit: int = 24) -> pd.DataFrame:
    """The validation images of one confusion cell (true class, predicted class)."""
    hits = predictions[(predictions["label"] == true) & (predictions["pred"] == predicted)]
    return hits.head(limit).reset_index(drop=True)


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


def submission_runs(root) -> list[Path]:
    """Runs with a checkpoint to predict with, best first (the leaderboard's order)."""
    board = leaderboard(root)
    if board.empty:
        return []
    return [Path(root) / name for name in board["run"]
            if (Path(root) / name / "best.pt").exists() or (Path(root) / name / "last.pt").exists()]
