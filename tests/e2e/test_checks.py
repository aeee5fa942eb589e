"""The browser checks themselves can fail: each problem a person would see is found on a hand-made page."""
from __future__ import annotations

from PIL import Image

from tests.e2e.browser import clipped, problems, publish_screenshot

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
