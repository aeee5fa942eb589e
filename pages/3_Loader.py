"""Loader: every DataLoader parameter with the lecture's explanation, a batch preview, the sampler's
class balance, a throughput sweep against the starter code, and the settings exported for training."""
import streamlit as st

from core.access import require_access
from core.errors import MaskLabError
from core.i18n import has_text, param_help, t
from core.loader import available_cores, validate_loader_config
from core.loader.charts import class_count_chart, sweep_headers, throughput_chart, throughput_table
from core.loader.config import LoaderConfig
from core.loader.export import config_export_path, config_folders, loader_yaml, write_loader_section
from core.loader.preview import (TYPED_PIPELINE, load_pipeline_source, pipeline_choice_namer, pipeline_choices,
                                 pipeline_source, preview_batch, preview_dataset, preview_ranks, sampled_class_counts)
from core.loader.settings import (LOADER_CONFIG_KEY, apply_recommended, loader_config_from_session, sampler_decides_order,
                                  store_loader_config)
from core.params import params_of, section_from_dict, section_to_dict
from core.ui import current_data_dir, load_train_scan, show_error, st_progress_callback
from core.widgets import param_widget

require_access()  # first: a URL can reach a page without app.py (see core/access.py)

st.set_page_config(page_title=t("loader.page_title"), layout="wide")
st.title(t("loader.title"))
st.markdown(t("loader.intro"))
with st.expander(t("loader.lecture_title")):
    st.markdown(t("loader.lecture"))

VERSION_KEY, SWEEP_KEY, NOTE_KEY = "loader_widgets_version", "loader_sweep", "loader_note"
settings = section_to_dict(loader_config_from_session(st.session_state) or LoaderConfig())
version = st.session_state.setdefault(VERSION_KEY, 0)

try:
    data_dir = current_data_dir()
    scan = load_train_scan(data_dir)
except MaskLabError as error:
    show_error(error, t("loader.choose_data_dir"))
    st.stop()

pipeline_choice = st.selectbox(t("loader.pipeline"), pipeline_choices(), key="loader_pipeline",
                               format_func=pipeline_choice_namer(), help=t("loader.pipeline_help"))
typed_path = ""
if pipeline_choice == TYPED_PIPELINE:
    typed_path = st.text_input(t("loader.pipeline_path"), key="loader_pipeline_path")
try:
    pipeline_ref = pipeline_source(pipeline_choice, typed_path)
    pipeline = load_pipeline_source(pipeline_ref)
except MaskLabError as error:
    show_error(error)
    pipeline_ref = pipeline = None

st.header(t("loader.parameters"))
values = {}
params = params_of(LoaderConfig)
columns = st.columns(3)
for number, param in enumerate(params):
    key = f"loader_{param.name}_{version}"
    with columns[number % 3]:
        values[param.name] = param_widget(param, key=key, value=settings.get(param.name),
                                         help=param_help(f"loader.{param.name}", param.help))
st.caption(t("loader.cores", cores=available_cores()))
note = st.session_state.pop(NOTE_KEY, None)
if note:
    st.info(note)
values, note = sampler_decides_order(values)

try:
    config = section_from_dict(LoaderConfig, values, "loader.")
    validate_loader_config(config, dataset_len=len(scan.images), distributed=preview_ranks(config)["distributed"])
except MaskLabError as error:
    show_error(error)
    st.stop()
store_loader_config(st.session_state, config)
if note:  # redraw the widgets from the stored settings, shuffle unticked, and say why
    st.session_state[NOTE_KEY] = note
    st.session_state[VERSION_KEY] += 1
    st.rerun()
if config.sampler == "distributed":
    st.info(t("loader.distributed"))

st.header(t("loader.class_balance"))
batches = st.number_input(t("loader.batches"), min_value=1, max_value=500, value=10, key="loader_count_batches")
try:
    counts = sampled_class_counts(scan.images["label"], config, batches=int(batches))
    st.altair_chart(class_count_chart(counts), width="stretch")
    st.caption(t("loader.class_caption") + (t("loader.class_caption_rank0") if config.sampler == "distributed" else ""))
except MaskLabError as error:
    show_error(error)

