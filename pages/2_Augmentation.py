"""Augmentation lab: design the training pipeline by eye, see what each step costs, export it for training."""
import hashlib

import streamlit as st

from core.access import require_access
from core.augment import charts
from core.augment.editor import current_pipeline, describe_steps, pipeline_editor, replace_pipeline, show_flash
from core.augment.pipeline import Step, new_step
from core.augment.preview import (MAX_UPLOADS, PICK_MODES, augment_draws, decode_uploads, load_images,
                                  normalize_args, pick_images, received_by_model, to_display, torchvision_draws)
from core.augment.serialize import (FORMATS, export_dir, export_path, parse_pipeline, pipeline_to_text,
                                    python_snippet, save_pipeline)
from core.augment.timing import compare_backends, order_experiment, size_of, time_pipeline, time_steps
from core.errors import MaskLabError
from core.faces.view import preview_face_boxes
from core.labels import class_name
from core.ui import scan_or_stop, show_error

require_access()  # first: a URL can reach a page without app.py (see core/access.py)

THUMB_WIDTH = 150
LECTURE_NOTES = """
**Why augment (lecture 3).** A model that only ever sees the training photos learns them, not faces
(high variance, overfitting). Augmentation shows it the variety the test photos will have — other
lighting, a tilted head, a blurry phone camera, a hand in front of the face — so it generalises.
Keep only changes that do not change the label: a flipped face wears the same mask; a crop that cuts
the mask away does not.

**torchvision.transforms vs Albumentations.** Both compose transforms; the lecture calls
Albumentations "faster and richer". The *Albumentations vs torchvision* tab measures that claim on
your pipeline and your images.

**Order changes speed (lecture 4).** A step costs roughly what its input has pixels: resizing a
384x512 photo down to 192x256 first makes every later step ~4x cheaper, while enlarging first makes
them dearer (the lecture's resize-up-then-rotate example). The *Order experiment* tab times both orders.
"""

st.set_page_config(page_title="Augmentation · Mask Lab", page_icon="😷", layout="wide")
st.title("Augmentation lab")
st.caption("Build the augmentation pipeline, see it on real images, time it, export it for the trainer.")
with st.expander("Why augment, and why the order matters (lectures 3 and 4)"):
    st.markdown(LECTURE_NOTES)

scan = scan_or_stop()
data_dir, age_edges = scan.data_dir, scan.age_edges
if scan.images.empty:
    st.warning(f"{data_dir}: no usable train images to preview.")
    st.stop()


@st.cache_resource(show_spinner="Decoding preview images...", max_entries=16)
def decoded_images(data_dir: str, paths: tuple):
    """Decoded once per image set; read-only so that no transform can alter the cached pixels."""
    images = load_images(data_dir, paths)
    for image in images:
        image.flags.writeable = False
    return images


@st.cache_resource(show_spinner="Decoding your photos...", max_entries=4)
def decoded_uploads(files: tuple):
    """Decoded in memory once per set of uploads; read-only like the dataset's."""
    images = decode_uploads(files)
    for image in images:
        image.flags.writeable = False
    return images


with st.sidebar:
    st.header("Preview images")
    mode = st.radio("Pick", PICK_MODES, key="aug_pick_mode", horizontal=True)
    value = None
    if mode == "class":
        counts = scan.images["label"].value_counts()
        value = st.selectbox("Class", sorted(counts.index), key="aug_pick_class",
                             format_func=lambda c: f"{c}: {class_name(c, age_edges)} ({counts[c]} images)")
    elif mode == "person":
        value = st.selectbox("Person", sorted(scan.images["person"].unique()), key="aug_pick_person")
    count = st.slider("Images", 1, 8, 4, key="aug_count")
    draws = st.slider("Draws per image", 1, 8, 4, key="aug_draws")
    pick_seed = st.number_input("Pick seed", min_value=0, value=0, step=1, key="aug_pick_seed",
                                help="Which images are picked (the pipeline's own seed decides the draws)")
    uploads = st.file_uploader("Or preview on your own photos", type=["jpg", "jpeg", "png"],
                               accept_multiple_files=True, key="aug_uploads",
                               help=f"Up to {MAX_UPLOADS} photos, kept in this browser session only (never "
                                    "saved); they replace the dataset images above while uploaded")

picked = pick_images(scan.images, mode, value, count, int(pick_seed))
own_photos = None
if uploads:
    try:
        own_photos = decoded_uploads(tuple((file.name, file.getvalue()) for file in uploads))
    except MaskLabError as error:
        show_error(error, "The dataset images are shown instead.")
