"""The lab's words in English and Korean: every page's text, help and errors come from `locales/<language>/`.

One place per language: `locales/en/*.yaml` and `locales/ko/*.yaml`, one file per page or subject, with the
same keys in both (tests/test_i18n.py holds them to it, placeholders included). A key is the file's stem and
the path inside it: `t("training.title")` reads `title` in `locales/<language>/training.yaml`. Values are
`str.format` templates: `t("training.cancel_sent", run="run-3")`.

Parameter help is the exception that proves the rule: English help is declared with the parameter
(core/config.py `setting(help=...)`, one declaration for widgets, CLI, YAML and validation); Korean help
lives in `locales/ko/params.yaml` under the parameter's dotted name (`optim.lr`).

The language is the session's choice (the sidebar switch, st.session_state["lang"]), else `?lang=` in the
URL, else MASKLAB_LANG, else English. Outside a Streamlit session (CLI, tests of core) it is MASKLAB_LANG.
"""
from __future__ import annotations

import functools
import os
import string
from pathlib import Path

import yaml

LANGUAGES = {"en": "English", "ko": "한국어"}
DEFAULT_LANGUAGE = "en"
LANGUAGE_KEY = "lang"
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
PARAM_HELP_FILE = "params"  # locales/ko/params*.yaml: Korean help of declared parameters (see module docstring)


class MissingText(KeyError):
    """A key no catalogue holds: a programming error, caught by the tests, never a user's."""


@functools.lru_cache(maxsize=None)
def catalogue(language: str) -> dict[str, str]:
    """Every text of one language, flattened to dotted keys ("training.title" -> "Training")."""
    texts: dict[str, str] = {}
    folder = LOCALES_DIR / language
    for path in sorted(folder.glob("*.yaml")):
        with open(path, encoding="utf-8") as handle:
            content = yaml.safe_load(handle) or {}
        _flatten(content, path.stem, texts, path)
    return texts


def _flatten(node, prefix: str, into: dict, path: Path) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str):  # YAML reads `true:`, `no:`, `1:` as a bool or a number, not a name
                raise ValueError(f"{path}: key {key!r} under {prefix} must be quoted text")
            _flatten(value, f"{prefix}.{key}", into, path)
    elif isinstance(node, str):
        into[prefix] = node
    else:
        raise ValueError(f"{path}: {prefix} must be text or a mapping, not {type(node).__name__}")


def placeholders(template: str) -> set[str]:
    """The names a template formats ({run}, {value:.3f} -> {"run", "value"})."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def current_language() -> str:
    """The language of this session (see the module docstring for the order of sources)."""
    session = _session_state()
    if session is not None:
        chosen = session.get(LANGUAGE_KEY)
        if chosen in LANGUAGES:
            return chosen
        from_url = _query_language()
        if from_url:
            return from_url
    configured = os.environ.get("MASKLAB_LANG", DEFAULT_LANGUAGE)
    return configured if configured in LANGUAGES else DEFAULT_LANGUAGE


def text(language: str, key: str, /, **values) -> str:
    """The text of `key` in `language` (English where that language lacks it), formatted with `values`."""
    template = catalogue(language).get(key)
    if template is None:
        template = catalogue(DEFAULT_LANGUAGE).get(key)
    if template is None:
        raise MissingText(f"no text for {key!r} in locales/{DEFAULT_LANGUAGE}/")
    return template.format(**values) if values else template


def t(key: str, /, **values) -> str:
    """The text of `key` in the session's language."""
    return text(current_language(), key, **values)


def has_text(key: str, language: str | None = None) -> bool:
    return key in catalogue(language or current_language())


def param_help(name: str, english: str) -> str:
    """Help of the declared parameter `name` ("optim.lr") in the session's language; `english` is its
    declaration's help, used for English and wherever no translation exists."""
    language = current_language()
    if language == DEFAULT_LANGUAGE:
        return english
    return catalogue(language).get(f"{PARAM_HELP_FILE}.{name}", english)


def localized_error(error: BaseException) -> str:
    """An error in the session's language: ours by their key (core.errors.MaskLabError.of), others as raised."""
    key = getattr(error, "key", None)
    if key:
        # An error that wraps another (a config file's bad key) names the inner one in the same language.
        values = {name: localized_error(value) if isinstance(value, BaseException) else value
                  for name, value in getattr(error, "values", {}).items()}
        return t(key, **values)
    return str(error)


def _session_state():
    """st.session_state inside a running Streamlit script, else None (CLI, bare imports)."""
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx
    except ImportError:
        return None
    if get_script_run_ctx(suppress_warning=True) is None:
        return None
    import streamlit as st
    return st.session_state


def _query_language() -> str | None:
    import streamlit as st
    chosen = st.query_params.get(LANGUAGE_KEY)
    return chosen if chosen in LANGUAGES else None
