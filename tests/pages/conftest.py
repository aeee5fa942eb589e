"""Shared by every page test: independent caches, and small helpers to drive pages with AppTest."""
from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import streamlit as st
from streamlit import config
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

REPO_ROOT = Path(__file__).resolve().parents[2]
APP = str(REPO_ROOT / "app.py")


@pytest.fixture(autouse=True)
def clear_streamlit_caches():
    """st.cache_data/st.cache_resource outlive an AppTest: clear them so no test sees another's data."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture(autouse=True)
def served_locally():
    """Pages run as `make run` serves them, on 127.0.0.1 (no password asked), whatever folder pytest starts in:
    AppTest reads .streamlit/config.toml only from the current folder."""
    before = config.get_option("server.address")
    config.set_option("server.address", "127.0.0.1")
    yield
    config.set_option("server.address", before)


def page_path(name: str) -> str:
    """Absolute path of app.py or of a page file such as '1_Data.py' (AppTest needs absolute paths)."""
    return APP if name == "app.py" else str(REPO_ROOT / "pages" / name)


def run_page(name: str, data_dir=None, state: dict | None = None, timeout: float = 60) -> AppTest:
    """Run a page once with the data directory (and any other session state) preset."""
    at = AppTest.from_file(page_path(name), default_timeout=timeout)
    if data_dir is not None:
        at.session_state["data_dir"] = str(data_dir)
    for key, value in (state or {}).items():
        at.session_state[key] = value
    return at.run()


def assert_no_exception(at: AppTest) -> None:
    assert not at.exception, "\n".join(str(e.value) + "\n" + "\n".join(e.stack_trace) for e in at.exception)


def open_page(name: str, data_dir, state: dict | None = None) -> AppTest:
    """run_page, asserting the first run raised nothing."""
    at = run_page(name, data_dir, state)
    assert_no_exception(at)
    return at


@pytest.fixture
def runs_dir(tmp_path, monkeypatch) -> Path:
    """An empty runs folder the pages use ($MASKLAB_RUNS_DIR); any trainer a test left running is killed."""
    from core.train.launch import find_active_runs

    runs = tmp_path / "runs"
    runs.mkdir()
    monkeypatch.setenv("MASKLAB_RUNS_DIR", str(runs))
    yield runs
    for run in find_active_runs(runs):
        if run.pid != os.getpid():  # a test may fake a "running" run with its own pid
            os.kill(run.pid, signal.SIGKILL)


def texts(elements) -> list[str]:
    """The `.value` of every element of a list (markdown, error, warning, caption...)."""
    return [element.value for element in elements]


def all_text(at: AppTest) -> str:
    """Every markdown, caption, info, success, warning and error text of the page, joined."""
    parts = []
    for kind in ("markdown", "caption", "info", "success", "warning", "error"):
        parts.extend(str(element.value) for element in getattr(at, kind))
    return "\n".join(parts)


def vega_charts(at: AppTest) -> list:
    """The page's altair/vega-lite charts (AppTest has no dedicated accessor)."""
    return list(at.get("vega_lite_chart"))


def chart_spec(chart) -> dict:
    return json.loads(chart.proto.spec)


def chart_data(chart, index: int = 0):
    """The DataFrame behind a chart's dataset `index` (a layered chart has one per layer data)."""
    return convert_arrow_bytes_to_pandas_df(chart.proto.datasets[index].data.data)


def chart_titles(at: AppTest) -> list[str]:
    titles = []
    for chart in vega_charts(at):
        title = chart_spec(chart).get("title")
        titles.append(title.get("text") if isinstance(title, dict) else title)
    return titles


def dataframe_with(at: AppTest, *columns: str):
    """The first st.dataframe/st.table whose columns (or index name) include all of `columns`."""
    for frame in [*at.dataframe, *at.table]:
        value = frame.value
        names = set(map(str, value.columns)) | {str(name) for name in value.index.names if name}
        if set(columns) <= names:
            return value
    raise AssertionError(f"no table with columns {columns}")
