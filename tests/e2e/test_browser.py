"""End to end in headless Chromium: every page of the running app renders, shows its key text and no error,
answers one user action, and is photographed (build/screenshots/<page>.png; copied to docs/screenshots/ for the
README when MASKLAB_PUBLISH_SCREENSHOTS=1).

Pages are discovered from pages/; what each page must show and the action done on it are declared
once in PAGES below. A page without an entry is still visited and checked for errors.
Run with `pytest -s tests/e2e` to see the load-time table (also written to build/e2e-timings.json).
"""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import (REPO_ROOT, SCREENSHOT_DIR, clipped, full_screenshot, problems, publish_screenshot,
                               rerun_and_wait, wait_for_text, wait_idle, widget)

TRAIN_LIMIT_MS = 120_000
RUN_NAME = "e2e-tiny"
FINDINGS: list[str] = []  # what the browser shows wrong that is not worth failing the test; printed at the end


# ---------------------------------------------------------------- one action per page

def change_age_edge(page) -> str:
    edge = widget(page, "age_edge_old").locator("input")
    rerun_and_wait(page, lambda: (edge.fill("58"), edge.press("Enter")))
    wait_for_text(page, "with age edges 30 and 58")
    assert edge.input_value() == "58", "the age edge went back after the rerun"
    return "age edge 60 -> 58"


def open_gallery(page) -> str:
    page.get_by_role("tab", name="Gallery").click()
    wait_idle(page)
    shown = page.evaluate("() => [...document.querySelectorAll('[data-testid=\"stImage\"] img')]"
                          ".filter(img => img.naturalWidth > 0 && img.offsetParent !== null).length")
    assert shown > 0, "the Gallery tab shows no image"
    return f"Gallery tab, {shown} images shown"


def change_resize_height(page) -> str:
    """The baseline pipeline's Resize height 256 -> 128: every draw is then 192x128."""
    height = page.locator("[class*='st-key-aug_'][class*='_height'] input").first
    rerun_and_wait(page, lambda: (height.fill("128"), height.press("Enter")))
    wait_for_text(page, re.compile(r"draw 1 · 192x128"))
    assert height.input_value() == "128", "the Resize height went back after the rerun"
    return "Resize height 256 -> 128"


def run_small_sweep(page) -> str:
    """The smallest sweep: num_workers 0, batch_size 16, 16 images, no model step; then its table and verdict."""
    keep_only(page, "loader_sweep_workers", "0")
    keep_only(page, "loader_sweep_batch_sizes", "16")
    count = widget(page, "loader_sweep_images").locator("input")
    rerun_and_wait(page, lambda: (count.fill("16"), count.press("Enter")))
    model_box = widget(page, "loader_sweep_model").locator("input[type='checkbox']")
    if model_box.is_checked():
        rerun_and_wait(page, lambda: widget(page, "loader_sweep_model").locator("label").click())
    assert count.input_value() == "16" and not model_box.is_checked(), "a sweep setting went back after a rerun"
    rerun_and_wait(page, widget(page, "loader_sweep_run").locator("button").click, timeout_ms=90_000)
    wait_for_text(page, "fastest feeding, images/s", timeout_ms=90_000)
    wait_for_text(page, "Recommended for this machine")
    return "sweep: workers 0, batch 16, 16 images"


def keep_only(page, key: str, value: str) -> None:
    """Remove every chosen value of multiselect `key` but `value`, one click (and rerun) each."""
    chips = widget(page, key).get_by_role("button", name=re.compile(r"^Remove "))
    for name in [label for label in (chip.get_attribute("aria-label") for chip in chips.all())
                 if label != f"Remove {value}"]:
        rerun_and_wait(page, widget(page, key).get_by_role("button", name=name, exact=True).click)
    chosen = [chip.get_attribute("aria-label") for chip in chips.all()]
    assert chosen == [f"Remove {value}"], f"{key}: {chosen}"


def start_tiny_run(page) -> str:
    """configs/demo.yaml (the default starting point) cut to one epoch, then follow it until it finishes."""
    page.get_by_role("tab", name="Training").click()
    epochs = widget(page, "cfg_train.epochs").locator("input")  # a number input: 1..1000 is too long a slider
    rerun_and_wait(page, lambda: (epochs.fill("1"), epochs.press("Enter")))
    assert epochs.input_value() == "1"
    name = widget(page, "train_run_name").locator("input")
    rerun_and_wait(page, lambda: (name.fill(RUN_NAME), name.press("Enter")))
    wait_for_text(page, f"name: {RUN_NAME}")  # the config shown is the one that will run
    config = page.locator("[data-testid='stCode']").filter(has_text=f"name: {RUN_NAME}")
    assert re.search(r"epochs: 1\b", config.inner_text())
    rerun_and_wait(page, widget(page, "train_start").locator("button").click)
    wait_for_text(page, RUN_NAME)
    # The page follows the run in a fragment that reruns every 2 s: wait for the state metric to say so.
    page.get_by_text(re.compile(r"^finished$")).first.wait_for(timeout=TRAIN_LIMIT_MS)
    wait_idle(page)
    # The browser once kept "(running)" in the picker's label after the run ended: the state now lives in a caption.
    picker = widget(page, "train_follow").locator("input")
    expect(picker).to_have_value(RUN_NAME)
    wait_for_text(page, re.compile(r"State: finished"))
    return "start a 1-epoch run, follow it to finished"


