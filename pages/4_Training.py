"""Training: compose a run from the augmentation pipeline, loader settings and model/loss/optimizer/schedule,
start it as a separate process, and follow its files live (progress, curves, ETA, log); cancel or resume."""
import streamlit as st

from core.access import require_access
from core.augment import preset_names, save_pipeline
from core.augment.editor import chosen_pipeline
from core.config import MODEL_NAMES, TIMM_PREFIX, ExperimentConfig, config_to_dict, config_to_yaml, load_config
from core.errors import MaskLabError
from core.i18n import has_text, t
from core.loader.settings import loader_choices_from_session
from core.train import charts, follow
from core.train.compose import (BUILTIN, PAGE_PIPELINE, TIMM_OPTION, default_option, option_label, pipeline_options,
                                pipeline_setting)
from core.train.launch import (cancel_run, config_from_values, config_sources, default_run_name, find_active_runs,
                               launch_training, pipeline_file_for, resume_training, runs_root, stopped_before_status,
                               unique_run_name)
from core.train.pipeline_sizes import output_size, size_mismatch
from core.ui import current_age_edges, current_data_dir, page_header, show_error
from core.widgets import section_widgets

require_access()  # first: a URL can reach a page without app.py (see core/access.py)

FOLLOW_KEY = "train_follow"
FOLLOW_REQUEST_KEY = "train_follow_request"  # set before a rerun: a widget's key cannot change once drawn
BASE_LOADED_KEY = "train_base_loaded"
FIXES_KEY = "train_fixes"                 # one-click fixes of the starting values (size mismatch)
AUTO_NAME_KEY = "train_auto_name"
WIDGET_PREFIX = "cfg_"
PIPELINE_KEY = "aug_pipeline"             # the Augmentation page's pipeline (core.augment.editor)
SECTIONS = ("model", "loss", "optim", "sched", "train")  # tab titles: training.sections.<section>


page_header("training", notes=('lecture_title', 'lecture'))

root = runs_root()
active = find_active_runs(root)


# ---------------------------------------------------------------- follow a run

def follow_panel(run_dir, progress) -> None:
    """Everything the page shows about one run."""
    died = stopped_before_status(run_dir)
    if died:
        st.error(t("training.died", log=died))
        return
    state_line = (t(f"training.state_lines.{progress.state}") if has_text(f"training.state_lines.{progress.state}")
                  else follow.state_word(progress.state))
    st.markdown(f"**{progress.name}** — {state_line}")
    if progress.state == "failed":
        st.error(t("training.failed", error=progress.error))
    weights_line = follow.run_weights_line(run_dir)
    if weights_line:
        st.caption(weights_line)
    st.progress(progress.epoch_fraction, text=progress.epoch_text)
    st.progress(progress.step_fraction, text=progress.step_text)
    columns = st.columns(5)
    columns[0].metric(t("training.state"), follow.state_word(progress.state))
    columns[1].metric(t("training.elapsed"), follow.format_seconds(progress.elapsed_s))
    columns[2].metric(t("training.eta"), follow.format_seconds(progress.eta_s) if progress.alive else "—")
    columns[3].metric(t("training.device"), progress.device)
    best = progress.best_val_f1 is not None  # the epoch goes in the delta line: the value stays narrow
    columns[4].metric(t("training.best_val_f1"), f"{progress.best_val_f1:.4f}" if best else "—",
                      delta=t("training.best_epoch", epoch=progress.best_epoch) if best else None, delta_color="off", delta_arrow="off")
    table = charts.curves(run_dir)
    if not table.empty:
        for column, metric in zip(st.columns(3), ("loss", "accuracy", "macro F1")):
            column.altair_chart(charts.curves_chart(table, metric), width="stretch")
    steps = charts.step_losses(run_dir)
    if len(steps) > 1:
        st.altair_chart(charts.step_loss_chart(steps), width="stretch")
    with st.expander(t("training.log"), expanded=progress.state in ("failed", "stopped")):
        st.code(follow.run_log_tail(run_dir, 30) or t("training.no_output"), language=None)

    buttons = st.columns(3)
    if progress.can_cancel and buttons[0].button(t("training.cancel"), key="train_cancel",
                                                 help=t("training.cancel_help")):
        try:
            cancel_run(run_dir)
            st.info(t("training.cancel_sent", run=progress.name))
        except MaskLabError as error:
            show_error(error)
    if progress.can_resume:
        others = [run for run in find_active_runs(root) if run.name != progress.name]
        confirm = True
        if others:
            confirm = buttons[2].checkbox(t("training.two_at_once"), key="train_resume_confirm",
                                          help=t("training.two_at_once_help", run=others[0].name))
        if buttons[1].button(t("training.resume"), key="train_resume", disabled=not confirm,
                             help=t("training.resume_help")):
            try:
                resume_training(run_dir, allow_concurrent=bool(others))
                st.rerun()
            except MaskLabError as error:
                show_error(error)


