"""The Data page's face-box parts: boxes on the gallery, the share found, detection, a hand correction.

Widgets only; the work is in core.faces (boxes, detect, view), like core/augment/editor.py for pipelines.
"""
from __future__ import annotations

import streamlit as st

from core.errors import MaskLabError
from core.faces.boxes import boxes_path, correct_box
from core.faces.detect import detect_faces
from core.faces.view import box_caption, draw_face_boxes, face_summary
from core.i18n import t
from core.ui import show_error

BOX_NAMES = ("x0", "y0", "x1", "y1")  # their help: faces.box_help.<name>


def face_boxes_controls(data_dir, all_paths: list[str]) -> dict | None:
    """The share of images with a face, a Detect button, and whether to draw boxes: the boxes, or None."""
    try:
        boxes, line = face_summary(data_dir, all_paths)
    except MaskLabError as error:
        show_error(error, t("faces.fix_file", path=boxes_path(data_dir)))
        return None
    summary_line = st.empty()  # rewritten after a detection in this run
    summary_line.markdown(t("faces.summary", line=line), help=t("faces.help"))
    missing = [path for path in all_paths if path not in boxes]
    if missing and st.button(t("faces.detect", count=len(missing)), key="data_faces_detect",
                             help=t("faces.detect_help")):
        bar = st.progress(0.0, text=t("faces.detecting"))
        try:
            summary = detect_faces(data_dir, missing,
                                   progress=lambda done, total: bar.progress(done / max(total, 1),
                                                                             text=t("faces.detecting_progress", done=done, total=total)))
        except MaskLabError as error:
            show_error(error)
            return None
        st.success(summary.line())
        boxes, line = face_summary(data_dir, all_paths)
        summary_line.markdown(t("faces.summary", line=line), help=t("faces.help"))
    show = st.checkbox(t("faces.draw"), value=True, key="data_faces_show", help=t("faces.draw_help"))
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
    with st.expander(t("faces.correct")):
        path = st.selectbox(t("faces.image"), paths, key="data_faces_fix_path", help=t("faces.image_help"),
                            format_func=lambda p: p.rsplit("/", 2)[-2] + "/" + p.rsplit("/", 1)[-1])
        current = boxes.get(path)
        start = current.box if current is not None and current.box is not None else (96, 112, 288, 352)
        columns = st.columns(4)
        values = [column.number_input(name, min_value=0, value=int(v), step=4, key=f"data_faces_fix_{name}",
                                      help=t(f"faces.box_help.{name}"))
                  for column, name, v in zip(columns, BOX_NAMES, start)]
        st.image(draw_face_boxes(data_dir, [path], {path: _preview(path, values)}), width=220,
                 caption=t("faces.now", caption=box_caption(current)))
        if st.button(t("faces.save"), key="data_faces_fix_save", help=t("faces.save_help")):
            try:
                from core.data.images import image_size

                correct_box(data_dir, path, tuple(values), image_size(f"{data_dir}/{path}"))
            except (MaskLabError, OSError) as error:
                show_error(error)
            else:
                st.success(t("faces.saved", path=path, box=", ".join(map(str, values))))


def _preview(path: str, values):
    from core.faces.boxes import FaceBox

    x0, y0, x1, y1 = values
    return FaceBox(path, (x0, y0, x1, y1), 1.0, "hand") if x1 > x0 and y1 > y0 else None
