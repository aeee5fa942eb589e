"""The pipeline editor of the Augmentation page: one block of widgets per step, drawn from the catalogue.

The pipeline lives in st.session_state; every widget key carries its step's `uid`, so moving a
step moves its widgets with it, and loading a pipeline (preset, import) gives fresh widgets.
Every value is checked as it is entered (by the library) and a problem is shown under the widget that
caused it. Steps outside the catalogue (imported files) are shown read-only.
"""
from __future__ import annotations

import json

import streamlit as st

from core.augment.catalogue import GROUPS, catalogue, choice_label, get_entry, group_name, hint_help, purpose
from core.augment.library_errors import StepError
from core.augment.order import insert_index, order_problems
from core.augment.pipeline import (GROUP_P, SEED, WEIGHT, LibraryStep, OneOf, Pipeline, Step, new_one_of, new_step,
                                   step_label, step_where)
from core.augment.preset_files import load_preset, preset_names
from core.errors import ConfigError
from core.i18n import localized_error, t
from core.widgets import param_widget

PIPELINE_KEY = "aug_pipeline"
GENERATION_KEY = "aug_generation"  # bumped on every load so that pipeline-wide widgets start fresh
FLASH_KEY = "aug_flash"            # a message to show after the rerun that follows a load
PARAMS_PER_ROW = 2  # at 1400 px a third column cuts selectbox values and per-channel lists


def current_pipeline() -> Pipeline:
    """The pipeline being edited; the baseline preset on first visit."""
    if PIPELINE_KEY not in st.session_state:
        st.session_state[PIPELINE_KEY] = load_preset("baseline")
        st.session_state[GENERATION_KEY] = 0
    return st.session_state[PIPELINE_KEY]


def chosen_pipeline(session_state) -> Pipeline | None:
    """The page's pipeline once the user has made it theirs (edited, loaded, imported); None while it is
    the untouched baseline it starts from, so a mere visit to the page changes no other page's defaults."""
    pipeline = session_state.get(PIPELINE_KEY)
    if pipeline is None:
        return None
    from core.augment.serialize import pipeline_to_dict

    try:
        untouched = pipeline_to_dict(pipeline) == pipeline_to_dict(load_preset("baseline"))  # seed included
    except ConfigError:  # a half-edited pipeline the library refuses: edited all the same
        untouched = False
    return None if untouched else pipeline


def replace_pipeline(pipeline: Pipeline, message: str | None = None) -> None:
    """Swap in a loaded pipeline and rerun, so every widget is drawn from the new values."""
    st.session_state[PIPELINE_KEY] = pipeline
    st.session_state[GENERATION_KEY] = st.session_state.get(GENERATION_KEY, 0) + 1
    if message:
        st.session_state[FLASH_KEY] = message
    st.rerun()


def show_flash() -> None:
    message = st.session_state.pop(FLASH_KEY, None)
    if message:
        st.success(message)


def pipeline_editor(pipeline: Pipeline) -> list[str]:
    """Draw the editor; returns the problems found (empty when the pipeline can be built)."""
    problems: list[str] = []
    generation = st.session_state.get(GENERATION_KEY, 0)
    seed = st.number_input(t("augmentation.seed"), value=int(pipeline.seed), step=1, key=f"aug_seed_{generation}",
                           help=hint_help("pipeline", SEED))
    problems += _checked(lambda: setattr(pipeline, "seed", SEED.validate(seed, "seed")))
    if not pipeline.steps:
        st.info(t("augmentation.empty"))
    for index, step in enumerate(pipeline.steps):
        with st.container(border=True):
            if isinstance(step, OneOf):
                problems += _group_block(pipeline, index, step)
            elif isinstance(step, LibraryStep):
                problems += _library_block(pipeline, index, step)
            else:
                problems += _step_block(pipeline, index, step)
    for problem in order_problems(pipeline):  # valid to the library, wrong for the images: said, not refused
        st.warning(problem)
    _add_controls(pipeline)
    return problems


def _checked(action) -> list[str]:
    """Run `action`; a ConfigError is shown in place and returned as a problem."""
    try:
        action()
    except ConfigError as error:
        st.error(localized_error(error))
        return [str(error)]
    return []


def _header(pipeline: Pipeline, index: int, step, title: str) -> None:
    """Title on its own row, then the enabled box and the move/remove buttons of a top-level step."""
    uid = step.uid
    st.markdown(title)
    enabled, up, down, remove = st.columns([3, 1, 1, 1], vertical_alignment="center")
    step.enabled = enabled.checkbox(t("augmentation.enabled"), value=step.enabled, key=f"aug_{uid}_enabled")
    if up.button("↑", key=f"aug_{uid}_up", help=t("augmentation.earlier"), disabled=index == 0):
        pipeline.move(index, -1)
        st.rerun()
    if down.button("↓", key=f"aug_{uid}_down", help=t("augmentation.later"), disabled=index == len(pipeline.steps) - 1):
        pipeline.move(index, +1)
        st.rerun()
    if remove.button("✕", key=f"aug_{uid}_remove", help=t("augmentation.remove")):
        pipeline.remove(index)
        st.rerun()


def _step_block(pipeline: Pipeline, index: int, step: Step) -> list[str]:
    entry = get_entry(step.name)
    _header(pipeline, index, step, t("augmentation.step_title", number=index + 1, name=step.name,
                                     group=group_name(entry.group), purpose=purpose(entry)))
    problems = _step_widgets(step, step_where(index + 1, step), entry.p)
    return problems if step.enabled else []


