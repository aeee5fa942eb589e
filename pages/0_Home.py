"""Mask Lab home: the problem, the 18 classes, the metric, the ML pipeline, and the data every page works on."""
from pathlib import Path

import streamlit as st

from core.access import require_access
from core.data import default_data_dir, demo_data_dir
from core.data.eda import class_grid, class_table
from core.data.layout import resolve_data_dir, scan_train
from core.errors import MaskLabError
from core.labels import COMPETITION_AGE_EDGES, DEFAULT_AGE_EDGES, MAX_AGE_EDGE, MIN_AGE_EDGE, check_age_edges
from core.ui import (AGE_EDGES_KEY, DATA_DIR_KEY, clear_data_caches, current_age_edges, current_data_dir,
                     load_eval_table, load_train_scan, show_error)

require_access()  # first: a URL can reach a page without app.py (see core/access.py)

REPO_DIR = Path(__file__).resolve().parents[1]  # page links are paths from app.py, the entrypoint
# Lecture 1's machine-learning pipeline, and the pages that cover each step here. The lecture marks Data
# Mining and Deploy "Competition의 경우는 x" (not done in a competition): they stay on the chart, greyed,
# and a competition's own last step, the submission, hangs off Training instead of Deploy.
NOT_IN_COMPETITION = "Not part of a competition (lecture 1 marks it 'x' for competitions)"
PIPELINE_STEPS = [
    ("Domain Understanding", "The competition overview: this page.", [], True),
    ("Data Mining", f"{NOT_IN_COMPETITION}: the photos are collected and given to you.", [], False),
    ("Data Analysis", "EDA: the data spec, distributions, imbalance, image statistics.", ["pages/1_Data.py"], True),
    ("Data Processing", "Augmentation and the data loader that feeds the model.",
     ["pages/2_Augmentation.py", "pages/3_Loader.py"], True),
    ("Modeling", "Choose the model, the loss and the optimiser.", ["pages/4_Training.py"], True),
    ("Training", "Train, follow the curves, compare runs.", ["pages/4_Training.py", "pages/5_Runs.py"], True),
    ("Deploy", f"{NOT_IN_COMPETITION}: no model is put into service.", [], False),
]
# What a competition asks for in place of deploying (lecture 1, "Submission & Leaderboard").
SUBMISSION_STEP = ("Submission & Leaderboard", "Instead of deploying: predict the eval set, submit the file, "
                   "see the rank.", ["pages/6_Submission.py"], True)
PAGE_LABELS = {"pages/1_Data.py": "Data", "pages/2_Augmentation.py": "Augmentation", "pages/3_Loader.py": "Loader",
               "pages/4_Training.py": "Training", "pages/5_Runs.py": "Runs", "pages/6_Submission.py": "Submission"}


def existing_pages(pages: list[str]) -> list[str]:
    """Only the pages that exist now, so the home page never links to a missing one."""
    return [page for page in pages if (REPO_DIR / page).is_file()]


def pipeline_dot() -> str:
    """The lecture's chain of steps; the ones a competition skips are dashed and say so."""
    nodes = []
    for index, (step, _, _, in_competition) in enumerate(PIPELINE_STEPS):
        if in_competition:
            nodes.append(f'n{index} [label="{step}" shape=box style=filled fillcolor="#dbe8f5"]')
        else:
            nodes.append(f'n{index} [label="{step}\\n(not in a competition)" shape=box style="filled,dashed" '
                         'fillcolor="#f2f2f2" fontcolor="#777777"]')
    training = next(i for i, (step, *_) in enumerate(PIPELINE_STEPS) if step == "Training")
    nodes.append(f'sub [label="{SUBMISSION_STEP[0]}" shape=box style="filled,bold" fillcolor="#dbe8f5"]')
    edges = " -> ".join(f"n{i}" for i in range(len(PIPELINE_STEPS)))
    return ("digraph { rankdir=LR; node [fontname=Helvetica fontsize=11]; " + "; ".join(nodes) +
            f"; {edges}; n{training} -> sub [label=\"competition\" fontsize=9] }}")


def use_demo_data() -> None:
    """Button callback: back to the demo dataset (the text box is reset before it is drawn again)."""
    st.session_state[DATA_DIR_KEY] = str(demo_data_dir())
    st.session_state["data_dir_input"] = str(demo_data_dir())
    clear_data_caches()


def data_directory_selector() -> Path:
    """The shared data directory: validated at once; a bad path keeps the previous one selected."""
    data_dir = current_data_dir()
    # The box's starting text goes through session state, never `value=`: the demo button sets this key,
    # and a widget given both logs a warning with a stack trace.
    st.session_state.setdefault("data_dir_input", str(data_dir))
    typed = st.text_input("Folder holding train/ and eval/", key="data_dir_input",
                          help=f"The demo dataset is {demo_data_dir()}; $MASKLAB_DATA_DIR sets the default "
                               f"(now {default_data_dir()}).").strip()
    # Compare resolved paths: "~/data" or "data/" typed for the selected folder is no change.
    try:
        current = resolve_data_dir(data_dir)
    except MaskLabError:
        current = None  # the selected folder broke since (e.g. became a link loop): any typed one is a change
    # The broken selection itself, still in the box, is reported once, by the scan below.
    unchanged = not typed or (current is None and typed == str(data_dir))
    try:
        candidate = None if unchanged else resolve_data_dir(typed)
        if candidate is not None and candidate != current:
            scan_train(candidate, check=False)  # layout only: fast, and names what is missing
            data_dir = candidate
            st.session_state[DATA_DIR_KEY] = str(data_dir)
            clear_data_caches()
    except MaskLabError as error:
        show_error(error, f"The previous data directory stays selected: {data_dir}")
    if data_dir != demo_data_dir():
        st.button("Use the demo dataset", key="use_demo_data", on_click=use_demo_data)
    return data_dir


