"""Mask Lab: `streamlit run app.py`. The pages are the files in pages/, in file-name order, the first one the home.

st.navigation lists them (rather than Streamlit's pages/ discovery, which would name the home page after this
file, "app"); a page's title is its file name without the number prefix in the session's language, its URL
the English name. The sidebar's language switch (core/i18n.py) comes first, so the sign-in page has it too.
An app served on a network shows only the sign-in page until the shared password is given (core/access.py).
A page's error ends the page as one line (core/ui.py run_page), never a traceback.
"""
import re
from pathlib import Path

import streamlit as st

from core.access import access_granted, sign_in
from core.i18n import LANGUAGE_KEY, LANGUAGES, current_language, t
from core.ui import run_page

PAGE_FILES = sorted((Path(__file__).resolve().parent / "pages").glob("*.py"))


def page_name(path: Path) -> str:
    return re.sub(r"^[0-9]+_", "", path.stem).replace("_", " ")


def language_switch() -> None:
    # On every run, not only the session's first (?lang=ko or MASKLAB_LANG then): a page change draws the switch
    # anew, and a new widget shows its first option (English) unless code set its value before it was drawn.
    st.session_state[LANGUAGE_KEY] = st.session_state.get(LANGUAGE_KEY) or current_language()
    st.sidebar.selectbox(t("app.language"), list(LANGUAGES), format_func=LANGUAGES.get, key=LANGUAGE_KEY,
                         help=t("app.language_help"))


language_switch()
if access_granted():
    run_page(st.navigation([st.Page(f"pages/{path.name}", title=t(f"app.pages.{page_name(path)}"),
                                    url_path=page_name(path), default=index == 0)
                            for index, path in enumerate(PAGE_FILES)]))
else:
    # Still a navigation, with one page: the pages of a URL typed directly are not found, not shown.
    run_page(st.navigation([st.Page(sign_in, title=t("app.pages.sign_in"), url_path="sign-in")],
                           position="hidden"))
