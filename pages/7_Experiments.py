"""Experiments: variants x folds x seeds run one after another in the background, then compared honestly
(mean ± spread per variant, paired bootstrap verdicts on the same validation images); the winner becomes
a Training config in one click."""
import altair as alt
import pandas as pd
import streamlit as st

from core.access import require_access
from core.augment import preset_names, save_pipeline
from core.config import load_config
from core.errors import MaskLabError
from core.experiments.compare import compare_experiment
from core.experiments.estimate import estimate_seconds, measured_rate
from core.experiments.queue import (cancel_experiment, create_experiment, experiment_progress, experiments_root,
                                    runner_pid, save_variant_config, start_runner)
from core.experiments.spec import make_spec
from core.train.follow import format_seconds
from core.train.launch import config_sources, runs_root
from core.ui import current_data_dir, load_train_scan, show_error

require_access()  # first: a URL can reach a page without app.py (see core/access.py)

PIPELINE_KEY = "aug_pipeline"  # the Augmentation page's pipeline (core.augment.editor)
BUILTIN = "built-in: Resize to data.image_size + Normalize"
PAGE_PIPELINE = "the Augmentation page's pipeline"
WATCH_KEY = "exp_watch"
WATCH_REQUEST_KEY = "exp_watch_request"  # set before a rerun: a drawn widget's value cannot be changed
NOTES = """
**Is B better than A, by more than the noise?** One validation split of a few hundred people moves macro F1
by a few hundredths between seeds. Each variant here trains on K folds split by person (every image is
validated once, by the model that did not train on it: the out-of-fold F1) and on several seeds; two
variants are compared on the same images, resampled together (a paired bootstrap), so the interval shows
what the data can tell apart.
"""

st.set_page_config(page_title="Experiments · Mask Lab", page_icon="😷", layout="wide")
st.title("Experiments")
st.caption("Variants x folds x seeds, queued as ordinary runs and run in the background; closing the tab does "
           "not stop them.")
with st.expander("Why folds, seeds and paired comparisons"):
    st.markdown(NOTES)

root = runs_root()
folders = sorted((p.parent for p in experiments_root(root).glob("*/experiment.yaml")),
                 key=lambda p: p.stat().st_mtime, reverse=True)


def watch_panel(folder, ticking: bool) -> None:
    progress = experiment_progress(folder)
    if ticking and progress["state"] != "running":
        st.rerun()
    counts = ", ".join(f"{count} {state}" for state, count in progress["counts"].items() if count)
    st.markdown(f"**{progress['name']}** — {progress['state']} ({counts})")
    items = pd.DataFrame(progress["items"])
    st.dataframe(items[["name", "variant", "fold", "seed", "state", "epoch", "epochs", "best_val_f1", "error"]],
                 hide_index=True, key="exp_items")
    result = compare_experiment(folder, n_boot=500)
    table = pd.DataFrame([{k: row[k] for k in ("variant", "runs", "planned", "f1_mean", "f1_std", "oof_f1",
                                                "oof_f1_std")} for row in result["variants"]])
    st.subheader("Comparison")
    st.dataframe(table, hide_index=True, key="exp_compare")
    measured = table.dropna(subset=["f1_mean"])
    if not measured.empty:
        spread = measured.assign(low=measured["f1_mean"] - measured["f1_std"].fillna(0),
                                 high=measured["f1_mean"] + measured["f1_std"].fillna(0))
        points = alt.Chart(spread).mark_point(filled=True, size=80).encode(
            x=alt.X("f1_mean:Q", title="val macro F1 (mean ± spread over folds and seeds)"), y="variant:N")
        bars = alt.Chart(spread).mark_rule().encode(x="low:Q", x2="high:Q", y="variant:N")
        st.altair_chart((bars + points).properties(title="Macro F1 per variant"), width="stretch")
    for pair in result["pairs"]:
        st.markdown(f"- {pair['verdict']} — {pair['images']} images, {pair['seeds']} seed(s)")
    per_class = {row["variant"]: row["per_class_f1"] for row in result["variants"] if row["per_class_f1"]}
    if per_class:
        with st.expander("Per-class F1 (out of fold)"):
            st.dataframe(pd.DataFrame(per_class).rename_axis("class"), key="exp_per_class")
    buttons = st.columns(3)
    if progress["state"] == "running" and buttons[0].button("Cancel experiment", key="exp_cancel"):
        cancel_experiment(folder)
        st.info("Cancel sent: the running run saves and stops; Resume continues the queue.")
    if progress["state"] in ("cancelled", "failed", "queued") and buttons[1].button("Resume", key="exp_resume"):
        start_runner(folder)
        st.rerun()
    ranked = measured.sort_values("oof_f1" if measured["oof_f1"].notna().any() else "f1_mean", ascending=False)
    if not ranked.empty:
        winner = ranked.iloc[0]["variant"]
        if buttons[2].button(f"Train {winner} (open in Training)", key="exp_promote",
                             help="Write the variant's config to configs/ and start from it on the Training page"):
            try:
                path = save_variant_config(folder, winner)
            except MaskLabError as error:
                show_error(error)
            else:
                st.session_state["train_base"] = f"configs/{path.name}"
                st.success(f"Wrote {path}; it is the starting point on the Training page.")