st.header(t("loader.one_batch"))
if st.button(t("loader.preview"), key="loader_preview", disabled=pipeline is None):
    try:
        # Only the memmap cache is built here; with cache=none there is nothing to show progress of.
        cache_progress = st_progress_callback(t("loader.building_cache")) if config.cache == "memmap" else None
        dataset = preview_dataset(data_dir, pipeline, config, scan=scan, progress=cache_progress)
        images, captions, batch_len = preview_batch(dataset, config)
        if batch_len > len(images):
            st.caption(t("loader.part_of_batch", shown=len(images), total=batch_len, batch_size=config.batch_size))
        st.image(images, caption=captions, width=110)
    except MaskLabError as error:
        show_error(error)

st.header(t("loader.sweep"))
st.markdown(t("loader.sweep_intro"))
sweep_columns = st.columns(4)
workers = sweep_columns[0].multiselect("num_workers", list(range(available_cores() + 1)),
                                       default=list(range(min(available_cores(), 2) + 1)), key="loader_sweep_workers")
batch_sizes = sweep_columns[1].multiselect("batch_size", [8, 16, 32, 64, 128], default=[16, 64],
                                           key="loader_sweep_batch_sizes")
images_per_row = sweep_columns[2].number_input(t("loader.sweep_images"), min_value=16, max_value=100_000,
                                               value=256, key="loader_sweep_images")
time_model = sweep_columns[3].checkbox(t("loader.sweep_model"), value=True, key="loader_sweep_model",
                                       help=t("loader.sweep_model_help"))
if st.button(t("loader.sweep_run"), key="loader_sweep_run", disabled=not workers or not batch_sizes or pipeline is None):
    from core.loader.bench import run_sweep

    try:
        with st.status(t("loader.measuring_status"), expanded=True) as status:
            result = run_sweep(data_dir, pipeline, workers=sorted(workers),
                               batch_sizes=sorted(batch_sizes), max_images=int(images_per_row),
                               model="resnet18" if time_model else None,
                               progress=st_progress_callback(t("loader.measuring")),
                               cache_progress=st_progress_callback(t("loader.building_cache")))
            status.update(label=t("loader.sweep_done"), state="complete")
        st.session_state[SWEEP_KEY] = result
    except MaskLabError as error:
        show_error(error)

result = st.session_state.get(SWEEP_KEY)
if result:
    st.altair_chart(throughput_chart(result))
    st.dataframe(throughput_table(result), hide_index=True, key="loader_sweep_table", column_config=sweep_headers())
    if result["variants"]:
        st.dataframe(result["variants"], hide_index=True, key="loader_sweep_variants", column_config=sweep_headers())
    for key, note_values in result.get("note_keys", []):  # the sweep's notes in the session's language
        st.info(t(key, **note_values))
    feed, model_speed = result["feed_images_per_s"], result["model_images_per_s"]
    metrics = st.columns(3)
    metrics[0].metric(t("loader.fastest_feeding"), f"{feed:.0f}")
    metrics[1].metric(t("loader.model_step"), t("loader.not_timed") if model_speed is None else f"{model_speed:.1f}")
    bottleneck = result["bottleneck"]
    metrics[2].metric(t("loader.bottleneck"), t(f"loader.bottlenecks.{bottleneck}")
                      if has_text(f"loader.bottlenecks.{bottleneck}") else bottleneck)
    recommended = result["recommended"]
    st.subheader(t("loader.recommended"))
    st.json(recommended)  # only what the sweep measured

    def use_recommended():
        st.session_state[LOADER_CONFIG_KEY] = apply_recommended(section_to_dict(config), recommended)
        st.session_state[VERSION_KEY] += 1  # new widget keys: the widgets start from the new values

    st.button(t("loader.use_recommended"), key="loader_apply", on_click=use_recommended,
              help=t("loader.use_recommended_help"))

st.header(t("loader.export"))
exported_ref = pipeline_ref if pipeline is not None else None
st.code(loader_yaml(config, exported_ref), language="yaml")
if exported_ref is None:
    st.caption(t("loader.benchmark_not_a_file"))
st.download_button(t("loader.download"), loader_yaml(config, exported_ref), file_name="loader.yaml",
                   key="loader_download")
target = st.text_input(t("loader.target"), value="configs/my_experiment.yaml", key="loader_export_path",
                       help=t("loader.target_help", folders=t("loader.folders_or").join(map(str, config_folders()))))
if st.button(t("loader.write"), key="loader_export"):
    try:
        written = write_loader_section(config, config_export_path(target), exported_ref)
        st.success(t("loader.wrote_both" if exported_ref else "loader.wrote_loader", path=written))
    except MaskLabError as error:
        show_error(error)
