"""What every page shares: the chosen data directory and age edges, the cached scan, error display.

The data directory lives in st.session_state["data_dir"] (set on the home page); the scan is behind
st.cache_data so pages never re-walk the disk on a rerun.
"""
from __future__ import annotations

import sys
import traceback
from pathlib import Path

import streamlit as st

from core.data import default_data_dir, demo_data_dir, ensure_demo_data
from core.data.describe import check_eval_images
from core.data.layout import TrainScan, read_eval, resolve_data_dir, scan_train
from core.errors import MaskLabError
from core.i18n import localized_error, t
from core.labels import DEFAULT_AGE_EDGES, check_age_edges

DATA_DIR_KEY = "data_dir"
AGE_EDGES_KEY = "age_edges"


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def run_page(page) -> None:
    """Run a st.navigation page; an error escaping it ends the page as one line instead of a traceback.

    Ours (ConfigError, DataError...) in its own words; anything else with its type, the traceback going to the
    server's log. st.stop/st.rerun/st.switch_page are not errors (BaseException, not Exception): they pass.
    """
    try:
        page.run()
    except MaskLabError as error:
        st.error(one_line(localized_error(error)))
    except Exception as error:  # noqa: BLE001 - the page edge: nothing may reach the browser as a traceback
        print(f"Mask Lab: page {getattr(page, 'title', page)!r} failed:", file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        st.error(one_line(f"{type(error).__name__}: {error}") + " " + t("ui.details_in_log"))


def page_header(page: str, notes: tuple[str, str] | None = None) -> None:
    """A page's browser-tab title, title and caption (keys `<page>.page_title`, `.title`, `.caption`) and, given
    `notes` = (expander title key, text key) under `<page>.`, the lecture's explanation folded under them."""
    st.set_page_config(page_title=t(f"{page}.page_title"), page_icon="😷", layout="wide")
    st.title(t(f"{page}.title"))
    st.caption(t(f"{page}.caption"))
    if notes:
        with st.expander(t(f"{page}.{notes[0]}")):
            st.markdown(t(f"{page}.{notes[1]}"))


def show_error(error: Exception, next_step: str | None = None) -> None:
    """One clear message instead of a traceback; the next step when there is one."""
    message = localized_error(error) if isinstance(error, MaskLabError) else f"{type(error).__name__}: {error}"
    st.error(message + (f"\n\n{next_step}" if next_step else ""))


def show_checkpoint_error(error: Exception, checkpoint: str, run_name: str, next_step: str) -> None:
    """An error while loading and running a checkpoint: ours in words; torch's (a damaged file fails inside
    torch.load in many ways, with advice that does not apply here) as the file that could not be read,
    followed by `next_step`."""
    if isinstance(error, MaskLabError):  # e.g. load_checkpoint's "cannot be read as a checkpoint"
        show_error(error, next_step)
    else:
        st.error(t("ui.checkpoint_unreadable", checkpoint=checkpoint, run=run_name, error=type(error).__name__)
                 + f"\n\n{next_step}")


def st_progress_callback(text: str):
    bar = st.progress(0, text=text)

    def update(done: int, total: int) -> None:
        bar.progress(min(done / total, 1.0) if total else 1.0, text=f"{text} {done}/{total}")
    return update


def current_data_dir() -> Path:
    """The data directory chosen on the home page; the demo dataset (generated on first use) by default."""
    chosen = st.session_state.get(DATA_DIR_KEY)
    if chosen:
        return Path(chosen)
    data_dir = default_data_dir()
    if data_dir == demo_data_dir():
        with st.spinner(t("ui.generating_demo")):
            ensure_demo_data(data_dir)
    st.session_state[DATA_DIR_KEY] = str(data_dir)
    return data_dir


def current_age_edges() -> tuple[int, int]:
    return check_age_edges(st.session_state.get(AGE_EDGES_KEY, DEFAULT_AGE_EDGES))


@st.cache_data(show_spinner=False, max_entries=8)
def _cached_scan(data_dir: str, age_edges: tuple[int, int]) -> TrainScan:
    return scan_train(data_dir, age_edges=age_edges)


def load_train_scan(data_dir=None, age_edges=None) -> TrainScan:
    """Cached scan of train/ (raises DataError for an unusable directory; pages show it with show_error)."""
    data_dir = Path(data_dir or current_data_dir())
    age_edges = tuple(age_edges or current_age_edges())
    with st.spinner(t("ui.scanning")):  # the spinner's words follow the language; cache_data's would not
        return _cached_scan(str(resolve_data_dir(data_dir)), age_edges)  # a link loop: DataError, not a crash


@st.cache_data(show_spinner=False, max_entries=8)
def load_eval_table(data_dir: str):
    return read_eval(data_dir)


def load_eval_corrupt(data_dir: str) -> list[dict]:
    """Eval images that do not decode ([{path, reason}]); raises DataError like load_eval_table."""
    with st.spinner(t("ui.checking_eval")):
        return _cached_eval_corrupt(data_dir)


@st.cache_data(show_spinner=False, max_entries=8)
def _cached_eval_corrupt(data_dir: str) -> list[dict]:
    return check_eval_images(data_dir, load_eval_table(data_dir))


def clear_data_caches() -> None:
    _cached_scan.clear()
    load_eval_table.clear()
    _cached_eval_corrupt.clear()


def scan_or_stop() -> TrainScan:
    """The cached scan of the current data directory, or a clear error and the end of the page."""
    try:
        return load_train_scan(current_data_dir(), current_age_edges())
    except MaskLabError as error:
        show_error(error, t("ui.choose_data_dir"))
        st.stop()
