"""Experiments: variants x folds x seeds run one after another in the background, then compared honestly
(mean ± spread per variant, paired bootstrap verdicts on the same validation images); the winner becomes
a Training config in one click."""
import altair as alt
import pandas as pd
import streamlit as st

from core.access import require_access
from core.augment import preset_names, save_pipeline
from core.config import load_config
from core.errors import ConfigError, MaskLabError
from core.experiments.compare import compare_experiment
from core.experiments.estimate import estimate_seconds, measured_rate
from core.experiments.queue import (cancel_experiment, create_experiment, experiment_progress, experiments_root,
                                    runner_pid, save_variant_config, start_runner)
from core.experiments.spec import make_spec
from core.i18n import t
from core.train.follow import format_seconds
from core.train.launch import config_sources, runs_root
from core.ui import current_data_dir, load_train_scan, page_header, show_error

require_access()  # first: a URL can reach a page without app.py (see core/access.py)

PIPELINE_KEY = "aug_pipeline"  # the Augmentation page's pipeline (core.augment.editor)
# The two pipelines that are not presets: option values that no preset file can be named, shown in words.
BUILTIN = "<built-in>"
PAGE_PIPELINE = "<augmentation page>"
WATCH_KEY = "exp_watch"
WATCH_REQUEST_KEY = "exp_watch_request"  # set before a rerun: a drawn widget's value cannot be changed

page_header("experiments", notes=('notes_title', 'notes'))

root = runs_root()
folders = sorted((p.parent for p in experiments_root(root).glob("*/experiment.yaml")),
                 key=lambda p: p.stat().st_mtime, reverse=True)


def watch_panel(folder, ticking: bool) -> None:
    progress = experiment_progress(folder)
    if ticking and progress["state"] != "running":
        st.rerun()
    counts = ", ".join(t("experiments.state_count", count=count, state=t(f"experiments.states.{state}"))
                       for state, count in progress["counts"].items() if count)
    st.markdown(t("experiments.summary", name=progress["name"], state=t(f"experiments.states.{progress['state']}"),
                  counts=counts))
    items = pd.DataFrame(progress["items"])
    st.dataframe(headed(items[["name", "variant", "fold", "seed", "state", "epoch", "epochs", "best_val_f1", "error"]]),
                 hide_index=True, key="exp_items")
    result = compare_experiment(folder, n_boot=500)
    table = pd.DataFrame([{k: row[k] for k in ("variant", "runs", "planned", "f1_mean", "f1_std", "oof_f1",
                                                "oof_f1_std")} for row in result["variants"]])
    st.subheader(t("experiments.comparison"))
    st.dataframe(headed(table), hide_index=True, key="exp_compare")
    measured = table.dropna(subset=["f1_mean"])
    if not measured.empty:
        spread = measured.assign(low=measured["f1_mean"] - measured["f1_std"].fillna(0),
                                 high=measured["f1_mean"] + measured["f1_std"].fillna(0))
        points = alt.Chart(spread).mark_point(filled=True, size=80).encode(
            x=alt.X("f1_mean:Q", title=t("experiments.chart_x")),
            y=alt.Y("variant:N", title=t("experiments.columns.variant")))
        bars = alt.Chart(spread).mark_rule().encode(x="low:Q", x2="high:Q", y="variant:N")
        st.altair_chart((bars + points).properties(title=t("experiments.chart_title")), width="stretch")
    for pair in result["pairs"]:
        st.markdown(t("experiments.pair", verdict=pair["verdict"], images=pair["images"], seeds=pair["seeds"]))
    per_class = {row["variant"]: row["per_class_f1"] for row in result["variants"] if row["per_class_f1"]}
    if per_class:
        with st.expander(t("experiments.per_class")):
            st.dataframe(pd.DataFrame(per_class).rename_axis(t("experiments.columns.class")), key="exp_per_class")
    buttons = st.columns(3)
    if progress["state"] == "running" and buttons[0].button(t("experiments.cancel"), key="exp_cancel"):
        cancel_experiment(folder)
        st.info(t("experiments.cancel_sent"))
    if progress["state"] in ("cancelled", "failed", "queued") and \
            buttons[1].button(t("experiments.resume"), key="exp_resume"):
        start_runner(folder)
        st.rerun()
    ranked = measured.sort_values("oof_f1" if measured["oof_f1"].notna().any() else "f1_mean", ascending=False)
    if not ranked.empty:
        winner = ranked.iloc[0]["variant"]
        if buttons[2].button(t("experiments.promote", variant=winner), key="exp_promote",
                             help=t("experiments.promote_help")):
            try:
                path = save_variant_config(folder, winner)
            except MaskLabError as error:
                show_error(error)
            else:
                st.session_state["train_base"] = f"configs/{path.name}"
                st.success(t("experiments.promoted", path=path))


def headed(frame: pd.DataFrame) -> pd.DataFrame:
    """The table with its column names in the session's language (the names of the data in English)."""
    return frame.rename(columns={name: t(f"experiments.columns.{name}") for name in frame.columns})


