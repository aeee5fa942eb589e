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
from core.i18n import t
from core.labels import class_name
from core.ui import page_header, scan_or_stop, show_error

require_access()  # first: a URL can reach a page without app.py (see core/access.py)

THUMB_WIDTH = 150


def names_of(values, name) -> callable:
    """A widget's format_func: the names looked up now, in this run's language. (AppTest calls a format_func
    between runs, outside the session, where t() would answer in English.)"""
    return {value: name(value) for value in values}.__getitem__


page_header("augmentation", notes=('lecture_expander', 'lecture_notes'))

scan = scan_or_stop()
data_dir, age_edges = scan.data_dir, scan.age_edges
if scan.images.empty:
    st.warning(t("augmentation.no_train_images", data_dir=data_dir))
    st.stop()


@st.cache_resource(show_spinner=False, max_entries=16)  # the spinner is drawn by the caller, in its language
def decoded_images(data_dir: str, paths: tuple):
    """Decoded once per image set; read-only so that no transform can alter the cached pixels."""
    images = load_images(data_dir, paths)
    for image in images:
        image.flags.writeable = False
    return images


@st.cache_resource(show_spinner=False, max_entries=4)
def decoded_uploads(files: tuple):
    """Decoded in memory once per set of uploads; read-only like the dataset's."""
    images = decode_uploads(files)
    for image in images:
        image.flags.writeable = False
    return images


with st.sidebar:
    st.header(t("augmentation.preview_images"))
    mode = st.radio(t("augmentation.pick"), PICK_MODES, key="aug_pick_mode", horizontal=True,
                    format_func=names_of(PICK_MODES, lambda mode: t(f"augmentation.pick_modes.{mode}")))
    value = None
    if mode == "class":
        counts = scan.images["label"].value_counts()
        value = st.selectbox(t("augmentation.class"), sorted(counts.index), key="aug_pick_class",
                             format_func=names_of(counts.index, lambda c: t(
                                 "augmentation.class_option", label=c, name=class_name(c, age_edges), count=counts[c])))
    elif mode == "person":
        value = st.selectbox(t("augmentation.person"), sorted(scan.images["person"].unique()), key="aug_pick_person")
    count = st.slider(t("augmentation.images"), 1, 8, 4, key="aug_count")
    draws = st.slider(t("augmentation.draws"), 1, 8, 4, key="aug_draws")
    pick_seed = st.number_input(t("augmentation.pick_seed"), min_value=0, value=0, step=1, key="aug_pick_seed",
                                help=t("augmentation.pick_seed_help"))
    uploads = st.file_uploader(t("augmentation.uploads"), type=["jpg", "jpeg", "png"],
                               accept_multiple_files=True, key="aug_uploads",
                               help=t("augmentation.uploads_help", max=MAX_UPLOADS))

picked = pick_images(scan.images, mode, value, count, int(pick_seed))
own_photos = None
if uploads:
    try:
        with st.spinner(t("augmentation.decoding_uploads")):
            own_photos = decoded_uploads(tuple((file.name, file.getvalue()) for file in uploads))
    except MaskLabError as error:
        show_error(error, t("augmentation.dataset_instead"))
if own_photos is not None:
    images = own_photos
    first_captions = [t("augmentation.your_photo", name=file.name, size=size_of(image))
                      for file, image in zip(uploads, images)]
    preview_paths = None  # no face boxes for a photo outside the dataset: FaceCrop uses its fallback
else:
    with st.spinner(t("augmentation.decoding")):
        images = decoded_images(str(data_dir), tuple(picked["path"]))
    first_captions = [f"{row.id} {row.path.rsplit('/', 1)[-1]} · {class_name(row.label, age_edges)} · "
                      f"{size_of(image)}" for row, image in zip(picked.itertuples(), images)]
    preview_paths = list(picked["path"])
pipeline = current_pipeline()
show_flash()

editor_column, preview_column = st.columns(2, gap="medium")
with editor_column:
    st.subheader(t("augmentation.pipeline"))
    problems = pipeline_editor(pipeline)
ready = not problems

grid = None
with preview_column:
    st.subheader(t("augmentation.preview"))
    st.caption(t("augmentation.preview_caption", steps=describe_steps(pipeline), seed=pipeline.seed))
    if not ready:
        st.warning(t("augmentation.fix_to_preview"))
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
            captions += [t("augmentation.draw_caption", number=j, size=size_of(output)) + (f" · {applied}" if applied else "")
                         for j, (output, applied) in enumerate(drawn_row, start=1)]
            st.image([image] + [to_display(output, normalize) for output in outputs], caption=captions,
                     width=THUMB_WIDTH)

        st.subheader(t("augmentation.receives"))
        received, notes = received_by_model([output for outputs in grid for output in outputs])
        st.caption(t("augmentation.over_draws", count=sum(map(len, grid))))
        left, right = st.columns([3, 2])
        with left:
            st.markdown(t("augmentation.received", shape=received.shape, dtype=received.dtype,
                          layout=t(f"augmentation.layouts.{received.layout}"), low=received.minimum,
                          high=received.maximum, means=received.channel_mean, stds=received.channel_std))
            for note in notes:
                st.info(note)
        with right:
            st.image([to_display(grid[0][0], normalize), to_display(grid[0][0])], width=THUMB_WIDTH,
                     caption=[t("augmentation.denormalised"), t("augmentation.stretched")])

