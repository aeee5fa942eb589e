"""Altair charts for the Loader page (plain functions: data in, chart out)."""
from __future__ import annotations

import json

import altair as alt
import pandas as pd

from core.i18n import t


def throughput_table(result: dict) -> pd.DataFrame:
    return pd.DataFrame(result["rows"], columns=["loader", "num_workers", "batch_size", "images_per_s",
                                                 "ratio_to_baseline", "first_batch_s"])


def throughput_chart(result: dict) -> alt.Chart:
    """images/s per num_workers, one bar per loader, one panel per batch size."""
    table = throughput_table(result)
    return alt.Chart(table).mark_bar().encode(
        x=alt.X("loader:N", sort=["baseline", "default", "cached"], title=None),
        y=alt.Y("images_per_s:Q", title=t("loader.chart.images_per_s")),
        color=alt.Color("loader:N", sort=["baseline", "default", "cached"]),
        column=alt.Column("num_workers:O", title="num_workers"),
        row=alt.Row("batch_size:O", title="batch_size"),
        tooltip=["loader", "num_workers", "batch_size", "images_per_s", "ratio_to_baseline", "first_batch_s"],
    ).properties(width=90, height=160)


def class_count_chart(counts: pd.DataFrame) -> alt.Chart:
    """Share of each class: drawn by the sampler vs present in the dataset."""
    return alt.Chart(counts).mark_bar().encode(
        x=alt.X("class:O", title=t("loader.chart.class")),
        xOffset="source:N",
        y=alt.Y("share:Q", title=t("loader.chart.share"), axis=alt.Axis(format="%")),
        color=alt.Color("source:N", title=None, legend=alt.Legend(labelExpr=_source_names())),
        tooltip=["class", "name", "source", "count", alt.Tooltip("share:Q", format=".1%")],
    ).properties(height=240)


def _source_names() -> str:
    """A Vega expression naming the `source` values (kept English in the data) in the session's language."""
    names = {source: t(f"loader.chart.{source}") for source in ("sampled", "dataset")}
    return " : ".join(f"datum.label === {json.dumps(source)} ? {json.dumps(name, ensure_ascii=False)}"
                      for source, name in names.items()) + " : datum.label"


def sweep_headers() -> dict[str, str]:
    """Column labels of the sweep's tables in the session's language (parameter names stay as they are)."""
    names = ("images_per_s", "ratio_to_baseline", "first_batch_s", "epochs")
    return {name: t(f"loader.chart.{name}") for name in names}
