"""What the pages show of face boxes: images with their box drawn, and a one-line account of the file."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from core.augment.face_crop import crop_box
from core.faces.boxes import FaceBox, boxes_path, coverage, load_face_boxes
from core.i18n import t

FOUND, FALLBACK = (40, 220, 60), (255, 150, 0)


def draw_face_boxes(data_dir, paths, boxes: dict[str, FaceBox], width: int = 3) -> list[np.ndarray]:
    """Each image with its face box in green, or in orange the centred box FaceCrop falls back to."""
    drawn = []
    for path in paths:
        with Image.open(Path(data_dir) / path) as image:
            image = image.convert("RGB")
        box = boxes.get(path)
        draw = ImageDraw.Draw(image)
        if box is not None and box.box is not None:
            x0, y0, x1, y1 = box.box
            draw.rectangle([x0, y0, x1 - 1, y1 - 1], outline=FOUND, width=width)
        else:
            (x0, y0, x1, y1), _ = crop_box((image.height, image.width), None, 0.0, 0.75, 0.0, 0.6)
            draw.rectangle([x0, y0, x1 - 1, y1 - 1], outline=FALLBACK, width=width)
        drawn.append(np.asarray(image))
    return drawn


def box_caption(box: FaceBox | None) -> str:
    if box is None:
        return t("faces.not_looked")
    if box.box is None:
        return t("faces.no_face", source=box.source)
    return t("faces.face", score=box.score, source=box.source)


def face_summary(data_dir, paths) -> tuple[dict[str, FaceBox], str]:
    """The boxes in force and one line for the page: how many images have a face, from which source."""
    if not boxes_path(data_dir).exists():
        return {}, t("faces.no_file", name=boxes_path(data_dir).name, data_dir=data_dir)
    boxes = load_face_boxes(data_dir)
    found = coverage(boxes, paths)
    sources = ", ".join(f"{count} {source}" for source, count in sorted(found["by_source"].items()))
    return boxes, t("faces.coverage", share=found["face_share"], images=found["images"],
                    sources=f" ({sources})" if sources else "", not_looked=found["images"] - found["looked"])


def preview_face_boxes(data_dir, paths, pipeline) -> tuple[list | None, str | None]:
    """(each preview image's box, a note) for an editor Pipeline with a FaceCrop; (None, None) without one."""
    from core.augment.face_crop import uses_face_crop
    from core.augment.pipeline import build_pipeline
    from core.faces.boxes import face_boxes_for

    if not uses_face_crop(build_pipeline(pipeline)):
        return None, None
    boxes = face_boxes_for(data_dir, paths)
    found = sum(box is not None for box in boxes)
    note = t("faces.preview_note", found=found, count=len(paths))
    if not boxes_path(data_dir).exists():
        note += t("faces.preview_no_file", name=boxes_path(data_dir).name)
    return boxes, note
