"""Column headers of the tables a page shows, in the session's language; the values stay data.

A header is translated where `<area>.columns.<header>` is in the catalogue (locales/*/data.yaml for
"data"); any other header (a setting such as "30/60", a file name) is shown as it is.
"""
from __future__ import annotations

import pandas as pd

from core.i18n import has_text, t


def header(column, area: str = "data") -> str:
    key = f"{area}.columns.{column}"
    return t(key) if isinstance(column, str) and has_text(key, "en") else column


def localized_headers(table: pd.DataFrame, area: str = "data") -> pd.DataFrame:
    """A copy of `table` for display with its column headers (and a named index) in the session's language."""
    shown = table.rename(columns=lambda column: header(column, area))
    if shown.index.name is not None:
        shown.index = shown.index.rename(header(shown.index.name, area))
    if shown.columns.name is not None:
        shown.columns = shown.columns.rename(header(shown.columns.name, area))
    return shown
