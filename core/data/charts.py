"""Altair charts of the EDA tables (plain functions: table in, chart out; no computation here)."""
from __future__ import annotations

import altair as alt
import pandas as pd

from core.i18n import t

RARE_SHARE = 0.02  # classes under 2% of the images are drawn in the warning colour



def distribution_chart(table: pd.DataFrame, title: str, horizontal: bool = False) -> alt.LayerChart:
    """Bars of a `core.data.eda.distribution` table, in label order, every value named, each bar's count and
    share written at its end, rare values in the warning colour with a legend that says what that means."""
    rare_name, common_name = t("charts_data.rare", share=RARE_SHARE), t("charts_data.common", share=RARE_SHARE)
    data = table.assign(label=[f"{v}: {n}" for v, n in zip(table["value"], table["name"])],
                        rare=table["share"] < RARE_SHARE,
                        size=[rare_name if rare else common_name for rare in table["share"] < RARE_SHARE],
                        count_text=[f"{c} ({s:.0%})" for c, s in zip(table["count"], table["share"])])
    labels = data["label"].tolist()
    every_label = dict(labelOverlap=False, labelLimit=260)  # never drop a value's name for lack of room
    category = alt.X("label:N", sort=labels, scale=alt.Scale(domain=labels), title=None,
                     axis=alt.Axis(labelAngle=-40, **every_label))
    amount = alt.Y("count:Q", title=t("charts_data.count"))
    if horizontal:
        category = alt.Y("label:N", sort=labels, scale=alt.Scale(domain=labels), title=None, axis=alt.Axis(**every_label))
        amount = alt.X("count:Q", title=t("charts_data.count"), scale=alt.Scale(nice=True, padding=40))
    base = alt.Chart(data).encode(category, amount)
    bars = base.mark_bar().encode(
        color=alt.Color("size:N", scale=alt.Scale(domain=[common_name, rare_name], range=["#4c78a8", "#e45756"]),
                        legend=alt.Legend(title=None, orient="bottom", labelLimit=0, labelFontSize=12)),
        tooltip=["value", "name", "count", alt.Tooltip("share:Q", format=".1%")],
    )
    written = (base.mark_text(align="left", dx=3, fontSize=11) if horizontal
               else base.mark_text(baseline="bottom", dy=-2, fontSize=10)).encode(text="count_text:N")
    layered = alt.layer(bars, written).properties(title=title)
    return layered.properties(height=22 * len(data) + 20) if horizontal else layered


def age_histogram(ages: pd.DataFrame, age_edges, bin_width: int = 1) -> alt.LayerChart:
    """People per age (a `core.data.eda.age_counts` table) with the band edges as red rules."""
    bars = alt.Chart(ages).mark_bar().encode(
        x=alt.X("age:Q", bin=alt.Bin(step=bin_width), title=t("charts_data.age")),
        y=alt.Y("sum(people):Q", title=t("charts_data.people")),
        tooltip=[alt.Tooltip("age:Q"), alt.Tooltip("sum(people):Q", title=t("charts_data.people"))],
    )
    edges = pd.DataFrame({"edge": list(age_edges), "label": [t("charts_data.edge", edge=e) for e in age_edges]})
    rules = alt.Chart(edges).mark_rule(color="#e45756", strokeWidth=2).encode(x="edge:Q", tooltip=["label"])
    labels = alt.Chart(edges).mark_text(align="left", dx=4, dy=-6, color="#e45756").encode(
        x="edge:Q", y=alt.value(0), text="label:N")
    return alt.layer(bars, rules, labels).properties(title=t("charts_data.people_per_age"))


def cross_heatmap(table: pd.DataFrame, title: str) -> alt.LayerChart:
    """A heat map of a `core.data.eda.cross_table` (totals left out) with the counts written in."""
    body = table.drop(index="total", columns="total", errors="ignore")
    long = body.reset_index().melt(id_vars=body.index.name, var_name=body.columns.name, value_name="count")
    rows, columns = body.index.name, body.columns.name
    base = alt.Chart(long).encode(
        x=alt.X(f"{columns}:N", sort=list(body.columns)), y=alt.Y(f"{rows}:N", sort=list(body.index)))
    cells = base.mark_rect().encode(color=alt.Color("count:Q", scale=alt.Scale(scheme="blues")),
                                    tooltip=[rows, columns, "count"])
    text = base.mark_text(fontSize=14).encode(text="count:Q")
    return alt.layer(cells, text).properties(title=title)


def whatif_chart(whatif: pd.DataFrame) -> alt.Chart:
    """The 18-class counts side by side for each old-age edge (a `core.data.eda.age_edge_whatif` table)."""
    settings = list(dict.fromkeys(whatif["setting"]))
    return alt.Chart(whatif, title=t("charts_data.whatif")).mark_bar().encode(
        x=alt.X("label:O", title=t("charts_data.class")),
        xOffset=alt.XOffset("setting:N", sort=settings),
        y=alt.Y("count:Q", title=t("charts_data.images")),
        color=alt.Color("setting:N", sort=settings, title=t("charts_data.young_old_edge"), legend=alt.Legend(orient="bottom")),
        tooltip=["setting", "label", "class", "count"],
    )


def brightness_histogram(per_image: pd.DataFrame) -> alt.Chart:
    """Sampled images per brightness (mean luma, 0..255)."""
    return alt.Chart(per_image, title=t("charts_data.brightness")).mark_bar().encode(
        x=alt.X("brightness:Q", bin=alt.Bin(maxbins=30), title=t("charts_data.mean_luma")),
        y=alt.Y("count():Q", title=t("charts_data.images")),
    )


def channel_means_chart(per_image: pd.DataFrame) -> alt.Chart:
    """Spread of per-image channel means (0..1): how much colour varies between photos."""
    long = per_image.melt(value_vars=["mean_r", "mean_g", "mean_b"], var_name="channel", value_name="mean")
    long["channel"] = long["channel"].str[-1].str.upper()
    return alt.Chart(long, title=t("charts_data.channel_means")).mark_boxplot().encode(
        x=alt.X("channel:N", sort=["R", "G", "B"]), y=alt.Y("mean:Q", title=t("charts_data.mean")),
        color=alt.Color("channel:N", scale=alt.Scale(domain=["R", "G", "B"], range=["#e45756", "#54a24b", "#4c78a8"]),
                        legend=None),
    )