st.header("Watch an experiment")
if not folders:
    st.info(f"No experiments yet under {experiments_root(root)}. Compose one below.")
else:
    names = [folder.name for folder in folders]
    request = st.session_state.pop(WATCH_REQUEST_KEY, None)
    if request in names:
        st.session_state[WATCH_KEY] = request
    elif st.session_state.get(WATCH_KEY) not in names:
        st.session_state[WATCH_KEY] = names[0]
    watched = folders[names.index(st.selectbox("Experiment", names, key=WATCH_KEY))]
    ticking = runner_pid(watched) is not None
    st.fragment(run_every=2 if ticking else None)(watch_panel)(watched, ticking)

# ---------------------------------------------------------------- compose
st.header("New experiment")
sources = config_sources(root)
source = st.selectbox("Base config", list(sources), key="exp_base")
page_pipeline = st.session_state.get(PIPELINE_KEY)
choices = [BUILTIN] + ([PAGE_PIPELINE] if page_pipeline is not None else []) + preset_names()
columns = st.columns(4)
name = columns[0].text_input("Name", key="exp_name", placeholder="e.g. flip-vs-none")
folds = columns[1].number_input("Folds (by person)", min_value=0, max_value=20, value=3, key="exp_folds",
                                help="0 or 1 = the plain split of data.val_ratio")
seeds_text = columns[2].text_input("Seeds", value="0", key="exp_seeds", help="comma-separated, e.g. 0,1,2")
epochs = columns[3].number_input("Epochs", min_value=1, max_value=1000, value=4, key="exp_epochs")
count = st.number_input("Variants", min_value=1, max_value=6, value=2, key="exp_count")
variants, pipelines = {}, {}
for index in range(int(count)):
    left, middle, right = st.columns([1, 2, 2])
    variant = left.text_input("Variant", value="ABCDEF"[index], key=f"exp_variant_{index}")
    pipeline = middle.selectbox("Training augmentation", choices, key=f"exp_pipeline_{index}")
    extra = right.text_area("Other settings (key=value per line)", key=f"exp_extra_{index}", height=68,
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
    show_error(MaskLabError(f"Seeds: {seeds_text!r} must be whole numbers separated by commas"))
    st.stop()
except MaskLabError as error:
    show_error(error, "Fix it above; nothing is queued until the experiment is valid.")
    st.stop()

runs_count = len(spec.variants) * len(spec.seeds) * max(1, spec.folds)
rate = measured_rate(root)
if rate is None:
    st.caption(f"{runs_count} runs. No finished run to measure the step rate yet: train a short run first "
               "for an estimate.")
else:
    try:
        images = len(load_train_scan().images)
        seconds = estimate_seconds(images, spec.folds, runs_count, int(epochs), rate, base.data.val_ratio)
        st.caption(f"{runs_count} runs, about {format_seconds(seconds)} one after another (measured on run "
                   f"{rate['run']}: {rate['model']} at {rate['image_size'][0]}x{rate['image_size'][1]}, "
                   f"{rate['seconds_per_image'] * 1000:.1f} ms per image per epoch).")
    except MaskLabError as error:
        show_error(error)
if st.button("Start experiment", key="exp_start", type="primary", disabled=not name,
             help="Name the experiment first" if not name else "Queue the runs and start them in the background"):
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
