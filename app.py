"""Mask Lab: `streamlit run app.py`. The pages are the files in pages/, in file-name order, the first one the home.

st.navigation lists them (rather than Streamlit's pages/ discovery, which would name the home page after this
file, "app"); a page's title is its file name without the number prefix, its URL the same. An app served on a
network shows only the sign-in page until the shared password is given (core/access.py). A page's error ends
the page as one line (core/ui.py run_page), never a traceback.
"""
import re
from pathlib import Path

import streamlit as st

from core.access import access_granted, sign_in
from core.ui import run_page

PAGE_FILES = sorted((Path(__file__).resolve().parent / "pages").glob("*.py"))


def page_title(path: Path) -> str:
    return re.sub(r"^[0-9]+_", "", path.stem).replace("_", " ")


if access_granted():
    run_page(st.navigation([st.Page(f"pages/{path.name}", title=page_title(path), default=index == 0)
                            for index, path in enumerate(PAGE_FILES)]))
else:
    # Still a navigation, with one page: the pages of a URL typed directly are not found, not shown.
    run_page(st.navigation([st.Page(sign_in, title="Sign in", url_path="sign-in")], position="hidden"))
