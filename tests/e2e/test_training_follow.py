"""The Training page follows a run to its end by itself (issue #16 item 6): a page opened while a run trains reads
the run's files again every 2 s (an st.fragment with run_every, which AppTest does not tick) and, once the trainer
has finished, says so and stops saying "Running now" — with no click, no reload."""
from __future__ import annotations

import os
import re
import signal

import yaml

from tests.e2e.browser import problems, wait_for_text, wait_idle
from tests.pages.tiny_run import tiny_config

RUN_NAME = "e2e-followed"
FINISH_LIMIT_MS = 180_000


def test_the_training_page_follows_a_run_to_its_end_without_a_click(app_server, e2e_dirs, browser_context,
                                                                      monkeypatch):
    from core.train.launch import launch_training

    for name, value in app_server["env"].items():  # the trainer writes where the app's server reads
        if name.startswith("MASKLAB_"):
            monkeypatch.setenv(name, value)
    config = tiny_config(e2e_dirs["data"], e2e_dirs["runs"], RUN_NAME, epochs=1)
    launch = launch_training(yaml.safe_dump(config), root=e2e_dirs["runs"], name=RUN_NAME)
    # Paused until the page has seen it running, however fast this machine trains one tiny epoch.
    os.killpg(launch.pid, signal.SIGSTOP)
    tab = browser_context.new_page()
    try:
        try:
            tab.goto(app_server["url"] + "Training")
            wait_idle(tab)
            wait_for_text(tab, re.compile(rf"^Running now: {RUN_NAME}$"))
        finally:
            os.killpg(launch.pid, signal.SIGCONT)
        tab.evaluate("() => { window.sameDocument = true; }")  # gone if the page were reloaded

        wait_for_text(tab, re.compile(r"^State: finished$"), timeout_ms=FINISH_LIMIT_MS)
        wait_idle(tab)
        assert tab.get_by_text(re.compile(r"^Running now")).count() == 0
        assert tab.evaluate("() => window.sameDocument === true"), "the page was reloaded"
        assert not problems(tab), problems(tab)
        status = yaml.safe_load((e2e_dirs["runs"] / RUN_NAME / "status.json").read_text())
        assert status["state"] == "finished" and status["epoch"] == 1
    finally:
        tab.close()
