"""One Streamlit widget per declared Param: the single table from parameter kind to widget."""
from __future__ import annotations

import json
import math

import streamlit as st

from core.i18n import param_help, t
from core.params import TWO_NUMBER_KINDS, Param, params_of

# A single-number slider beyond this many positions (epochs 1..1000) cannot be set by hand to one value.
# Range sliders keep slider_bounds' default: two thumbs over -180..180 still read well.
SCALAR_SLIDER_STEPS = 300


def param_widget(param: Param, key: str, value=None, label: str | None = None, help: str | None = None,
                 format_func=None):
    """Draw the widget for `param` (current `value`, else its default) and return what the user chose.

    Widgets never clamp: a slider widens to show a value outside its usual span, and number inputs
    have no bounds, so that validation, not the widget, judges a value and reports it in words.
    `format_func` names choice values (e.g. 1 -> "linear").
    """
    value = param.default if value is None and not param.optional else value
    label = label or param.name
    help = help or param.help or None  # callers pass the help in the session's language (section_widgets)
    if param.kind == "bool" and param.optional:
        # "auto" (None) is a real third state, e.g. pin_memory following torch.cuda.is_available().
        states = [None, True, False]
        auto = t("widgets.auto")  # looked up now: Streamlit may name options again outside this session's run
        return st.selectbox(label, states, index=states.index(value if value in states else None), key=key,
                            help=help, format_func=lambda state: auto if state is None else str(state).lower())
    if param.kind == "bool":
        return st.checkbox(label, value=bool(value), key=key, help=help)
    if param.kind == "choice":
        choices = list(param.choices)
        index = choices.index(value) if value in choices else 0
        return st.selectbox(label, choices, index=index, key=key, help=help, format_func=format_func or str)
    if param.kind in TWO_NUMBER_KINDS:
        return two_number_widget(param, key, value, label, help)
    if param.kind in ("int", "float"):
        cast = int if param.kind == "int" else float
        if param.optional:
            enabled = st.checkbox(t("widgets.set", label=label), value=value is not None, key=f"{key}__set", help=help)
            if not enabled:
                return None
            if value is None:  # keep a value that is set (an imported one); fall back only when unset
                value = param.default if param.default is not None else (param.min or 0)
        if param.scale == "log":
            return st.number_input(label, value=cast(value), step=cast(log_step(param)), format="%g", key=key,
                                   help=help)
        step = param.step if param.step is not None else (1 if cast is int else 0.01)
        bounds = slider_bounds(param, [cast(value)], step, max_steps=SCALAR_SLIDER_STEPS)
        if bounds is not None:
            return st.slider(label, min_value=cast(bounds[0]), max_value=cast(bounds[1]), value=cast(value),
                             step=cast(step), key=key, help=help)
        return st.number_input(label, value=cast(value), step=cast(step), key=key, help=help,
                               format="%d" if cast is int else "%g")
    if param.kind == "list":
        text = st.text_input(label, value=json.dumps(value), key=key, help=help)
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text  # validation names the parameter and the bad text
    text = st.text_input(label, value="" if value is None else str(value), key=key, help=help)
    return None if param.optional and text == "" else text


def log_step(param: Param) -> float:
    """The +/- step of a log-scale number: a tenth of the default's decade (1e-3 -> 1e-4)."""
    if param.step is not None:
        return param.step
    reference = param.default or param.min or 1e-3
    return 10.0 ** (math.floor(math.log10(abs(reference))) - 1)


def slider_bounds(param: Param, values: list, step: float, max_steps: int = 1000) -> tuple[float, float] | None:
    """(low, high) of a slider for `param`, or None where a number input fits better.

    The slider spans the declared hint (else the valid range) and widens to include `values`, so a
    value from a file outside the usual span is shown as it is, never clamped behind the user's back.
    More than `max_steps` positions and a slider cannot be set to one value by hand: a number input then.
    """
    low = param.slider_min if param.slider_min is not None else param.min
    high = param.slider_max if param.slider_max is not None else param.max
    if low is None or high is None:
        return None
    low, high = min([low, *values]), max([high, *values])
    if (high - low) / step > max_steps:
        return None
    return low, high


def two_number_widget(param: Param, key: str, value, label: str, help: str | None):
    """A range slider for a bounded range; two number inputs for a pair or an unbounded range.

    Number inputs let the user type a wrong value (low above high, below the minimum) so that
    validation can say what is wrong instead of the widget silently clamping it.
    """
    cast = TWO_NUMBER_KINDS[param.kind]
    step = cast(param.step if param.step is not None else (1 if cast is int else 0.01))
    if param.optional:
        if not st.checkbox(t("widgets.set", label=label), value=value is not None, key=f"{key}__set", help=help):
            return None
        value = value if value is not None else param.default
    try:
        low, high = (cast(number) for number in value)
    except (TypeError, ValueError):
        fallback = param.default if param.default is not None else (param.min or 0, param.min or 0)
        low, high = (cast(number) for number in fallback)
    bounds = slider_bounds(param, [low, high], step)
    if param.kind != "int_pair" and bounds is not None and low <= high:
        return st.slider(label, min_value=cast(bounds[0]), max_value=cast(bounds[1]), value=(low, high), step=step,
                         key=key, help=help)
    names = ("", "") if param.kind == "int_pair" else (t("widgets.low"), t("widgets.high"))
    first, second = st.columns(2)
    with first:
        low = st.number_input(f"{label}[0]{names[0]}", value=low, step=step, key=f"{key}__0", help=help)
    with second:
        high = st.number_input(f"{label}[1]{names[1]}", value=high, step=step, key=f"{key}__1", help=help)
    return (low, high)


def section_widgets(section: str, section_cls, values: dict, key_prefix: str = "", skip=()) -> dict:
    """One widget per setting of a config section: {"section.name": chosen value}.

    `values` holds the section's current values (a starting config's); widget keys are
    key_prefix + "section.name", so a page can reset them all by prefix.
    """
    chosen = {}
    for param in params_of(section_cls):
        if param.name in skip:
            continue
        key = f"{section}.{param.name}"
        chosen[key] = param_widget(param, key=f"{key_prefix}{key}", value=values.get(param.name),
                                   help=param_help(key, param.help) or None)
    return chosen