def _library_block(pipeline: Pipeline, index: int, step: LibraryStep) -> list[str]:
    """A step outside the catalogue: its parameters shown as the file gave them, not editable."""
    _header(pipeline, index, step, t("augmentation.read_only", number=index + 1, name=step.name))
    parameter, value = t("augmentation.parameter"), t("augmentation.value")
    st.dataframe([{parameter: name, value: json.dumps(argument)} for name, argument in step.arguments().items()],
                 hide_index=True, width="stretch")
    return []


def _group_block(pipeline: Pipeline, index: int, group: OneOf) -> list[str]:
    _header(pipeline, index, group, t("augmentation.group_title", number=index + 1))
    problems = []
    value = st.slider(t("augmentation.group_p"), 0.0, 1.0, float(group.p), step=GROUP_P.step, key=f"aug_{group.uid}_p",
                      help=hint_help("OneOf", GROUP_P))
    problems += _checked(lambda: setattr(group, "p", GROUP_P.validate(value, f"step {index + 1} (OneOf): p")))
    for child_index, child in enumerate(group.steps, start=1):
        with st.container(border=True):
            st.markdown(t("augmentation.child_title", name=child.name, purpose=purpose(get_entry(child.name))))
            enabled, remove = st.columns([3, 1], vertical_alignment="center")
            child.enabled = enabled.checkbox(t("augmentation.enabled"), value=child.enabled, key=f"aug_{child.uid}_enabled")
            if remove.button("✕", key=f"aug_{child.uid}_remove", help=t("augmentation.remove_from_group"),
                             disabled=len(group.steps) == 1):
                group.steps.remove(child)
                st.rerun()
            child_problems = _step_widgets(child, step_where(index + 1, group, child_index), WEIGHT)
            problems += child_problems if child.enabled else []
    return problems if group.enabled else []


def _step_widgets(step: Step, where: str, p_param) -> list[str]:
    """p and one widget per shown argument, in a grid; the library judges them together.

    A problem with one parameter is shown under its widget, a rule across parameters (x_max > x_min)
    under the grid; only values the library accepts go into the step.
    """
    entry = get_entry(step.name)
    params = [p_param, *entry.params]
    values, slots = {}, {}
    for row_start in range(0, len(params), PARAMS_PER_ROW):
        for column, param in zip(st.columns(PARAMS_PER_ROW), params[row_start:row_start + PARAMS_PER_ROW]):
            with column:
                current = step.p if param is p_param else step.args.get(param.name)
                widget_help = hint_help(entry.name if param is not p_param or p_param is entry.p else "OneOfMember", param)
                values[param.name] = param_widget(param, key=f"aug_{step.uid}_{param.name}", value=current, help=widget_help,
                                                  format_func=lambda v, name=param.name: choice_label(name, v))
                slots[param.name] = st.empty()
    p = values.pop("p")
    try:
        if p_param is not entry.p:  # a group member's weight, which the library does not see
            p_param.validate(p, f"{where}: p")
        _, args = entry.build({**step.args, **values}, p, where)
    except StepError as error:
        for name in error.problems:
            (slots[name] if name in slots else st).error(error.line(name))  # the library's words (English)
        return [str(error)]
    except ConfigError as error:
        slots["p"].error(localized_error(error))
        return [str(error)]
    step.p, step.args = float(p), args
    return []


def _add_controls(pipeline: Pipeline) -> None:
    """Add a step, add a OneOf group, load a preset: one full-width control each, so no label is cut."""
    entries = catalogue()
    names = sorted(entries, key=lambda name: GROUPS.index(entries[name].group))
    # Names looked up now, in this run's language: AppTest calls a format_func between runs, outside the session.
    label = {name: f"{group_name(entries[name].group)} · {name}" for name in names}.__getitem__
    name = st.selectbox(t("augmentation.transform"), names, format_func=label, key="aug_add_name",
                        help=t("augmentation.transform_help"))
    st.caption(purpose(entries[name]))
    if st.button(t("augmentation.add_step"), key="aug_add", type="primary", help=t("augmentation.add_step_help")):
        pipeline.steps.insert(insert_index(pipeline, name), new_step(name))
        st.rerun()
    chosen = st.multiselect(t("augmentation.oneof_of"), names, format_func=label, key="aug_oneof_names",
                            help=t("augmentation.oneof_help"))
    if st.button(t("augmentation.add_oneof"), key="aug_add_oneof", disabled=not chosen):
        pipeline.steps.insert(insert_index(pipeline), new_one_of(chosen))
        st.rerun()
    preset, load = st.columns([2, 1], vertical_alignment="bottom")
    name = preset.selectbox(t("augmentation.preset"), preset_names(), key="aug_preset_name")
    if load.button(t("augmentation.load_preset"), key="aug_load_preset", help=t("augmentation.load_preset_help"),
                   width="stretch"):
        replace_pipeline(load_preset(name), t("augmentation.loaded_preset", name=name))


def describe_steps(pipeline: Pipeline) -> str:
    """'Resize → Rotate → Normalize' (enabled steps only)."""
    return " → ".join(step_label(step) for step in pipeline.enabled_steps()) or t("augmentation.no_steps")