def follow_section(active_names: tuple) -> None:
    """The runs, the picker and the followed run's panel, read again from the files on every tick.

    The whole section is one fragment so that nothing in it outlives the files: the "Running now" line,
    the state beside the picker and the panel always come from the same reading.
    """
    active = find_active_runs(root)
    if tuple(sorted(run.name for run in active)) != active_names:
        st.rerun()  # a run started or ended: one full rerun refreshes the ticking and the Start button
    names = [run.name for run in active]
    names += [path.name for path in follow.list_run_dirs(root) if path.name not in names]
    names += [name for name in follow.pending_launches(root) if name not in names]
    request = st.session_state.pop(FOLLOW_REQUEST_KEY, None)
    if request in names:
        st.session_state[FOLLOW_KEY] = request
    elif st.session_state.get(FOLLOW_KEY) not in names and names:
        st.session_state[FOLLOW_KEY] = names[0]  # a second session opens on the run that is going
    if not names:
        st.info(t("training.no_runs", root=root))
        return
    if active:
        st.caption(t("training.running_now", runs=", ".join(f"**{run.name}**" for run in active)))
    # The state sits beside the picker, not in its option labels: the browser keeps a selectbox's labels
    # from when it was first drawn, so "(running)" would outlive the run.
    picker, state_column = st.columns([3, 1], vertical_alignment="bottom")
    followed = picker.selectbox(t("training.run"), names, key=FOLLOW_KEY)
    run_dir = root / followed
    progress = follow.run_progress(run_dir)
    state_column.caption(t("training.state_caption", state=follow.state_word(progress.state)))
    follow_panel(run_dir, progress)


st.header(t("training.follow"))
st.fragment(run_every=2 if active else None)(follow_section)(tuple(sorted(run.name for run in active)))


# ---------------------------------------------------------------- compose a new run

def widget_values(section: str, base: dict, skip=()) -> dict:
    return section_widgets(section, type(getattr(ExperimentConfig(), section)), base[section], WIDGET_PREFIX, skip)


@st.cache_data(show_spinner=t("training.searching_timm"))
def timm_matches(query: str) -> list[str]:
    from core.train.models import search_timm_models

    return search_timm_models(query)


def model_picker(current: str) -> str:
    """Our models, or any timm architecture found by searching timm's list; its existence is checked again
    before the run starts."""
    options = [*MODEL_NAMES, TIMM_OPTION]
    picked = st.selectbox("model.name", options, key=f"{WIDGET_PREFIX}model.name",
                          index=options.index(current if current in MODEL_NAMES else TIMM_OPTION),
                          format_func=option_label, help=t("training.model_help"))
    if picked != TIMM_OPTION:
        return picked
    default = current[len(TIMM_PREFIX):] if current.startswith(TIMM_PREFIX) else "efficientnet"
    query = st.text_input(t("training.timm_search"), value=default, key="train_timm_search",
                          help=t("training.timm_search_help"))
    matches = timm_matches(query)
    if not matches:
        st.warning(t("training.timm_none", query=query))
        return TIMM_PREFIX + query.strip()  # the config check then names close matches
    index = matches.index(current) if current in matches else 0
    found = t("training.timm_found_first" if len(matches) == 200 else "training.timm_found", count=len(matches))
    return st.selectbox(found, matches, index=index, key="train_timm_model")