if own_photos is not None:
    images = own_photos
    first_captions = [f"{file.name} · your photo · {size_of(image)}" for file, image in zip(uploads, images)]
    preview_paths = None  # no face boxes for a photo outside the dataset: FaceCrop uses its fallback
else:
    images = decoded_images(str(data_dir), tuple(picked["path"]))
    first_captions = [f"{row.id} {row.path.rsplit('/', 1)[-1]} · {class_name(row.label, age_edges)} · "
                      f"{size_of(image)}" for row, image in zip(picked.itertuples(), images)]
    preview_paths = list(picked["path"])
pipeline = current_pipeline()
show_flash()

editor_column, preview_column = st.columns(2, gap="medium")
with editor_column:
    st.subheader("Pipeline")
    problems = pipeline_editor(pipeline)
ready = not problems

grid = None
with preview_column:
    st.subheader("Preview")
    st.caption(f"{describe_steps(pipeline)} · seed {pipeline.seed}: the same seed shows the same draws.")
    if not ready:
        st.warning("Fix the problems marked in the pipeline to see the preview.")
    else:
        try:
            face_boxes, face_note = (preview_face_boxes(data_dir, preview_paths, pipeline)
                                     if preview_paths is not None else (None, None))
            if face_note:
                st.caption(face_note)
            drawn = augment_draws(pipeline, images, draws, face_boxes)
            grid = [[image for image, _ in row] for row in drawn]
        except MaskLabError as error:
            show_error(error)
    normalize = normalize_args(pipeline)
    if grid:
        for first_caption, image, outputs, drawn_row in zip(first_captions, images, grid, drawn):
            captions = [first_caption]
            captions += [f"draw {j} · {size_of(output)}" + (f" · {applied}" if applied else "")
                         for j, (output, applied) in enumerate(drawn_row, start=1)]
            st.image([image] + [to_display(output, normalize) for output in outputs], caption=captions,
                     width=THUMB_WIDTH)

        st.subheader("What the model receives")
        received, notes = received_by_model([output for outputs in grid for output in outputs])
        st.caption(f"Over all {sum(map(len, grid))} draws shown.")
        left, right = st.columns([3, 2])
        with left:
            st.markdown(
                f"- shape **{received.shape}** (C, H, W; the pipeline outputs a {received.layout}), "
                f"dtype **{received.dtype}**\n"
                f"- values **{received.minimum:.3g} .. {received.maximum:.3g}**\n"
                f"- channel means **{received.channel_mean}**, stds **{received.channel_std}**")
            for note in notes:
                st.info(note)
        with right:
            st.image([to_display(grid[0][0], normalize), to_display(grid[0][0])], width=THUMB_WIDTH,
                     caption=["de-normalised for display", "raw values stretched to 0..255"])

st.divider()
timing_tab, torchvision_tab, order_tab, files_tab = st.tabs(
    ["Timing", "Albumentations vs torchvision", "Order experiment", "Export / import"])
signature = pipeline_to_text(pipeline, "json") if ready else None
runs = bool(grid)  # valid, and it runs on these images: what the timings need


def stale_note(key: str) -> None:
    if st.session_state[key][0] != signature:
        st.caption("The pipeline changed since this was measured: measure again.")


with timing_tab:
    st.caption(f"On the {len(images)} preview images, one thread (as in a DataLoader worker). Per step: median "
               "ms/image with the step always applied; whole pipeline: as configured, probabilities included.")
    if st.button("Measure timing", key="aug_time", disabled=not runs):
        try:
            st.session_state["aug_timing"] = (signature, time_steps(pipeline, images), time_pipeline(pipeline, images))
        except MaskLabError as error:
            show_error(error)
    if "aug_timing" in st.session_state:
        _, step_times, whole = st.session_state["aug_timing"]
        stale_note("aug_timing")
        first, second = st.columns(2)
        first.metric("Whole pipeline", f"{whole.images_per_s:,.0f} images/s")
        second.metric("Per image", f"{whole.ms_per_image:.3f} ms")
        st.altair_chart(charts.step_timing_chart(step_times), width="stretch")
        st.dataframe(charts.step_timing_table(step_times).drop(columns="order"), hide_index=True)

