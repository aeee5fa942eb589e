"""End-to-end fixtures: a generated dataset, `streamlit run app.py` on a free loopback port, headless Chromium.

Everything the app writes (runs, caches, exported pipelines, the demo dataset) goes to one temporary
folder, so the test never touches the repository's data/, runs/ or exports/.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from core.data.demo import generate_demo_dataset

from tests.e2e.browser import REPO_ROOT, TIMINGS_FILE

CHROMIUM = Path(os.environ.get("MASKLAB_CHROMIUM", "/usr/bin/chromium"))
# Debian's Chromium in a container: no sandbox, no GPU, and nothing that phones home.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic"]
VIEWPORT = {"width": 1400, "height": 900}
SERVER_START_LIMIT_S = 60


def pytest_collection_modifyitems(items):
    """Without Chromium every browser test is skipped, saying why (CI installs it: see .ci/run)."""
    if CHROMIUM.exists():
        return
    reason = (f"{CHROMIUM} not found: install Debian's chromium package (apt-get install chromium) "
              "to run the browser test")
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.skip(reason=reason))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def e2e_dirs(tmp_path_factory) -> dict[str, Path]:
    """A small demo dataset (12 people, 4 eval people) and empty runs/cache/export folders."""
    root = tmp_path_factory.mktemp("e2e")
    data = root / "data"
    generate_demo_dataset(data, people=12, eval_people=4, seed=0)
    dirs = {"root": root, "data": data}
    for name in ("runs", "cache", "exports", "demo"):
        dirs[name] = root / name
        dirs[name].mkdir()
    return dirs


def _wait_healthy(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_LIMIT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"streamlit not healthy after {SERVER_START_LIMIT_S} s:\n{log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen) -> None:
    """The server runs in its own process group: end that group (and only it)."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def app_server(e2e_dirs):
    """`streamlit run app.py` on a free loopback port; yields its base URL and log file."""
    env = dict(os.environ, MASKLAB_DATA_DIR=str(e2e_dirs["data"]), MASKLAB_RUNS_DIR=str(e2e_dirs["runs"]),
               MASKLAB_CACHE_DIR=str(e2e_dirs["cache"]), MASKLAB_EXPORT_DIR=str(e2e_dirs["exports"]),
               MASKLAB_DEMO_DIR=str(e2e_dirs["demo"]), PYTHONUNBUFFERED="1")
    port = free_port()
    log = e2e_dirs["root"] / "streamlit.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_healthy(url, process, log)
        yield {"url": url, "log": log, "env": env}
    finally:
        _stop(process)
        _cancel_leftover_runs(e2e_dirs["runs"])


def _cancel_leftover_runs(runs_dir: Path) -> None:
    """Trainers started by the Training page run in their own session: stop any the test left going."""
    try:
        from core.train.launch import cancel_run, find_active_runs
        for launch in find_active_runs(runs_dir):
            cancel_run(launch.run_dir)
    except Exception as error:  # noqa: BLE001 - teardown must not hide the test's own result
        print(f"could not cancel leftover runs in {runs_dir}: {error}")


@pytest.fixture(scope="session")
def playwright():
    """One Playwright for the session (a second one cannot start while it runs): for browsers of other kinds."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="session")
def browser_context(playwright, tmp_path_factory):
    """Headless Debian Chromium with a fresh profile (never a downloaded browser)."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    context = playwright.chromium.launch_persistent_context(
        str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, viewport=VIEWPORT)
    context.set_default_timeout(30_000)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture(scope="session")
def page_timings():
    """Per-page load and action times; printed as a table and written to build/e2e-timings.json at the end."""
    rows: list[dict] = []
    yield rows
    if not rows:
        return
    TIMINGS_FILE.parent.mkdir(parents=True, exist_ok=True)
    TIMINGS_FILE.write_text(json.dumps({"viewport": VIEWPORT, "pages": rows}, indent=2))
    print("\n\nBrowser timings (s): load = first visit (cold server: imports, scans); warm = the same URL again "
          "in a new session")
    print(f"{'page':<14}{'url':<16}{'load_s':>8}{'warm_s':>8}{'action_s':>10}  action")
    for row in rows:
        warm_s, action_s = (f"{row[key]:.2f}" if row.get(key) is not None else "-"
                            for key in ("warm_load_s", "action_s"))
        print(f"{row['page']:<14}{row['path']:<16}{row['load_s']:>8.2f}{warm_s:>8}{action_s:>10}  "
              f"{row.get('action') or ''}")
        for note in row.get("layout_notes", []):
            print(f"{'':<14}clipped: {note}")
        for finding in row.get("findings", []):
            print(f"{'':<14}finding: {finding}")
    print(f"written to {TIMINGS_FILE}")

