"""Driving a Streamlit app in Playwright: wait for a script run to end, find widgets by key, check what is shown.

Streamlit marks its root `[data-testid="stApp"]` with `data-test-script-state` ("initial", "running",
"notRunning", ...) and shows `[data-testid="stStatusWidget"]` while a script runs; a page has finished
rendering when the script is not running, no status widget, spinner or skeleton (a widget whose code is
still loading) is left and every <img> has loaded.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_ROOT / "build" / "screenshots"
DOCS_SCREENSHOT_DIR = REPO_ROOT / "docs" / "screenshots"  # committed: the README embeds these
TIMINGS_FILE = REPO_ROOT / "build" / "e2e-timings.json"
RENDER_LIMIT_MS = 60_000
MAX_SCREENSHOT_HEIGHT = 6000

_IDLE = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-connection-state') !== 'CONNECTED') return false;
  if (app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
  if (document.querySelector('[data-testid="stSpinner"], [data-testid="stSkeleton"]')) return false;
  return [...document.images].every(img => img.complete);
}"""


def wait_idle(page, timeout_ms: int = RENDER_LIMIT_MS, settle_s: float = 0.3) -> None:
    """Until the script run is over and images are loaded, seen twice `settle_s` apart (a rerun may follow)."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        remaining = max(1, int((deadline - time.monotonic()) * 1000))
        page.wait_for_function(_IDLE, timeout=remaining, polling=100)
        time.sleep(settle_s)
        if page.evaluate(_IDLE):
            return
        if time.monotonic() > deadline:
            raise TimeoutError("the page never stayed idle")


def wait_for_text(page, text: str | re.Pattern, timeout_ms: int = RENDER_LIMIT_MS) -> None:
    """Some visible element shows `text` (hidden copies, e.g. in a closed expander or another tab, do not count)."""
    found = page.locator('[data-testid="stApp"]').get_by_text(text).filter(visible=True).first
    found.wait_for(state="visible", timeout=timeout_ms)


def rerun_and_wait(page, action, timeout_ms: int = RENDER_LIMIT_MS) -> None:
    """Do `action` (a click, a key press) and wait for the rerun it causes to start and finish."""
    action()
    try:  # a fast rerun may be over before it is seen: then there is nothing to wait for
        page.wait_for_function(
            "() => document.querySelector('[data-testid=\"stApp\"]').getAttribute('data-test-script-state') "
            "=== 'running'", timeout=3000, polling=20)
    except Exception:  # noqa: BLE001 - playwright's TimeoutError: the rerun was too quick to see
        pass
    wait_idle(page, timeout_ms)


def widget(page, key: str):
    """The element Streamlit draws for the widget with `key` (it carries the class st-key-<key>)."""
    safe = re.sub(r"[^a-zA-Z0-9_-]", "-", key.strip())
    return page.locator(f".st-key-{safe}")


def problems(page) -> list[str]:
    """What a person would see go wrong: exception boxes, error boxes, images not shown, a page wider
    than the window."""
    found = []
    for box in page.locator('[data-testid="stException"]').all():
        found.append("exception box: " + box.inner_text()[:500])
    for box in page.locator('[data-testid="stAlertContentError"]').all():
        found.append("error box: " + box.inner_text()[:300])
    broken = page.evaluate("""() => [...document.images]
        .filter(img => img.complete && img.naturalWidth === 0).map(img => img.src.slice(0, 120))""")
    found += [f"image not shown: {src}" for src in broken]
    if page.evaluate(_PAGE_SCROLLS_SIDEWAYS):
        found.append("the whole page scrolls sideways")
    return found


def clipped(page) -> list[str]:
    """Visible elements whose content is cut off: truncated labels/values, squeezed buttons, tables wider
    than their box. Layout notes rather than failures: whether a cut matters is a judgement (see the screenshot)."""
    return page.evaluate(_CLIPPED)


_PAGE_SCROLLS_SIDEWAYS = """() => {
  const main = document.querySelector('[data-testid="stMain"]') || document.documentElement;
  return main.scrollWidth > main.clientWidth + 2;
}"""

# Element with hidden/clip/auto overflow and wider content (screen-reader-only 1px boxes excepted; a
# text paragraph squeezed to 0 px, as in a too-narrow button, counts). Code blocks scroll by design.
_CLIPPED = r"""() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const out = new Set();
  for (const el of main.querySelectorAll('*')) {
    if (el.scrollWidth <= el.clientWidth + 1 || el.offsetParent === null) continue;
    const style = getComputedStyle(el);
    if (style.overflowX === 'visible' || el.closest('[data-testid="stCode"]')) continue;
    const text = (el.innerText || '').trim();
    if (el.clientWidth <= 2 && !(el.tagName === 'P' && text)) continue;
    if (style.position === 'absolute' && el.clientWidth <= 2) continue;
    const owner = el.closest('[data-testid]:not([data-testid="stMarkdownContainer"])');
    const key = [...(el.closest('[class*="st-key-"]')?.classList || [])].find(c => c.startsWith('st-key-'));
    const what = (owner ? owner.getAttribute('data-testid') : el.tagName) + (key ? ' ' + key.slice(7) : '');
    out.add(`${what}: ${text ? '"' + text.slice(0, 40).replace(/\n/g, ' ') + '" ' : ''}` +
            `needs ${el.scrollWidth}px, has ${el.clientWidth}px`);
  }
  return [...out];
}"""


def content_height(page) -> int:
    return page.evaluate("""() => Math.max(...['[data-testid="stMain"]', '[data-testid="stAppViewContainer"]',
        '[data-testid="stSidebarContent"]'].map(s => document.querySelector(s)).filter(Boolean)
        .map(el => el.scrollHeight), document.documentElement.scrollHeight)""")


def full_screenshot(page, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its main block, so grow the viewport to the content first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    page.mouse.move(0, 0)  # no hover toolbar of a chart or table over the content
    height = min(content_height(page), MAX_SCREENSHOT_HEIGHT)
    try:
        if height > size["height"]:
            page.set_viewport_size({"width": size["width"], "height": height})
            time.sleep(0.5)  # charts and data grids re-lay themselves out to the new size
        page.screenshot(path=str(path))
    finally:
        page.set_viewport_size(size)


def publish_screenshot(shot: Path) -> Path:
    """Copy a screenshot to docs/screenshots/, where the README embeds it: 256 colours, a third of the bytes
    (the repository keeps every version of these files)."""
    from PIL import Image

    DOCS_SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    target = DOCS_SCREENSHOT_DIR / shot.name
    with Image.open(shot) as image:
        image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)
    return target


# Each distinct Hangul syllable of the element's text drawn alone on a canvas in the element's font, beside a code
# point no font has (U+0378, unassigned): a syllable no installed font covers is drawn as that same "missing glyph"
# box (tofu), and all such syllables look alike.
_HANGUL_DRAWN = r"""(element) => {
  const style = getComputedStyle(element);
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 4 * parseFloat(style.fontSize);
  const context = canvas.getContext('2d', {willReadFrequently: true});
  const draw = (text) => {
    context.clearRect(0, 0, canvas.width, canvas.height);
    context.font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    context.textBaseline = 'top';
    context.fillText(text, 4, 4);
    return canvas.toDataURL();
  };
  const missing = draw('\u0378');
  const syllables = [...new Set(element.innerText)].filter(c => /[\uac00-\ud7a3]/.test(c));
  const drawn = syllables.map(draw);
  return {syllables: syllables.join(''), distinct: new Set(drawn).size,
          missing: syllables.filter((c, i) => drawn[i] === missing).join('')};
}"""


def hangul_drawn(locator) -> dict:
    """How the browser draws the Hangul of `locator`'s text: {syllables, distinct (how many different images they
    make), missing (those drawn as the missing-glyph box)}. Rendered Korean: nothing missing, every syllable its own
    image."""
    return locator.evaluate(_HANGUL_DRAWN)