def see_run(page) -> str:
    wait_for_text(page, RUN_NAME)
    wait_for_text(page, "Inside the best checkpoint")
    return "leaderboard lists the run"


def make_submission(page) -> str:
    rerun_and_wait(page, widget(page, "sub_make").locator("button").click, timeout_ms=90_000)
    wait_for_text(page, re.compile(r"Valid: 28 rows"), timeout_ms=90_000)
    return "Make submission (28 eval images)"


@dataclass
class PageCheck:
    texts: tuple[str, ...]                      # visible once the page has rendered
    action: Callable | None = None              # one user action; returns what it did
    needs: tuple[str, ...] = field(default=())  # pages whose action must have run first


# The one table: page file -> what it must show and the action done on it.
PAGES = {
    "0_Home.py": PageCheck(("Mask Lab", "The 18 classes", "The metric: macro F1", "The ML pipeline"), change_age_edge),
    "1_Data.py": PageCheck(("Data spec summary", "people", "train images"), open_gallery),
    "2_Augmentation.py": PageCheck(("Augmentation lab", "Pipeline", "Preview", "What the model receives"),
                                   change_resize_height),
    "3_Loader.py": PageCheck(("Loader", "DataLoader parameters", "Throughput sweep", "Export to the trainer's config"),
                             run_small_sweep),
    "4_Training.py": PageCheck(("Training", "New run", "The exact config of this run"), start_tiny_run),
    "5_Runs.py": PageCheck(("Runs", "Leaderboard", "Compare two runs"), see_run, needs=("4_Training.py",)),
    "6_Submission.py": PageCheck(("Submission",), make_submission, needs=("4_Training.py",)),
}


def discovered_pages() -> list[str]:
    """The files app.py hands to st.navigation, in its order: the first is the home page."""
    return sorted(path.name for path in (REPO_ROOT / "pages").glob("*.py"))


def shot_name(page_file: str) -> str:
    """The page's title in the sidebar: the file name without its number prefix ("3_Loader.py" -> "Loader")."""
    return re.sub(r"^[0-9]*[_ -]*", "", Path(page_file).stem)


def url_path(page_file: str) -> str:
    """The page's URL path: its title, except the home page's, which is the root."""
    return "" if page_file == discovered_pages()[0] else shot_name(page_file)


done_actions: set[str] = set()


@pytest.fixture(scope="module")
def tab(browser_context):
    """One browser tab; each page is opened by its URL, i.e. in a fresh Streamlit session, as a bookmark would."""
    page = browser_context.new_page()
    page.js_errors = []
    page.on("pageerror", lambda error: page.js_errors.append(str(error)))
    yield page
    page.close()


@pytest.mark.parametrize("page_file", discovered_pages(), ids=shot_name)
def test_page_in_the_browser(page_file, app_server, tab, page_timings):
    check = PAGES.get(page_file, PageCheck(()))
    missing = [need for need in check.needs if need not in done_actions]
    if missing:
        pytest.skip(f"needs the action of {', '.join(missing)} (it failed or did not run)")
    tab.js_errors.clear()
    load_s = visit(tab, app_server["url"] + url_path(page_file), check.texts)
    row = {"page": shot_name(page_file), "path": "/" + url_path(page_file), "load_s": load_s}
    page_timings.append(row)

    seen = problems(tab)
    assert not seen, f"{page_file} on load: {seen}\nserver log:\n{server_tail(app_server)}"
    if page_file == discovered_pages()[0]:
        listed = {tab.evaluate("a => new URL(a.href).pathname", link).strip("/")
                  for link in tab.locator("[data-testid='stSidebarNav'] a").element_handles()}
        expected = {url_path(name) for name in discovered_pages()}
        assert expected <= listed, f"sidebar lacks {expected - listed}"

    if check.action is not None:
        started = time.perf_counter()
        row["action"] = check.action(tab)
        row["action_s"] = round(time.perf_counter() - started, 2)
        after = problems(tab)
        assert not after, f"{page_file} after '{row['action']}': {after}\nserver log:\n{server_tail(app_server)}"
    assert not tab.js_errors, f"JavaScript errors on {page_file}: {tab.js_errors}"
    row["layout_notes"] = clipped(tab)
    row["findings"] = FINDINGS[:]
    FINDINGS.clear()

    shot = SCREENSHOT_DIR / f"{shot_name(page_file)}.png"  # after the action: it shows the action's result
    full_screenshot(tab, shot)
    if os.environ.get("MASKLAB_PUBLISH_SCREENSHOTS"):  # opt-in: git keeps every version of the README's images
        publish_screenshot(shot)

    # A second visit in a new session: imports and caches are warm, which is what a user usually waits for.
    row["warm_load_s"] = visit(tab, app_server["url"] + url_path(page_file), check.texts)
    done_actions.add(page_file)


def visit(tab, url: str, texts) -> float:
    """Open `url` (a new Streamlit session) and wait until it has rendered `texts`; returns the seconds it took."""
    started = time.perf_counter()
    tab.goto(url)
    wait_idle(tab)
    for text in texts:
        wait_for_text(tab, text)
    return round(time.perf_counter() - started, 2)


def server_tail(app_server, lines: int = 30) -> str:
    return "\n".join(Path(app_server["log"]).read_text(errors="replace").splitlines()[-lines:])
