"""Altair charts and the long tables behind them: a run's curves, two runs overlaid, the step loss,
the confusion matrix (clickable) and class distributions. No torch here."""
from __future__ import annotations

from pathlib import Path

import altair as alt
import pandas as pd

from core.i18n import t
from core.labels import DEFAULT_AGE_EDGES, GENDER_NAMES, MASK_NAMES, NUM_CLASSES, age_band_names, class_name, decode
from core.train.follow import epoch_rows, step_rows
from core.train.runs import read_metrics

METRIC_NAMES = {"loss": "loss", "acc": "accuracy", "f1": "macro F1"}  # the tables' values; titles via metric_title


def metric_title(metric: str) -> str:
    """A metric's chart title in the session's language ("macro F1" -> charts_train.metrics.f1)."""
    short = {name: short for short, name in METRIC_NAMES.items()}.get(metric)
    return t(f"charts_train.metrics.{short}") if short else metric


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
    encoding = dict(x=alt.X("epoch:Q", title=t("charts_train.epoch"), axis=alt.Axis(tickMinStep=1, format="d")),
                    y=alt.Y("value:Q", title=metric_title(metric), scale=alt.Scale(zero=metric != "loss")),
                    color=alt.Color(colour, title=t("charts_train.run" if by_run else "charts_train.split")),
                    strokeDash=alt.StrokeDash("split:N", sort=["val", "train"], title=t("charts_train.split")),
                    tooltip=["epoch", "split", alt.Tooltip("value:Q", format=".4f")] + (["run"] if by_run else []))
    return alt.Chart(data, title=metric_title(metric)).mark_line(point=True).encode(**encoding).properties(height=220)


def step_loss_chart(table: pd.DataFrame) -> alt.Chart:
    return (alt.Chart(table, title=t("charts_train.step_loss")).mark_line()
            .encode(x=alt.X("epoch:Q", title=t("charts_train.epoch")),
                    y=alt.Y("loss:Q", title=t("charts_train.metrics.loss"), scale=alt.Scale(zero=False)),
                    tooltip=[alt.Tooltip("epoch:Q", format=".2f"), alt.Tooltip("loss:Q", format=".4f")])
            .properties(height=220))


CELL_SELECTION = "cell"  # the confusion chart's click: its fields are the clicked cell's true and predicted class
ZERO_COLOUR = "#f3f3f3"  # a cell no image fell in: grey and blank, never the palest blue of a count of 1


def axis_class_names(age_edges=DEFAULT_AGE_EDGES) -> list[str]:
    """Short class names for chart axes, number first: '14 not wear/M/30-59'."""
    bands = age_band_names(age_edges)
    names = []
    for label in range(NUM_CLASSES):
        mask, gender, age = decode(label)
        names.append(f"{label} {MASK_NAMES[mask]}/{GENDER_NAMES[gender][0].upper()}/{bands[age]}")
    return names


def confusion_chart(table: pd.DataFrame, age_edges=DEFAULT_AGE_EDGES) -> alt.LayerChart:
    """The confusion heat map with every class named on both axes, empty cells grey and blank, counts written in
    the others; clicking a cell selects it (selection CELL_SELECTION with fields true, predicted)."""
    names = axis_class_names(age_edges)
    data = table.assign(true_name=[names[int(label)] for label in table["true"]],
                        predicted_name=[names[int(label)] for label in table["predicted"]],
                        true_class=[class_name(int(label), age_edges) for label in table["true"]],
                        predicted_class=[class_name(int(label), age_edges) for label in table["predicted"]])
    largest = max(int(data["count"].max()) if len(data) else 1, 1)
    every_label = dict(labelOverlap=False, labelLimit=160, labelFontSize=10)  # 18 names, none dropped
    base = alt.Chart(data).encode(
        x=alt.X("predicted_name:N", sort=names, scale=alt.Scale(domain=names), title=t("charts_train.predicted_class"),
                axis=alt.Axis(labelAngle=-55, **every_label)),
        y=alt.Y("true_name:N", sort=names, scale=alt.Scale(domain=names), title=t("charts_train.true_class"),
                axis=alt.Axis(**every_label)))
    click = alt.selection_point(name=CELL_SELECTION, fields=["true", "predicted"], on="click")
    counts = alt.Color("count:Q", title=t("charts_train.images"),
                       scale=alt.Scale(domain=[1, largest], range=["#c6dbef", "#08306b"]))
    heat = base.mark_rect(stroke="white", strokeWidth=0.5).encode(
        color=alt.condition(alt.datum.count == 0, alt.value(ZERO_COLOUR), counts),
        stroke=alt.condition(click, alt.value("#e45756"), alt.value("white")),
        strokeWidth=alt.condition(click, alt.value(2.5), alt.value(0.5)),
        tooltip=[alt.Tooltip("true_class:N", title=t("charts_train.true_tooltip")),
                 alt.Tooltip("predicted_class:N", title=t("charts_train.predicted_tooltip")),
                 alt.Tooltip("count:Q", title=t("charts_train.images"))]).add_params(click)
    text = base.mark_text(fontSize=10).encode(
        text=alt.condition(alt.datum.count > 0, "count:Q", alt.value("")),
        color=alt.condition(alt.datum.count > largest / 2, alt.value("white"), alt.value("black")))
    return (heat + text).properties(height=460)


def selected_cell(event) -> tuple[int, int] | None:
    """(true, predicted) of the confusion cell clicked, from st.altair_chart's selection; None when none is."""
    try:
        points = event["selection"][CELL_SELECTION]
    except (KeyError, TypeError):
        return None
    if not points or not isinstance(points, list):
        return None
    try:
        return int(points[0]["true"]), int(points[0]["predicted"])
    except (KeyError, TypeError, ValueError):
        return None


def distribution_chart(table: pd.DataFrame) -> alt.Chart:
    return (alt.Chart(table).mark_bar()
            .encode(x=alt.X("class:O"), xOffset="set:N", y=alt.Y("share:Q", axis=alt.Axis(format="%")),
                    color="set:N", tooltip=["set", "class", "count", alt.Tooltip("share:Q", format=".1%")])
            .properties(height=260))
