"""Altair charts of the timings (plain functions: data in, chart out)."""
from __future__ import annotations

import altair as alt
import pandas as pd

from core.augment.timing import StepTiming
from core.i18n import t


def step_timing_table(timings: list[StepTiming]) -> pd.DataFrame:
    return pd.DataFrame([{"order": i, "step": f"{i}. {t.name}", "ms_per_image": round(t.ms_per_image, 4),
                          "p": t.p, "output": t.output_size} for i, t in enumerate(timings, start=1)])


def step_timing_chart(timings: list[StepTiming]) -> alt.Chart:
    """One bar per step (pipeline order, top to bottom): median ms/image when the step is applied."""
    table = step_timing_table(timings)
    return alt.Chart(table).mark_bar().encode(
        x=alt.X("ms_per_image:Q", title=t("augmentation.chart_step_ms")),
        y=alt.Y("step:N", sort=alt.SortField("order"), title=None),
        tooltip=["step", "ms_per_image", "p", "output"],
    )


def backend_table(rows: list[dict]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=["step", "albumentations_ms", "torchvision_ms", "alb_over_tv", "torchvision"])
    return table.round({"albumentations_ms": 4, "torchvision_ms": 4, "alb_over_tv": 3})


def backend_chart(rows: list[dict]) -> alt.Chart:
    """Albumentations and torchvision bars side by side for each equivalent step."""
    long = pd.DataFrame([{"step": row["step"], "library": library, "ms_per_image": row[column]}
                         for row in rows
                         for library, column in (("Albumentations", "albumentations_ms"),
                                                 ("torchvision v2", "torchvision_ms"))])
    return alt.Chart(long).mark_bar().encode(
        x=alt.X("ms_per_image:Q", title=t("augmentation.chart_ms")),
        y=alt.Y("step:N", title=None, sort=None),
        yOffset="library:N",
        color=alt.Color("library:N", legend=alt.Legend(orient="bottom")),
        tooltip=["step", "library", "ms_per_image"],
    )