with torchvision_tab:
    st.caption("The nearest torchvision.transforms.v2 pipeline, built from the same arguments, on uint8 tensors.")
    if ready and grid:
        try:
            tv_outputs, skipped = torchvision_draws(pipeline, images[0], draws)
            st.image([to_display(output, normalize) for output in grid[0]], width=THUMB_WIDTH,
                     caption=[f"Albumentations draw {j}" for j in range(1, len(grid[0]) + 1)])
            st.image([to_display(output, normalize) for output in tv_outputs], width=THUMB_WIDTH,
                     caption=[f"torchvision draw {j}" for j in range(1, len(tv_outputs) + 1)])
            if skipped:
                st.info("No torchvision equivalent, left out on that side: " + ", ".join(skipped))
        except MaskLabError as error:
            show_error(error)
    if st.button("Compare speed", key="aug_compare", disabled=not runs):
        try:
            st.session_state["aug_compare_rows"] = (signature, compare_backends(pipeline, images))
        except MaskLabError as error:
            show_error(error)
    if "aug_compare_rows" in st.session_state:
        _, rows = st.session_state["aug_compare_rows"]
        stale_note("aug_compare_rows")
        if rows:
            st.altair_chart(charts.backend_chart(rows), width="stretch")
            st.dataframe(charts.backend_table(rows), hide_index=True)
            st.caption("alb_over_tv < 1: Albumentations is faster. Equivalents do the same job with the same "
                       "ranges; they are not pixel-identical.")
        else:
            st.info("No step of this pipeline has a torchvision equivalent.")

with order_tab:
    st.caption("Lecture 4: the order of transforms changes the speed. Pick two steps; both orders are timed "
               "with both steps always applied.")
    candidates = [(f"{i}. {s.name}", s) for i, s in enumerate(pipeline.steps, start=1) if isinstance(s, Step)]
    candidates += [("example: Resize 256x192", new_step("Resize")), ("example: Rotate ±30°", new_step("Rotate"))]
    labels = [label for label, _ in candidates]
    if st.session_state.get("aug_order_labels") != labels:  # steps changed: start again from the defaults
        st.session_state["aug_order_labels"] = labels
        for key in ("aug_order_first", "aug_order_second"):
            st.session_state.pop(key, None)
    resize_like = next(i for i, (_, s) in enumerate(candidates) if s.name in ("Resize", "RandomResizedCrop", "CenterCrop", "Crop"))
    rotate_like = next(i for i, (_, s) in enumerate(candidates) if s.name in ("Rotate", "Affine", "ShiftScaleRotate"))
    first_column, second_column = st.columns(2)
    first = first_column.selectbox("First step", labels, index=resize_like, key="aug_order_first")
    second = second_column.selectbox("Second step", labels, index=rotate_like, key="aug_order_second")
    if st.button("Run the order experiment", key="aug_order", disabled=not runs or first == second):
        try:
            st.session_state["aug_order_result"] = (signature, order_experiment(
                dict(candidates)[first], dict(candidates)[second], images))
        except MaskLabError as error:
            show_error(error)
    if "aug_order_result" in st.session_state:
        _, result = st.session_state["aug_order_result"]
        st.dataframe(result.orders, hide_index=True)
        (st.success if len(result.working) == 2 else st.warning)(result.verdict())

with files_tab:
    fmt = st.radio("Format", FORMATS, key="aug_format", horizontal=True,
                   help="Both are Albumentations' own format: A.load(path, data_format=...) reads them")
    name = st.text_input("File name", value="pipeline", key="aug_export_name")
    if not ready:
        st.warning("Fix the problems marked in the pipeline to export it.")
    else:
        try:
            text = pipeline_to_text(pipeline, fmt)
            target = export_path(name, fmt)
            download, save = st.columns(2)
            download.download_button("Download", text, file_name=target.name, key="aug_download",
                                     mime="application/json" if fmt == "json" else "application/x-yaml")
            if save.button(f"Save to {export_dir()}", key="aug_save"):
                st.success(f"Saved {save_pipeline(pipeline, target)}. The trainer loads it with "
                           f"core.augment.load_pipeline('{target}').")
            st.caption("Disabled steps are left out of the file. Python that builds the same pipeline:")
            st.code(python_snippet(pipeline), language="python")
            with st.expander("File contents"):
                st.code(text, language=fmt)
        except MaskLabError as error:
            show_error(error)

    uploaded = st.file_uploader("Import a pipeline file (A.save JSON or YAML)", type=["yaml", "yml", "json"],
                                key="aug_import")
    if uploaded is not None:
        content = uploaded.getvalue()
        fingerprint = (uploaded.name, hashlib.sha1(content).hexdigest())
        if st.session_state.get("aug_imported") != fingerprint:  # import once, not on every rerun
            try:
                imported = parse_pipeline(content.decode("utf-8", errors="replace"), source=uploaded.name)
            except MaskLabError as error:
                show_error(error, "The pipeline above is unchanged.")
            else:
                st.session_state["aug_imported"] = fingerprint
                replace_pipeline(imported, f"Imported {len(imported.steps)} steps from {uploaded.name}.")
