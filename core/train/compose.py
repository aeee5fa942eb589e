"""The Training page's pipeline choices as augment.* settings: the built-in Resize + Normalize, the
Augmentation page's pipeline (saved beside the run when it starts), a preset, or a file named by the
starting config. No torch here.

The choices that are not a file or a name (BUILTIN, PAGE_PIPELINE, the model picker's TIMM_OPTION) are
option values that stay the same in every language, so that a choice survives a change of language;
`option_label` names them in the session's language.
"""
from __future__ import annotations

from core.i18n import t

BUILTIN = "built-in: Resize to data.image_size + Normalize"
PAGE_PIPELINE = "the Augmentation page's pipeline"
TIMM_OPTION = "timm/… (search timm's models)"
_LABEL_KEYS = {BUILTIN: "training.pipelines.builtin", PAGE_PIPELINE: "training.pipelines.page",
               TIMM_OPTION: "training.timm_option"}


def option_label(option: str) -> str:
    """What a picker shows for `option`: our own choices in words, a preset, file or model name as it is."""
    key = _LABEL_KEYS.get(option)
    return t(key) if key else option


def pipeline_options(presets, has_page_pipeline: bool, current: str = "") -> list[str]:
    """What a pipeline picker offers; `current` (the starting config's value) is kept when it is a file."""
    options = [BUILTIN] + ([PAGE_PIPELINE] if has_page_pipeline else []) + list(presets)
    if current and current not in options:
        options.append(current)
    return options


def default_option(current: str, has_page_pipeline: bool, prefer_page: bool) -> str:
    """The picker's first choice: the page's pipeline where asked and present, else the config's value."""
    if prefer_page and has_page_pipeline:
        return PAGE_PIPELINE
    return current or BUILTIN


def pipeline_setting(choice: str, page_pipeline_file) -> str:
    """The augment.train / augment.val value of a picker's choice (empty = the built-in pipeline)."""
    if choice == BUILTIN:
        return ""
    if choice == PAGE_PIPELINE:
        return str(page_pipeline_file)
    return choice