st.divider()
timing_tab, torchvision_tab, order_tab, files_tab = st.tabs(
    [t(f"augmentation.tabs.{tab}") for tab in ("timing", "torchvision", "order", "files")])
signature = pipeline_to_text(pipeline, "json") if ready else None
runs = bool(grid)  # valid, and it runs on these images: what the timings need


def stale_note(key: str) -> None:
    if st.session_state[key][0] != signature:
        st.caption(t("augmentation.stale"))


with timing_tab:
    st.caption(t("augmentation.timing_caption", count=len(images)))
    if st.button(t("augmentation.measure"), key="aug_time", disabled=not runs):
        try:
            st.session_state["aug_timing"] = (signature, time_steps(pipeline, images), time_pipeline(pipeline, images))
        except MaskLabError as error:
            show_error(error)
    if "aug_timing" in st.session_state:
        _, step_times, whole = st.session_state["aug_timing"]
        stale_note("aug_timing")
        first, second = st.columns(2)
        first.metric(t("augmentation.whole"), t("augmentation.whole_value", rate=whole.images_per_s))
        second.metric(t("augmentation.per_image"), f"{whole.ms_per_image:.3f} ms")
        st.altair_chart(charts.step_timing_chart(step_times), width="stretch")
        st.dataframe(charts.step_timing_table(step_times).drop(columns="order"), hide_index=True)

with torchvision_tab:
    st.caption(t("augmentation.torchvision_caption"))
    if ready and grid:
        try:
            tv_outputs, skipped = torchvision_draws(pipeline, images[0], draws)
            st.image([to_display(output, normalize) for output in grid[0]], width=THUMB_WIDTH,
                     caption=[t("augmentation.albumentations_draw", number=j) for j in range(1, len(grid[0]) + 1)])
            st.image([to_display(output, normalize) for output in tv_outputs], width=THUMB_WIDTH,
                     caption=[t("augmentation.torchvision_draw", number=j) for j in range(1, len(tv_outputs) + 1)])
            if skipped:
                st.info(t("augmentation.no_equivalent", steps=", ".join(skipped)))
        except MaskLabError as error:
            show_error(error)
    if st.button(t("augmentation.compare"), key="aug_compare", disabled=not runs):
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
            st.caption(t("augmentation.compare_caption"))
        else:
            st.info(t("augmentation.no_step_equivalent"))

with order_tab:
    st.caption(t("augmentation.order_caption"))
    candidates = [(f"{i}. {s.name}", s) for i, s in enumerate(pipeline.steps, start=1) if isinstance(s, Step)]
    candidates += [(t("augmentation.example_resize"), new_step("Resize")),
                   (t("augmentation.example_rotate"), new_step("Rotate"))]
    labels = [label for label, _ in candidates]
    if st.session_state.get("aug_order_labels") != labels:  # steps changed: start again from the defaults
        st.session_state["aug_order_labels"] = labels
        for key in ("aug_order_first", "aug_order_second"):
            st.session_state.pop(key, None)
    resize_like = next(i for i, (_, s) in enumerate(candidates) if s.name in ("Resize", "RandomResizedCrop", "CenterCrop", "Crop"))
    rotate_like = next(i for i, (_, s) in enumerate(candidates) if s.name in ("Rotate", "Affine", "ShiftScaleRotate"))
    first_column, second_column = st.columns(2)
    first = first_column.selectbox(t("augmentation.first_step"), labels, index=resize_like, key="aug_order_first")
    second = second_column.selectbox(t("augmentation.second_step"), labels, index=rotate_like, key="aug_order_second")
    if st.button(t("augmentation.run_order"), key="aug_order", disabled=not runs or first == second):
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
    fmt = st.radio(t("augmentation.format"), FORMATS, key="aug_format", horizontal=True,
                   help=t("augmentation.format_help"))
    name = st.text_input(t("augmentation.file_name"), value="pipeline", key="aug_export_name")
    if not ready:
        st.warning(t("augmentation.fix_to_export"))
    else:
        try:
            text = pipeline_to_text(pipeline, fmt)
            target = export_path(name, fmt)
            download, save = st.columns(2)
            download.download_button(t("augmentation.download"), text, file_name=target.name, key="aug_download",
                                     mime="application/json" if fmt == "json" else "application/x-yaml")
            if save.button(t("augmentation.save", folder=export_dir()), key="aug_save"):
                st.success(t("augmentation.saved", path=save_pipeline(pipeline, target), target=target))
            st.caption(t("augmentation.snippet_caption"))
            st.code(python_snippet(pipeline), language="python")
            with st.expander(t("augmentation.file_contents")):
                st.code(text, language=fmt)
        except MaskLabError as error:
            show_error(error)

    uploaded = st.file_uploader(t("augmentation.import"), type=["yaml", "yml", "json"],
                                key="aug_import")
    if uploaded is not None:
        content = uploaded.getvalue()
        fingerprint = (uploaded.name, hashlib.sha1(content).hexdigest())
        if st.session_state.get("aug_imported") != fingerprint:  # import once, not on every rerun
            try:
                imported = parse_pipeline(content.decode("utf-8", errors="replace"), source=uploaded.name)
            except MaskLabError as error:
                show_error(error, t("augmentation.unchanged"))
            else:
                st.session_state["aug_imported"] = fingerprint
                replace_pipeline(imported, t("augmentation.imported", count=len(imported.steps), name=uploaded.name))
