"""The browser checks themselves can fail: each problem a person would see is found on a hand-made page."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from PIL import Image

from tests.e2e.browser import clipped, hangul_drawn, problems, publish_screenshot
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

BROKEN_PAGE = """
<div data-testid="stApp" data-test-script-state="notRunning" data-test-connection-state="CONNECTED">
  <div data-testid="stMain" style="width: 400px; overflow: auto">
    <div data-testid="stException">ValueError: boom</div>
    <div data-testid="stAlertContentError">data/train.csv is missing</div>
    <img src="/no-such-image.png">
    <div style="width: 900px">a row wider than the window</div>
    <div data-testid="stMetricValue" style="width: 60px; overflow: hidden; white-space: nowrap">0.1234 (epoch 12)</div>
  </div>
</div>"""

HEALTHY_PAGE = """
<div data-testid="stApp"><div data-testid="stMain" style="width: 400px; overflow: auto">
  <div data-testid="stMetricValue" style="width: 200px; overflow: hidden">0.1234</div>
</div></div>"""


def test_every_kind_of_problem_is_found(browser_context):
    page = browser_context.new_page()
    try:
        page.set_content(BROKEN_PAGE, wait_until="load")
        found = problems(page)
        assert any("exception box: ValueError: boom" in problem for problem in found)
        assert any("error box: data/train.csv is missing" in problem for problem in found)
        assert any(problem.startswith("image not shown") for problem in found)
        assert "the whole page scrolls sideways" in found
        assert any('stMetricValue: "0.1234 (epoch 12)"' in note for note in clipped(page))

        page.set_content(HEALTHY_PAGE, wait_until="load")
        assert problems(page) == [] and clipped(page) == []
    finally:
        page.close()


def test_published_screenshot_keeps_its_size(tmp_path, monkeypatch):
    import tests.e2e.browser as browser

    monkeypatch.setattr(browser, "DOCS_SCREENSHOT_DIR", tmp_path / "docs")
    shot = tmp_path / "Page.png"
    Image.new("RGB", (300, 200), (200, 30, 40)).save(shot)
    published = publish_screenshot(shot)
    with Image.open(published) as image:
        assert image.size == (300, 200) and image.convert("RGB").getpixel((5, 5)) == (200, 30, 40)


KOREAN_PAGE = '<h1 style="font-family: sans-serif">실험 제출 — Experiments</h1><p>학습률(learning rate)</p>'


def font_files(*pattern: str) -> set[str]:
    listed = subprocess.run(["fc-list", *pattern, "--format", "%{file}\n"], capture_output=True, text=True, check=True)
    return set(listed.stdout.split())


def test_korean_without_a_korean_font_is_found(browser_context, playwright, tmp_path):
    """The same page in a Chromium that sees every installed font but the Korean ones: its syllables are boxes."""
    korean_fonts = font_files(":lang=ko")
    assert korean_fonts, "no Korean font installed: apt-get install fonts-noto-cjk (CI's .ci/run does)"
    page = browser_context.new_page()
    try:
        page.set_content(KOREAN_PAGE, wait_until="load")
        drawn = hangul_drawn(page.locator("h1"))
        assert drawn["syllables"] == "실험제출" and drawn["distinct"] == 4 and drawn["missing"] == ""
    finally:
        page.close()

    others = tmp_path / "fonts"
    others.mkdir()
    for index, file in enumerate(sorted(font_files() - korean_fonts)):
        (others / f"{index}-{Path(file).name}").symlink_to(file)
    config = tmp_path / "fonts.conf"
    config.write_text(f'<?xml version="1.0"?><fontconfig><dir>{others}</dir><cachedir>{tmp_path / "cache"}</cachedir>'
                      "</fontconfig>")
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                         env={**os.environ, "FONTCONFIG_FILE": str(config)})
    try:
        page = browser.new_page()
        page.set_content(KOREAN_PAGE, wait_until="load")
        drawn = hangul_drawn(page.locator("h1"))
        assert drawn["missing"] == "실험제출" and drawn["distinct"] == 1
        assert hangul_drawn(page.locator("p"))["missing"] == "학습률"
    finally:
        browser.close()
