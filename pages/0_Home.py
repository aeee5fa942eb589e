"""Mask Lab home: the problem, the 18 classes, the metric, the ML pipeline, and the data every page works on."""
import re
from pathlib import Path

import streamlit as st

from core.access import require_access
from core.data import default_data_dir, demo_data_dir
from core.data.eda import class_grid, class_table
from core.data.layout import resolve_data_dir, scan_train
from core.errors import MaskLabError
from core.i18n import has_text, localized_error, t
from core.labels import COMPETITION_AGE_EDGES, DEFAULT_AGE_EDGES, MAX_AGE_EDGE, MIN_AGE_EDGE, check_age_edges
from core.ui import (AGE_EDGES_KEY, DATA_DIR_KEY, clear_data_caches, current_age_edges, current_data_dir,
                     load_eval_table, load_train_scan, show_error)

require_access()  # first: a URL can reach a page without app.py (see core/access.py)

REPO_DIR = Path(__file__).resolve().parents[1]  # page links are paths from app.py, the entrypoint
# Lecture 1's machine-learning pipeline, and the pages that cover each step here. The lecture marks Data
# Mining and Deploy "Competition의 경우는 x" (not done in a competition): they stay on the chart, greyed,
# and a competition's own last step, the submission, hangs off Training instead of Deploy.
# (step key in locales/*/home.yaml, pages, in a competition); words are looked up per session.
PIPELINE_STEPS = [
    ("domain", [], True),
    ("mining", [], False),
    ("analysis", ["pages/1_Data.py"], True),
    ("processing", ["pages/2_Augmentation.py", "pages/3_Loader.py"], True),
    ("modeling", ["pages/4_Training.py"], True),
    ("training", ["pages/4_Training.py", "pages/5_Runs.py"], True),
    ("deploy", [], False),
]
# What a competition asks for in place of deploying (lecture 1, "Submission & Leaderboard").
SUBMISSION_STEP = ("submission", ["pages/6_Submission.py"], True)


def step_name(step: str) -> str:
    return t(f"home.steps.{step}")


def step_explanation(step: str) -> str:
    return t(f"home.explanations.{step}", not_in_competition=t("home.not_in_competition"))


def page_label(page: str) -> str:
    """'Data page': the page's name as the navigation shows it (app.yaml), in the session's language."""
    return t("home.page_link", page=t(f"app.pages.{page_name(Path(page))}"))


def page_name(path: Path) -> str:
    return re.sub(r"^[0-9]+_", "", path.stem).replace("_", " ")


def localized_columns(table):
    """A table for display: its column headers in the session's language (the values are data, unchanged)."""
    def header(column: str) -> str:
        if column.startswith("age ") and column != "age":
            return t("home.columns.age_band", band=column[len("age "):])
        return t(f"home.columns.{column}") if has_text(f"home.columns.{column}", "en") else column
    return table.rename(columns=header)


def existing_pages(pages: list[str]) -> list[str]:
    """Only the pages that exist now, so the home page never links to a missing one."""
    return [page for page in pages if (REPO_DIR / page).is_file()]


def pipeline_dot() -> str:
    """The lecture's chain of steps; the ones a competition skips are dashed and say so."""
    nodes = []
    for index, (step, _, in_competition) in enumerate(PIPELINE_STEPS):
        if in_competition:
            nodes.append(f'n{index} [label="{step_name(step)}" shape=box style=filled fillcolor="#dbe8f5"]')
        else:
            nodes.append(f'n{index} [label="{step_name(step)}\\n{t("home.not_in_competition_node")}" shape=box '
                         'style="filled,dashed" fillcolor="#f2f2f2" fontcolor="#777777"]')
    training = next(i for i, (step, *_) in enumerate(PIPELINE_STEPS) if step == "training")
    nodes.append(f'sub [label="{step_name(SUBMISSION_STEP[0])}" shape=box style="filled,bold" fillcolor="#dbe8f5"]')
    edges = " -> ".join(f"n{i}" for i in range(len(PIPELINE_STEPS)))
    return ("digraph { rankdir=LR; node [fontname=Helvetica fontsize=11]; " + "; ".join(nodes) +
            f"; {edges}; n{training} -> sub [label=\"{t('home.competition_edge')}\" fontsize=9] }}")


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
    typed = st.text_input(t("home.data_dir_label"), key="data_dir_input",
                          help=t("home.data_dir_help", demo=demo_data_dir(), default=default_data_dir())).strip()
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
        show_error(error, t("home.previous_dir_stays", data_dir=data_dir))
    if data_dir != demo_data_dir():
        st.button(t("home.use_demo"), key="use_demo_data", on_click=use_demo_data)
    return data_dir


