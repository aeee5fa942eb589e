"""Altair charts and the long tables behind them: a run's curves, two runs overlaid, the step loss,
the confusion matrix and class distributions. No torch here."""
from __future__ import annotations

from pathlib import Path

import altair as alt
import pandas as pd

from core.train.follow import epoch_rows, step_rows
from core.train.runs import read_metrics

METRIC_NAMES = {"loss": "loss", "acc": "accuracy", "f1": "macro F1"}


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


def confusion_chart(table: pd.DataFrame) -> alt.Chart:
    base = alt.Chart(table).encode(x=alt.X("predicted:O", title="predicted class"),
                                   y=alt.Y("true:O", title="true class"))
    heat = base.mark_rect().encode(color=alt.Color("count:Q", scale=alt.Scale(scheme="blues")),
                                   tooltip=["true", "predicted", "count"])
    text = base.mark_text(fontSize=9).encode(text=alt.condition(alt.datum.count > 0, "count:Q", alt.value("")))
    return (heat + text).properties(height=420)


def distribution_chart(table: pd.DataFrame) -> alt.Chart:
    return (alt.Chart(table).mark_bar()
            .encode(x=alt.X("class:O"), xOffset="set:N", y=alt.Y("share:Q", axis=alt.Axis(format="%")),
                    color="set:N", tooltip=["set", "class", "count", alt.Tooltip("share:Q", format=".1%")])
            .properties(height=260))
