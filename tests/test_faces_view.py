"""What the pages show of face boxes: drawn boxes and the summary line."""
from __future__ import annotations

import shutil

import numpy as np

from core.data.demo import FACEBOX_TRUTH_NAME
from core.data.images import read_image
from core.faces.boxes import FaceBox, boxes_path, read_boxes, write_boxes
from core.faces.cli import dataset_image_paths
from core.faces.view import FALLBACK, FOUND, draw_face_boxes, face_summary


def test_boxes_are_drawn_where_the_file_says(demo_copy):
    truth = read_boxes(demo_copy / FACEBOX_TRUTH_NAME)
    found, missing = sorted(truth)[:2]
    boxes = {found: truth[found], missing: FaceBox(missing, None, 0.0, "dlib-hog", (384, 512))}
    drawn_found, drawn_missing = draw_face_boxes(demo_copy, [found, missing], boxes, width=1)
    x0, y0, x1, y1 = truth[found].box
    assert tuple(drawn_found[y0, (x0 + x1) // 2]) == FOUND and tuple(drawn_found[y1 - 1, x0]) == FOUND
    assert tuple(drawn_missing[102, 192]) == FALLBACK  # the centred fallback box's top edge (y0 = 102)
    original = read_image(demo_copy / found)
    assert np.array_equal(drawn_found[y0 + 5:y1 - 5, x0 + 5:x1 - 5], original[y0 + 5:y1 - 5, x0 + 5:x1 - 5])


def test_the_summary_counts_faces_by_source(demo_copy):
    paths = dataset_image_paths(demo_copy)
    _, line = face_summary(demo_copy, paths)
    assert "No faceboxes.csv yet" in line
    truth = read_boxes(demo_copy / FACEBOX_TRUTH_NAME)
    rows = [truth[p] for p in paths[:10]] + [FaceBox(p, None, 0.0, "dlib-hog", (384, 512)) for p in paths[10:20]]
    write_boxes(boxes_path(demo_copy), rows)
    boxes, line = face_summary(demo_copy, paths)
    assert len(boxes) == 20
    assert f"**{10 / len(paths):.0%}** of {len(paths)} images have a face box (10 truth)" in line
    assert f"{len(paths) - 20} not looked at yet" in line