def age_edges_selector() -> tuple[int, int]:
    """The two age-band edges shared by every page; an invalid pair keeps the previous edges."""
    edges = current_age_edges()
    young_col, old_col, _ = st.columns([1, 1, 2])
    # Bounds from the one rule in core.labels: the young edge leaves room for an old edge above it.
    young = young_col.number_input(t("home.young_edge"), min_value=MIN_AGE_EDGE, max_value=MAX_AGE_EDGE - 1,
                                   value=edges[0], step=1, key="age_edge_young",
                                   help=t("home.young_edge_help", default=DEFAULT_AGE_EDGES[0]))
    old = old_col.number_input(t("home.old_edge"), min_value=MIN_AGE_EDGE + 1, max_value=MAX_AGE_EDGE,
                               value=edges[1], step=1, key="age_edge_old",
                               help=t("home.old_edge_help", default=DEFAULT_AGE_EDGES[1],
                                      competition=COMPETITION_AGE_EDGES[1]))
    try:
        chosen = check_age_edges((young, old))
    except MaskLabError as error:
        show_error(error, t("home.previous_edges_stay", young=edges[0], old=edges[1]))
        return edges
    if chosen != edges:
        st.session_state[AGE_EDGES_KEY] = chosen
    return chosen


st.set_page_config(page_title=t("home.page_title"), page_icon="😷", layout="wide")
st.title(t("home.title"))
st.write(t("home.intro"))

st.header(t("home.your_data"))
data_dir = data_directory_selector()
age_edges = age_edges_selector()
scan = None
try:
    scan = load_train_scan(data_dir, age_edges)
except MaskLabError as error:
    show_error(error, t("home.other_folder"))
if scan is not None:
    people_col, images_col, eval_col, skipped_col = st.columns(4)
    people_col.metric(t("home.people"), scan.images["person"].nunique())
    images_col.metric(t("home.train_images"), len(scan.images))
    try:
        eval_col.metric(t("home.eval_images"), len(load_eval_table(str(scan.data_dir))))
    except MaskLabError as error:  # eval/ broken: the train numbers still count
        eval_col.metric(t("home.eval_images"), t("home.unreadable"))
        st.warning(localized_error(error))
    skipped_col.metric(t("home.skipped_files"), len(scan.skipped))
    st.caption(t("home.working_on", data_dir=scan.data_dir, young=age_edges[0], old=age_edges[1]))

st.header(t("home.problem"))
st.markdown(t("home.problem_definition"))
st.markdown(t("home.classification"))
input_col, output_col, where_col = st.columns(3)
input_col.markdown(t("home.input"))
output_col.markdown(t("home.output"))
where_col.markdown(t("home.where_used"))

st.subheader(t("home.classes"))
st.caption(t("home.classes_caption", young=age_edges[0], old=age_edges[1]))
st.dataframe(localized_columns(class_grid(age_edges)), hide_index=True)
with st.expander(t("home.all_classes")):
    st.dataframe(localized_columns(class_table(age_edges, scan.images if scan is not None else None)),
                 hide_index=True)

st.subheader(t("home.metric"))
st.latex(r"F_1 = \frac{1}{18}\sum_{c=0}^{17} \frac{2\,P_c R_c}{P_c + R_c}")
st.markdown(t("home.metric_text"))

st.header(t("home.pipeline"))
st.caption(t("home.pipeline_caption"))
st.graphviz_chart(pipeline_dot())
for step, pages, _ in [*PIPELINE_STEPS, SUBMISSION_STEP]:
    text_col, links_col = st.columns([3, 2])
    text_col.markdown(t("home.step_line", step=step_name(step), explanation=step_explanation(step)))
    for page in existing_pages(pages):
        links_col.page_link(page, label=page_label(page), icon="➡️")

if tuple(age_edges) != DEFAULT_AGE_EDGES:
    st.sidebar.info(t("home.edges_everywhere", young=age_edges[0], old=age_edges[1],
                      default_young=DEFAULT_AGE_EDGES[0], default_old=DEFAULT_AGE_EDGES[1]))
