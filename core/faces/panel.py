"""The Data page's face-box parts: boxes on the gallery, the share found, detection, a hand correction.

Widgets only; the work is in core.faces (boxes, detect, view), like core/augment/editor.py for pipelines.
"""
from __future__ import annotations

import streamlit as st

from core.errors import MaskLabError
from core.faces.boxes import boxes_path, correct_box
from core.faces.detect import detect_faces
from core.faces.view import box_caption, draw_face_boxes, face_summary
from core.ui import show_error

HELP = ("A crop around the face (the **FaceCrop** step on the Augmentation page) keeps what the task needs "
        "(lecture 3, pre-processing). Boxes live in `faceboxes.csv` beside `train/`; the images are never edited. "
        "The bundled detector (dlib's HOG) finds most unmasked faces and few masked ones; images without a "
        "box crop a centred box. Boxes from another detector import with `python -m core faces --import FILE`.")

BOX_HELP = {"x0": "Left edge, pixels from the image's left", "y0": "Top edge, pixels from the image's top",
            "x1": "Right edge (exclusive), pixels from the left", "y1": "Bottom edge (exclusive), pixels from the top"}


def face_boxes_controls(data_dir, all_paths: list[str]) -> dict | None:
    """The share of images with a face, a Detect button, and whether to draw boxes: the boxes, or None."""
    try:
        boxes, line = face_summary(data_dir, all_paths)
    except MaskLabError as error:
        show_error(error, f"Fix or remove {boxes_path(data_dir)}.")
        return None
    summary_line = st.empty()  # rewritten after a detection in this run
    summary_line.markdown(f"Face boxes: {line}", help=HELP)
    missing = [path for path in all_paths if path not in boxes]
    if missing and st.button(f"Detect faces in {len(missing)} images", key="data_faces_detect",
                             help="Resumable: images already in faceboxes.csv are skipped, so stopping loses little."):
        bar = st.progress(0.0, text="Detecting faces")
        try:
            summary = detect_faces(data_dir, missing,
                                   progress=lambda done, total: bar.progress(done / max(total, 1),
                                                                             text=f"Detecting faces: {done}/{total}"))
        except MaskLabError as error:
            show_error(error)
            return None
        st.success(summary.line())
        boxes, line = face_summary(data_dir, all_paths)
        summary_line.markdown(f"Face boxes: {line}", help=HELP)
    show = st.checkbox("Draw face boxes", value=True, key="data_faces_show",
                       help="Green: the face box; orange: the centred box used where none was found.")
    return boxes if show else None


def gallery_images(data_dir, paths: list[str], boxes: dict | None) -> list:
    """What st.image shows: the files as they are, or with their face boxes drawn."""
    if boxes is None:
        return [f"{data_dir}/{path}" for path in paths]
    return draw_face_boxes(data_dir, paths, boxes)


def gallery_captions(captions: list[str], paths: list[str], boxes: dict | None) -> list[str]:
    if boxes is None:
        return captions
    return [f"{caption} · {box_caption(boxes.get(path))}" for caption, path in zip(captions, paths)]


def correct_box_panel(data_dir, paths: list[str], boxes: dict | None) -> None:
    """Pick a gallery image, type its box, see it drawn, save it as a hand correction."""
    if not paths:
        return
    boxes = boxes or {}
    with st.expander("Correct a face box"):
        path = st.selectbox("Image", paths, key="data_faces_fix_path", help="One of the gallery's images.",
                            format_func=lambda p: p.rsplit("/", 2)[-2] + "/" + p.rsplit("/", 1)[-1])
        current = boxes.get(path)
        start = current.box if current is not None and current.box is not None else (96, 112, 288, 352)
        columns = st.columns(4)
        values = [column.number_input(name, min_value=0, value=int(v), step=4, key=f"data_faces_fix_{name}",
                                      help=BOX_HELP[name])
                  for column, name, v in zip(columns, ("x0", "y0", "x1", "y1"), start)]
        st.image(draw_face_boxes(data_dir, [path], {path: _preview(path, values)}), width=220,
                 caption=f"now: {box_caption(current)}")
        if st.button("Save correction", key="data_faces_fix_save",
                     help="Appends a 'hand' row to faceboxes.csv; it overrides any detection of this image."):
            try:
                from core.data.images import image_size

                correct_box(data_dir, path, tuple(values), image_size(f"{data_dir}/{path}"))
            except (MaskLabError, OSError) as error:
                show_error(error)
            else:
                st.success(f"Saved: {path} now crops ({', '.join(map(str, values))}).")


def _preview(path: str, values):
    from core.faces.boxes import FaceBox

    x0, y0, x1, y1 = values
    return FaceBox(path, (x0, y0, x1, y1), 1.0, "hand") if x1 > x0 and y1 > y0 else None
