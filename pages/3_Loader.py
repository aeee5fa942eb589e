"""Loader: every DataLoader parameter with the lecture's explanation, a batch preview, the sampler's
class balance, a throughput sweep against the starter code, and the settings exported for training."""
import streamlit as st

from core.access import require_access
from core.errors import MaskLabError
from core.loader import available_cores, validate_loader_config
from core.loader.charts import class_count_chart, throughput_chart, throughput_table
from core.loader.config import LoaderConfig
from core.loader.export import config_export_path, config_folders, loader_yaml, write_loader_section
from core.loader.preview import (TYPED_PIPELINE, load_pipeline_source, pipeline_choices, pipeline_source,
                                 preview_batch, preview_dataset, preview_ranks, sampled_class_counts)
from core.loader.settings import (LOADER_CONFIG_KEY, apply_recommended, loader_config_from_session, sampler_decides_order,
                                  store_loader_config)
from core.params import params_of, section_from_dict, section_to_dict
from core.ui import current_data_dir, load_train_scan, show_error, st_progress_callback
from core.widgets import param_widget

require_access()  # first: a URL can reach a page without app.py (see core/access.py)

st.set_page_config(page_title="Loader · Mask Lab", layout="wide")
st.title("Loader")
st.markdown(
    "The **Dataset** turns one file into one sample; the **DataLoader** makes using it efficient: order "
    "(sampler), batches, worker processes, pinned memory. Keeping the two apart means one DataLoader "
    "setup serves any Dataset. A pipeline runs only as fast as its slowest stage: when decoding and "
    "augmenting cannot keep up, the GPU waits — measure below which stage limits you.")
with st.expander("Dataset vs DataLoader (lecture 4)"):
    st.markdown(
        "- **Keep them apart.** Each has one job, and that is what makes them reusable: the Dataset turns "
        "the raw data into the form you want, one sample at a time; the DataLoader is a utility that draws "
        "from it efficiently. Swap the Dataset and the same DataLoader setup still works — you do not "
        "write a new loader per dataset.\n"
        "- **A Dataset** subclasses `torch.utils.data.Dataset`: `__init__` holds the metadata (where the "
        "files are), `__getitem__` reads one file and returns the sample, `__len__` says how many there "
        "are. Without `__getitem__` and `__len__` the DataLoader fails.\n"
        "- **Map-style dataset** (the usual kind, and this app's): it has an index, so `data[index]` "
        "returns one sample; it declares `__getitem__` and `__len__`. Samplers work on map-style "
        "datasets: they decide the order of the indices.\n"
        "- **Iterable-style dataset**: it yields samples as a stream (`__iter__`), for data that is hard "
        "to read in random order or whose batch size depends on the data (dynamic batch sizes). Rarely "
        "used today; no sampler or shuffle applies to it.\n"
        "- **A custom sampler** implements `__iter__` (the indices) and `__len__`; the ready-made ones are "
        "Sequential, Random (with or without replacement, with num_samples), SubsetRandom, WeightedRandom, "
        "BatchSampler (whole batches of indices) and DistributedSampler (with DistributedDataParallel).\n"
        "- **worker_init_fn** runs once in each worker process as it starts; here it seeds each worker's "
        "random streams so workers draw different augmentations and a run repeats exactly.\n"
        "- Reference: [torch.utils.data.DataLoader](https://pytorch.org/docs/stable/data.html"
        "#torch.utils.data.DataLoader).")

VERSION_KEY, SWEEP_KEY, NOTE_KEY = "loader_widgets_version", "loader_sweep", "loader_note"
settings = section_to_dict(loader_config_from_session(st.session_state) or LoaderConfig())
version = st.session_state.setdefault(VERSION_KEY, 0)

try:
    data_dir = current_data_dir()
    scan = load_train_scan(data_dir)
except MaskLabError as error:
    show_error(error, "Choose a valid data directory on the home page.")
    st.stop()

pipeline_choice = st.selectbox("Pipeline (augmentation file)", pipeline_choices(), key="loader_pipeline",
                               help="The per-image pipeline the loader feeds: the benchmark's, a file saved on the "
                                    "Augmentation page, a preset, or any file by path. Its first Resize sets the "
                                    "size that reduced-size decoding and the cache use.")