def loader_defaults(base: dict) -> tuple[dict, str]:
    """The starting config's loader settings with those the user chose on the Loader page over them,
    and a line saying which came from where."""
    chosen = loader_choices_from_session(st.session_state)
    if not chosen:
        return base["loader"], t("training.loader_from_config")
    names = ", ".join(f"`{name}`" for name in chosen)
    return {**base["loader"], **chosen}, t("training.loader_from_page", names=names)


def source_label(source: str) -> str:
    """A starting point's name: a config file as it is, the declared defaults and a run's config in words."""
    if sources[source] is None:
        return t("training.declared_defaults")
    if source.startswith("run ") and sources[source].parent.name == source[len("run "):]:
        return t("training.source_run", run=source[len("run "):])
    return source


st.header(t("training.new_run"))
sources = config_sources(root)
source = st.selectbox(t("training.start_from"), list(sources), key="train_base", format_func=source_label,
                      help=t("training.start_from_help"))
if st.session_state.get(BASE_LOADED_KEY) != source:  # a new starting point: its values replace the widgets'
    for key in [key for key in st.session_state if str(key).startswith(WIDGET_PREFIX)]:
        del st.session_state[key]
    st.session_state[BASE_LOADED_KEY] = source
    st.session_state.pop(FIXES_KEY, None)
try:
    base = config_to_dict(load_config(sources[source]))
except MaskLabError as error:
    show_error(error, t("training.pick_another_start"))
    base = config_to_dict(ExperimentConfig())
# A one-click fix changes the starting values, not the widgets' state: the fixed widgets are dropped and
# drawn again from these values (setting a drawn widget's state is what Streamlit warns about).
fixes = st.session_state.get(FIXES_KEY, {})
if "data.image_size" in fixes:
    base["data"]["image_size"] = fixes["data.image_size"]

data_dir = current_data_dir()
values = {"data.dir": str(data_dir)}
page_pipeline = st.session_state.get(PIPELINE_KEY)
data_tab, loader_tab, *section_tabs = st.tabs([t("training.data_tab"), t("training.loader_tab"),
                                               *(t(f"training.sections.{section}") for section in SECTIONS)])
with data_tab:
    st.caption(t("training.data_dir", path=data_dir))
    base["data"]["age_edges"] = list(current_age_edges()) if sources[source] is None else base["data"]["age_edges"]
    values.update(widget_values("data", base, skip=("dir",)))
    has_page = page_pipeline is not None
    # Preselected only once the user made it theirs: a visit to the Augmentation page changes nothing here.
    page_chosen = chosen_pipeline(st.session_state) is not None
    train_choices = pipeline_options(preset_names(), has_page, base["augment"]["train"])
    val_choices = pipeline_options(preset_names(), has_page, base["augment"]["val"])
    train_choice = st.selectbox(t("training.train_pipeline"), train_choices, key=f"{WIDGET_PREFIX}augment.train",
                                index=train_choices.index(fixes.get("augment.train") or default_option(
                                    base["augment"]["train"], page_chosen, True)),
                                format_func=option_label, help=t("training.train_pipeline_help"))
    val_choice = st.selectbox(t("training.val_pipeline"), val_choices, key=f"{WIDGET_PREFIX}augment.val",
                              index=val_choices.index(fixes.get("augment.val") or default_option(
                                  base["augment"]["val"], has_page, False)),
                              format_func=option_label, help=t("training.val_pipeline_help"))
with loader_tab:
    loader_base, loader_from = loader_defaults(base)
    st.caption(loader_from)
    values.update(widget_values("loader", {"loader": loader_base}))