st.header(t("experiments.watch"))
if not folders:
    st.info(t("experiments.none_yet", root=experiments_root(root)))
else:
    names = [folder.name for folder in folders]
    request = st.session_state.pop(WATCH_REQUEST_KEY, None)
    if request in names:
        st.session_state[WATCH_KEY] = request
    elif st.session_state.get(WATCH_KEY) not in names:
        st.session_state[WATCH_KEY] = names[0]
    watched = folders[names.index(st.selectbox(t("experiments.experiment"), names, key=WATCH_KEY))]
    ticking = runner_pid(watched) is not None
    st.fragment(run_every=2 if ticking else None)(watch_panel)(watched, ticking)

# ---------------------------------------------------------------- compose
st.header(t("experiments.new"))
sources = config_sources(root)
source = st.selectbox(t("experiments.base"), list(sources), key="exp_base")
page_pipeline = st.session_state.get(PIPELINE_KEY)
choices = [BUILTIN] + ([PAGE_PIPELINE] if page_pipeline is not None else []) + preset_names()
# Names made in this run (the session's language) and looked up later: a format_func may be called again outside it.
choice_names = {BUILTIN: t("experiments.builtin"), PAGE_PIPELINE: t("experiments.page_pipeline")}
columns = st.columns(4)
name = columns[0].text_input(t("experiments.name"), key="exp_name", placeholder=t("experiments.name_placeholder"))
folds = columns[1].number_input(t("experiments.folds"), min_value=0, max_value=20, value=3, key="exp_folds",
                                help=t("experiments.folds_help"))
seeds_text = columns[2].text_input(t("experiments.seeds"), value="0", key="exp_seeds", help=t("experiments.seeds_help"))
epochs = columns[3].number_input(t("experiments.epochs"), min_value=1, max_value=1000, value=4, key="exp_epochs")
count = st.number_input(t("experiments.variants"), min_value=1, max_value=6, value=2, key="exp_count")
variants, pipelines = {}, {}
for index in range(int(count)):
    left, middle, right = st.columns([1, 2, 2])
    variant = left.text_input(t("experiments.variant"), value="ABCDEF"[index], key=f"exp_variant_{index}")
    pipeline = middle.selectbox(t("experiments.augmentation"), choices, key=f"exp_pipeline_{index}",
                                format_func=lambda choice: choice_names.get(choice, choice))
    extra = right.text_area(t("experiments.other_settings"), key=f"exp_extra_{index}", height=68,
                            placeholder="loss.name=focal\ndata.age_edges=[30, 58]")
    overrides = dict(line.split("=", 1) for line in extra.splitlines() if "=" in line)
    overrides = {key.strip(): value.strip() for key, value in overrides.items()}
    if pipeline == PAGE_PIPELINE:
        pipelines[variant] = page_pipeline
    elif pipeline != BUILTIN:
        overrides["augment.train"] = pipeline
    variants[variant] = overrides

try:
    seeds = [int(part) for part in seeds_text.split(",") if part.strip()]
    base = load_config(sources[source], overrides=[f"data.dir={current_data_dir()}", f"train.epochs={int(epochs)}"])
    pipeline_dir = experiments_root(root) / "pipelines"
    for variant in pipelines:
        variants[variant]["augment.train"] = str(pipeline_dir / f"{name or 'experiment'}-{variant}.yaml")
    spec = make_spec(name or "unnamed", base, variants, folds=int(folds), seeds=seeds)
except ValueError:
    show_error(ConfigError.of("errors_experiments.seeds_text", text=seeds_text))
    st.stop()
except MaskLabError as error:
    show_error(error, t("experiments.fix_above"))
    st.stop()

runs_count = len(spec.variants) * len(spec.seeds) * max(1, spec.folds)
rate = measured_rate(root)
if rate is None:
    st.caption(t("experiments.runs_no_rate", runs=runs_count))
else:
    try:
        images = len(load_train_scan().images)
        seconds = estimate_seconds(images, spec.folds, runs_count, int(epochs), rate, base.data.val_ratio)
        st.caption(t("experiments.runs_estimate", runs=runs_count, duration=format_seconds(seconds), run=rate["run"],
                     model=rate["model"], width=rate["image_size"][0], height=rate["image_size"][1],
                     ms=rate["seconds_per_image"] * 1000))
    except MaskLabError as error:
        show_error(error)
if st.button(t("experiments.start"), key="exp_start", type="primary", disabled=not name,
             help=t("experiments.start_help_unnamed") if not name else t("experiments.start_help")):
    try:
        for variant, pipeline in pipelines.items():
            save_pipeline(pipeline, spec.variants[variant]["augment.train"])
        folder = create_experiment(spec, root=root)
        start_runner(folder)
    except MaskLabError as error:
        show_error(error)
    else:
        st.session_state[WATCH_REQUEST_KEY] = folder.name
        st.rerun()
