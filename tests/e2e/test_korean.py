"""The language switch in a real browser (AppTest cannot change it: once a page file has run, AppTest reruns it
without app.py's sidebar): a link with ?lang=ko opens the app in Korean and the language stays on a page change;
the sidebar switch turns everything English; the Korean text is drawn in Korean glyphs, not in empty boxes
(build/screenshots/Experiments-ko.png)."""
from __future__ import annotations

import os
import re

from playwright.sync_api import expect

from core.i18n import LANGUAGE_KEY, text
from tests.e2e.browser import (SCREENSHOT_DIR, full_screenshot, hangul_drawn, problems, publish_screenshot,
                               rerun_and_wait, wait_for_text, wait_idle, widget)
from tests.e2e.test_browser import discovered_pages, shot_name

PAGE = "Experiments"  # a page with Korean in its body: title, caption, headers, widget labels
HANGUL = re.compile("[\uac00-\ud7a3]")


def page_names(language: str) -> list[str]:
    return [text(language, f"app.pages.{shot_name(name).replace('_', ' ')}") for name in discovered_pages()]


def navigation(tab) -> list[str]:
    return [name.strip() for name in tab.locator("[data-testid='stSidebarNav'] a").all_inner_texts()]


def go_to(tab, name: str) -> None:
    """Click a page in the sidebar navigation: a page change in the same session, as a person does it."""
    rerun_and_wait(tab, tab.locator("[data-testid='stSidebarNav']").get_by_role("link", name=name, exact=True).click)


def test_korean_link_then_the_switch_to_english(app_server, browser_context):
    tab = browser_context.new_page()
    try:
        tab.goto(app_server["url"] + "?lang=ko")
        wait_idle(tab)
        switch = widget(tab, LANGUAGE_KEY).get_by_role("combobox")
        expect(switch).to_have_value("한국어")
        assert navigation(tab) == page_names("ko")

        go_to(tab, text("ko", f"app.pages.{PAGE}"))  # the URL loses ?lang=ko here: the session keeps the choice
        wait_for_text(tab, text("ko", "experiments.caption"))
        expect(switch).to_have_value("한국어")
        assert navigation(tab) == page_names("ko")
        assert tab.locator("h1").first.inner_text().strip() == text("ko", "experiments.title")
        assert not problems(tab), problems(tab)
        # Drawn in Korean glyphs: the title (bold) and a caption (regular), each syllable its own shape.
        for element in (tab.locator("h1").first, tab.locator("[data-testid='stCaptionContainer']").first):
            drawn = hangul_drawn(element)
            assert drawn["syllables"] and not drawn["missing"], f"drawn as empty boxes: {drawn['missing']}"
            assert drawn["distinct"] == len(drawn["syllables"]), drawn
        shot = SCREENSHOT_DIR / f"{PAGE}-ko.png"
        full_screenshot(tab, shot)
        if os.environ.get("MASKLAB_PUBLISH_SCREENSHOTS"):
            publish_screenshot(shot)

        tab.evaluate("() => { window.sameDocument = true; }")  # gone if the page were reloaded
        switch.click()
        rerun_and_wait(tab, tab.get_by_role("option", name="English", exact=True).click)
        wait_for_text(tab, text("en", "experiments.caption"))
        expect(switch).to_have_value("English")
        assert tab.locator("h1").first.inner_text().strip() == "Experiments"
        assert navigation(tab) == page_names("en") == [shot_name(name) for name in discovered_pages()]
        assert not HANGUL.search(tab.locator("[data-testid='stMain']").inner_text()), "Korean left on the page"
        assert tab.evaluate("() => window.sameDocument === true"), "the switch reloaded the page"

        go_to(tab, "Submission")
        wait_idle(tab)
        expect(switch).to_have_value("English")
        assert tab.locator("h1").first.inner_text().strip() == "Submission"
        assert not HANGUL.search(tab.locator("[data-testid='stMain']").inner_text()), "Korean after a page change"
    finally:
        tab.close()