for tab, section in zip(section_tabs, SECTIONS):
    with tab:
        if section == "model":
            values["model.name"] = model_picker(base["model"]["name"])
        values.update(widget_values(section, base, skip=("name",) if section == "model" else ()))

model_name = values.get("model.name") or "run"
if st.session_state.get(AUTO_NAME_KEY, ("", ""))[0] != model_name:
    st.session_state[AUTO_NAME_KEY] = (model_name, default_run_name(model_name))
typed_name = st.text_input(t("training.run_name"), key="train_run_name", placeholder=st.session_state[AUTO_NAME_KEY][1],
                           help=t("training.run_name_help"))
try:
    run_name = unique_run_name(root, typed_name or st.session_state[AUTO_NAME_KEY][1])
except MaskLabError as error:
    show_error(error)
    st.stop()
pipeline_choices = {"train": train_choice, "val": val_choice}
pipeline_files = {split: pipeline_file_for(root, run_name, split) for split in pipeline_choices}
for split, choice in pipeline_choices.items():
    values[f"augment.{split}"] = pipeline_setting(choice, pipeline_files[split])
values["run.root"], values["run.name"] = str(root), run_name

try:
    config = config_from_values(values)
except MaskLabError as error:
    show_error(error, t("training.fix_setting"))
    st.stop()
config_text = config_to_yaml(config)
st.subheader(t("training.exact_config"))
st.code(config_text, language="yaml")

try:  # the page's pipeline is measured as it is now; its file is written only at Start
    pipelines = {split: page_pipeline if choice == PAGE_PIPELINE else values[f"augment.{split}"]
                 for split, choice in pipeline_choices.items()}
    mismatch = size_mismatch(pipelines["train"], pipelines["val"], config.data.image_size)
except MaskLabError as error:
    show_error(error, t("training.pick_another_pipeline"))
    st.stop()
if mismatch:  # refused by the trainer too (core.config.check_config): fixed here with one click
    st.error(mismatch)
    train_size = output_size(pipelines["train"], config.data.image_size)

    def apply_fix(**changes):
        st.session_state[FIXES_KEY] = {**st.session_state.get(FIXES_KEY, {}), **changes}
        for key in changes:
            for suffix in ("", "__0", "__1"):
                st.session_state.pop(f"{WIDGET_PREFIX}{key}{suffix}", None)

    def validate_at_training_size():
        apply_fix(**{"augment.val": BUILTIN, "data.image_size": list(train_size)})

    def train_at_image_size():
        apply_fix(**{"augment.train": BUILTIN, "augment.val": BUILTIN})

    fix_val, fix_train = st.columns(2)
    fix_val.button(t("training.fix_val", height=train_size[0], width=train_size[1]), key="train_fix_val",
                   on_click=validate_at_training_size, help=t("training.fix_val_help"))
    fix_train.button(t("training.fix_train", height=config.data.image_size[0], width=config.data.image_size[1]),
                     key="train_fix_train", on_click=train_at_image_size, help=t("training.fix_train_help"))

confirm = not mismatch
if active and confirm:
    confirm = st.checkbox(t("training.second_run", run=active[0].name), key="train_confirm_second",
                          help=t("training.second_run_help"))
if st.button(t("training.start"), key="train_start", type="primary", disabled=not confirm):
    try:
        if config.model.name.startswith(TIMM_PREFIX):  # before a process starts: timm knows the name?
            from core.train.models import check_model_name

            check_model_name(config.model.name)
        for split, choice in pipeline_choices.items():
            if choice == PAGE_PIPELINE:
                save_pipeline(page_pipeline, pipeline_files[split])
        launch_training(config_text, root=root, name=run_name, allow_concurrent=bool(active))
    except MaskLabError as error:
        show_error(error)
    else:
        st.session_state[FOLLOW_REQUEST_KEY] = run_name
        st.session_state.pop(AUTO_NAME_KEY, None)
        st.rerun()
