"""Loader: every DataLoader parameter with the lecture's explanation, a batch preview, the sampler's
class balance, a throughput sweep against the starter code, and the settings exported for training."""
import streamlit as st

from core.errors import MaskLabError
from core.loader import available_cores, validate_loader_config
from core.loader.charts import class_count_chart, throughput_chart, throughput_table
from core.loader.config import LoaderConfig
from core.loader.export import loader_yaml, write_loader_section
from core.loader.preview import (load_named_pipeline, pipeline_choices, preview_batch, preview_dataset,
                                 sampled_class_counts)
from core.params import params_of, section_from_dict, section_to_dict
from core.ui import current_data_dir, load_train_scan, show_error, st_progress_callback
from core.widgets import param_widget

st.set_page_config(page_title="Loader · Mask Lab", layout="wide")
st.title("Loader")
st.markdown(
    "The **Dataset** turns one file into one sample; the **DataLoader** makes using it efficient: order "
    "(sampler), batches, worker processes, pinned memory. Keeping the two apart means one DataLoader "
    "setup serves any Dataset. A pipeline runs only as fast as its slowest stage: when decoding and "
    "augmenting cannot keep up, the GPU waits — measure below which stage limits you.")

SETTINGS_KEY, VERSION_KEY, SWEEP_KEY = "loader_settings", "loader_widgets_version", "loader_sweep"
settings = st.session_state.setdefault(SETTINGS_KEY, section_to_dict(LoaderConfig()))
version = st.session_state.setdefault(VERSION_KEY, 0)

try:
    data_dir = current_data_dir()
    scan = load_train_scan(data_dir)
except MaskLabError as error:
    show_error(error, "Choose a valid data directory on the home page.")
    st.stop()

pipeline_name = st.selectbox("Pipeline (augmentation file)", pipeline_choices(), key="loader_pipeline",
                             help="The per-image pipeline the loader feeds; its first Resize sets the size that "
                                  "reduced-size decoding and the cache use.")

st.header("DataLoader parameters")
values = {}
params = params_of(LoaderConfig)
columns = st.columns(3)
for number, param in enumerate(params):
    key = f"loader_{param.name}_{version}"
    with columns[number % 3]:
        if param.name == "pin_memory":
            options = {"auto (on with a CUDA GPU)": None, "on": True, "off": False}
            current = [label for label, value in options.items() if value == settings.get("pin_memory")][0]
            chosen = st.selectbox("pin_memory", list(options), index=list(options).index(current), key=key,
                                  help=param.help)
            values["pin_memory"] = options[chosen]
        else:
            values[param.name] = param_widget(param, key=key, value=settings.get(param.name))
st.caption(f"This machine has {available_cores()} CPU cores for workers.")

try:
    config = section_from_dict(LoaderConfig, values, "loader.")
    validate_loader_config(config, dataset_len=len(scan.images))
except MaskLabError as error:
    show_error(error)
    st.stop()
st.session_state[SETTINGS_KEY] = section_to_dict(config)

st.header("Class balance of the first batches")
batches = st.number_input("batches to draw", min_value=1, max_value=500, value=10, key="loader_count_batches")
try:
    counts = sampled_class_counts(scan.images["label"], config, batches=int(batches))
    st.altair_chart(class_count_chart(counts), width="stretch")
    st.caption("Share of each class among the sampled images vs in the whole training set "
               "(choose sampler=weighted_random to see the imbalance evened out).")
except MaskLabError as error:
    show_error(error)

st.header("One batch")
if st.button("Preview a batch", key="loader_preview"):
    try:
        pipeline = load_named_pipeline(pipeline_name)
        dataset = preview_dataset(data_dir, pipeline, config, scan=scan,
                                  progress=st_progress_callback("Building the image cache"))
        images, captions = preview_batch(dataset, config)
        st.image(images, caption=captions, width=110)
    except MaskLabError as error:
        show_error(error)

st.header("Throughput sweep")
st.markdown("images/s of the starter code (PIL + torchvision Resize/ToTensor/Normalize), this app's default "
            "loader (reduced-size JPEG decoding, uint8 until the batch is normalised) and the cached loader, "
            "for each num_workers x batch_size, measured in the same run.")
sweep_columns = st.columns(4)
workers = sweep_columns[0].multiselect("num_workers", list(range(available_cores() + 1)),
                                       default=list(range(min(available_cores(), 2) + 1)), key="loader_sweep_workers")
batch_sizes = sweep_columns[1].multiselect("batch_size", [8, 16, 32, 64, 128], default=[16, 64],
                                           key="loader_sweep_batch_sizes")
images_per_row = sweep_columns[2].number_input("images per measurement", min_value=16, max_value=100_000,
                                               value=256, key="loader_sweep_images")
time_model = sweep_columns[3].checkbox("time a resnet18 step", value=True, key="loader_sweep_model",
                                       help="One training step on a batch: is feeding or the model the bottleneck?")
if st.button("Run the sweep", key="loader_sweep_run", disabled=not workers or not batch_sizes):
    from core.loader.bench import run_sweep

    try:
        with st.status("Measuring...", expanded=True) as status:
            result = run_sweep(data_dir, load_named_pipeline(pipeline_name), workers=sorted(workers),
                               batch_sizes=sorted(batch_sizes), max_images=int(images_per_row),
                               model="resnet18" if time_model else None,
                               progress=st_progress_callback("Measuring"),
                               cache_progress=st_progress_callback("Building the image cache"))
            status.update(label="Sweep done", state="complete")
        st.session_state[SWEEP_KEY] = result
    except MaskLabError as error:
        show_error(error)

result = st.session_state.get(SWEEP_KEY)
if result:
    st.altair_chart(throughput_chart(result))
    st.dataframe(throughput_table(result), hide_index=True, key="loader_sweep_table")
    if result["variants"]:
        st.dataframe(result["variants"], hide_index=True, key="loader_sweep_variants")
    for note in result["notes"]:
        st.info(note)
    feed, model_speed = result["feed_images_per_s"], result["model_images_per_s"]
    metrics = st.columns(3)
    metrics[0].metric("fastest feeding, images/s", f"{feed:.0f}")
    metrics[1].metric("model step, images/s", "not timed" if model_speed is None else f"{model_speed:.1f}")
    metrics[2].metric("bottleneck", result["bottleneck"])
    recommended = result["recommended"]
    st.subheader("Recommended for this machine")
    st.json({k: recommended[k] for k in ("num_workers", "batch_size", "cache", "decode", "pin_memory",
                                         "persistent_workers")})

    def apply_recommended():
        current = dict(st.session_state[SETTINGS_KEY])
        current.update({k: recommended[k] for k in ("num_workers", "cache", "decode", "pin_memory",
                                                    "persistent_workers")})
        if current["num_workers"] == 0:
            current.update(persistent_workers=False, prefetch_factor=None, timeout=0.0)
        st.session_state[SETTINGS_KEY] = current
        st.session_state[VERSION_KEY] += 1  # new widget keys: the widgets start from the new values

    st.button("Use the recommended settings", key="loader_apply", on_click=apply_recommended)

st.header("Export to the trainer's config")
st.code(loader_yaml(config), language="yaml")
st.download_button("Download loader.yaml", loader_yaml(config), file_name="loader.yaml", key="loader_download")
target = st.text_input("Experiment config file to update (its loader: section is replaced)",
                       value="configs/my_experiment.yaml", key="loader_export_path")
if st.button("Write the loader section", key="loader_export"):
    try:
        written = write_loader_section(config, target)
        st.success(f"Wrote the loader section to {written}")
    except MaskLabError as error:
        show_error(error)