typed_path = ""
if pipeline_choice == TYPED_PIPELINE:
    typed_path = st.text_input("Pipeline file path (.yaml, .yml or .json)", key="loader_pipeline_path")
try:
    pipeline_ref = pipeline_source(pipeline_choice, typed_path)
    pipeline = load_pipeline_source(pipeline_ref)
except MaskLabError as error:
    show_error(error)
    pipeline_ref = pipeline = None

st.header("DataLoader parameters")
values = {}
params = params_of(LoaderConfig)
columns = st.columns(3)
for number, param in enumerate(params):
    key = f"loader_{param.name}_{version}"
    with columns[number % 3]:
        values[param.name] = param_widget(param, key=key, value=settings.get(param.name))
st.caption(f"This machine has {available_cores()} CPU cores for workers.")
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
    st.info("DistributedSampler belongs to multi-GPU training: `torchrun --nproc_per_node=N -m core train ...` "
            "starts N processes (DistributedDataParallel) and the sampler gives each its own share of the "
            "images, none twice. In a single process, as on this page and in `python -m core train`, it does not "
            "apply: training then stops with an error naming loader.sampler. The class chart and the batch "
            "preview below show rank 0's share of a 2-process run.")

st.header("Class balance of the first batches")
batches = st.number_input("batches to draw", min_value=1, max_value=500, value=10, key="loader_count_batches")
try:
    counts = sampled_class_counts(scan.images["label"], config, batches=int(batches))
    st.altair_chart(class_count_chart(counts), width="stretch")
    st.caption("Share of each class among the sampled images vs in the whole training set "
               "(choose sampler=weighted_random to see the imbalance evened out)."
               + (" Sampled: rank 0 of 2 processes." if config.sampler == "distributed" else ""))
except MaskLabError as error:
    show_error(error)

st.header("One batch")
if st.button("Preview a batch", key="loader_preview", disabled=pipeline is None):
    try:
        # Only the memmap cache is built here; with cache=none there is nothing to show progress of.
        cache_progress = st_progress_callback("Building the image cache") if config.cache == "memmap" else None
        dataset = preview_dataset(data_dir, pipeline, config, scan=scan, progress=cache_progress)
        images, captions, batch_len = preview_batch(dataset, config)
        if batch_len > len(images):
            st.caption(f"The first {len(images)} of the batch's {batch_len} images (batch_size "
                       f"{config.batch_size}); the rest are drawn the same way.")
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
if st.button("Run the sweep", key="loader_sweep_run", disabled=not workers or not batch_sizes or pipeline is None):
    from core.loader.bench import run_sweep

    try:
        with st.status("Measuring...", expanded=True) as status:
            result = run_sweep(data_dir, pipeline, workers=sorted(workers),
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
    st.json(recommended)  # only what the sweep measured

    def use_recommended():
        st.session_state[LOADER_CONFIG_KEY] = apply_recommended(section_to_dict(config), recommended)
        st.session_state[VERSION_KEY] += 1  # new widget keys: the widgets start from the new values

    st.button("Use the recommended settings", key="loader_apply", on_click=use_recommended,
              help="Takes over the measured settings shown above (batch_size included); the others stay yours.")

st.header("Export to the trainer's config")
exported_ref = pipeline_ref if pipeline is not None else None
st.code(loader_yaml(config, exported_ref), language="yaml")
if exported_ref is None:
    st.caption("The benchmark pipeline is not a file: choose a saved pipeline or preset to export augment.train too.")
st.download_button("Download loader.yaml", loader_yaml(config, exported_ref), file_name="loader.yaml",
                   key="loader_download")
target = st.text_input("Experiment config file to update (its loader: section and augment.train are replaced)",
                       value="configs/my_experiment.yaml", key="loader_export_path",
                       help="A .yaml file under " + " or ".join(map(str, config_folders())) + "; a relative path "
                            "starts at the app's folder. Run directories are never written here.")
if st.button("Write to the config", key="loader_export"):
    try:
        written = write_loader_section(config, config_export_path(target), exported_ref)
        st.success(f"Wrote the loader section{' and augment.train' if exported_ref else ''} to {written}")
    except MaskLabError as error:
        show_error(error)
