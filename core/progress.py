"""Progress reporting that works the same from the CLI (a bar on stderr) and a page (st.progress)."""
from __future__ import annotations

import sys
import time


class StderrProgress:
    """A `progress(done, total)` callable drawing one self-updating line on stderr."""

    def __init__(self, label: str, min_interval_s: float = 0.2):
        self.label = label
        self.min_interval_s = min_interval_s
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < self.min_interval_s:
            return
        self._last = now
        width = 30
        filled = int(width * done / total) if total else width
        end = "\n" if done >= total else ""
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}{end}")
        sys.stderr.flush()


def report(progress, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)