def age_edges_selector() -> tuple[int, int]:
    """The two age-band edges shared by every page; an invalid pair keeps the previous edges."""
    edges = current_age_edges()
    young_col, old_col, _ = st.columns([1, 1, 2])
    # Bounds from the one rule in core.labels: the young edge leaves room for an old edge above it.
    young = young_col.number_input("Young / middle edge", min_value=MIN_AGE_EDGE, max_value=MAX_AGE_EDGE - 1,
                                   value=edges[0], step=1, key="age_edge_young",
                                   help=f"Ages below this are band 0 (default {DEFAULT_AGE_EDGES[0]}).")
    old = old_col.number_input("Middle / old edge", min_value=MIN_AGE_EDGE + 1, max_value=MAX_AGE_EDGE,
                               value=edges[1], step=1, key="age_edge_old",
                               help=f"Ages from this on are band 2 (default {DEFAULT_AGE_EDGES[1]}; teams try 58 "
                                    f"or 55 because so few people are {COMPETITION_AGE_EDGES[1]}+). The Data page "
                                    "compares settings.")
    try:
        chosen = check_age_edges((young, old))
    except MaskLabError as error:
        show_error(error, f"The previous edges stay selected: {edges[0]}, {edges[1]}")
        return edges
    if chosen != edges:
        st.session_state[AGE_EDGES_KEY] = chosen
    return chosen


st.set_page_config(page_title="Mask Lab", page_icon="😷", layout="wide")
st.title("Mask Lab")
st.write("Design and test the image pipeline for the face-mask classification competition: one face "
         "photo in, one of 18 classes out, scored by macro F1. Start with the problem below, then follow "
         "the pipeline from left to right.")

st.header("Your data")
data_dir = data_directory_selector()
age_edges = age_edges_selector()
scan = None
try:
    scan = load_train_scan(data_dir, age_edges)
except MaskLabError as error:
    show_error(error, "Type another folder above, or use the demo dataset.")
if scan is not None:
    people_col, images_col, eval_col, skipped_col = st.columns(4)
    people_col.metric("People", scan.images["person"].nunique())
    images_col.metric("Train images", len(scan.images))
    try:
        eval_col.metric("Eval images", len(load_eval_table(str(scan.data_dir))))
    except MaskLabError as error:  # eval/ broken: the train numbers still count
        eval_col.metric("Eval images", "unreadable")
        st.warning(str(error))
    skipped_col.metric("Skipped files", len(scan.skipped))
    st.caption(f"Working on `{scan.data_dir}` with age edges {age_edges[0]} and {age_edges[1]}.")

st.header("The problem")
st.markdown(
    "**What is asked (problem definition, lecture 1).** During the pandemic a mask had to cover nose and "
    "mouth. Checking that by hand at every entrance costs people; a camera and a model can do it. The model "
    "must say whether a person wears a mask, wears it wrongly, or wears none — and, because the competition "
    "makes the task harder, the person's gender and age band as well.")
st.markdown(
    "**Image classification (lecture 2).** A model turns an input into an output (Input + Model = Output); "
    "here **Image + Classification Model = Class**: one photo in, one of 18 classes out.")
input_col, output_col, where_col = st.columns(3)
input_col.markdown("**Input**  \nOne RGB photo of one person's face, 384 wide × 512 high.")
output_col.markdown("**Output**  \nOne class 0..17 = 6 × mask + 3 × gender + age band.")
where_col.markdown("**Where it is used**  \nAt building entrances and public spaces, on a camera feed.")

st.subheader("The 18 classes")
st.caption(f"Mask from the file name (mask1..5 = wear, incorrect_mask, normal = not wear); gender and age from "
           f"the person's folder; age bands by the edges chosen above ({age_edges[0]}, {age_edges[1]}).")
st.dataframe(class_grid(age_edges), hide_index=True)
with st.expander("All 18 classes, with their image counts in your data"):
    st.dataframe(class_table(age_edges, scan.images if scan is not None else None), hide_index=True)

st.subheader("The metric: macro F1")
st.latex(r"F_1 = \frac{1}{18}\sum_{c=0}^{17} \frac{2\,P_c R_c}{P_c + R_c}")
st.markdown(
    "Precision P and recall R are computed **per class**, and the 18 F1 scores are averaged without weights. "
    "A rare class (an old man wearing his mask wrongly) counts as much as the most common one, so a model "
    "that ignores the rare classes scores poorly even with a high accuracy. Accuracy is shown beside it.")

st.header("The ML pipeline")
st.caption("Lecture 1: the steps of a machine-learning project. Dashed steps are not part of a competition; "
           "a competition ends in a submission instead of a deployment.")
st.graphviz_chart(pipeline_dot())
for step, explanation, pages, _ in [*PIPELINE_STEPS, SUBMISSION_STEP]:
    text_col, links_col = st.columns([3, 2])
    text_col.markdown(f"**{step}** — {explanation}")
    for page in existing_pages(pages):
        links_col.page_link(page, label=f"{PAGE_LABELS[page]} page", icon="➡️")

if tuple(age_edges) != DEFAULT_AGE_EDGES:
    st.sidebar.info(f"Age edges {age_edges[0]}, {age_edges[1]} (default {DEFAULT_AGE_EDGES[0]}, "
                    f"{DEFAULT_AGE_EDGES[1]}) apply on every page.")
