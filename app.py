"""Mask Lab: `streamlit run app.py`. The pages are the files in pages/, in file-name order, the first one the home.

st.navigation lists them (rather than Streamlit's pages/ discovery, which would name the home page after this
file, "app"); a page's title is its file name without the number prefix, its URL the same.
"""
import re
from pathlib import Path

import streamlit as st

PAGE_FILES = sorted((Path(__file__).resolve().parent / "pages").glob("*.py"))


def page_title(path: Path) -> str:
    return re.sub(r"^[0-9]+_", "", path.stem).replace("_", " ")


st.navigation([st.Page(f"pages/{path.name}", title=page_title(path), default=index == 0)
               for index, path in enumerate(PAGE_FILES)]).run()
