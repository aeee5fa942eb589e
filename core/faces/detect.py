"""The bundled face detector (dlib's HOG frontal-face detector) run once over a dataset, resumably.

Why dlib: its detector's model is compiled into the `dlib-bin` wheel, so it works offline on any
machine that installed requirements.txt; OpenCV 5.0 wheels ship no Haar cascades and its
FaceDetectorYN needs an ONNX file we cannot ship, facenet-pytorch's MTCNN pins torch < 2.3, and
mediapipe 1.2.2 ships no face model. HOG finds unmasked frontal faces well and most masked ones not
at all (it looks for a mouth and nose): images without a face fall back to a centred crop
(`FaceCrop`), and boxes from a stronger outside detector can be imported into faceboxes.csv.
"""
from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.data.images import read_image
from core.errors import ConfigError, DataError
from core.faces.boxes import FaceBox, append_boxes, boxes_path, read_boxes
from core.i18n import t

DETECTOR_SOURCE = "dlib-hog"
UNREADABLE_SOURCE = "unreadable"
# Rows are appended after every chunk: an interrupted run loses at most one chunk per worker.
_CHUNK = 32


def load_detector():
    """dlib's frontal-face detector; ConfigError in one line when the package is missing."""
    try:
        import dlib
    except ImportError:
        raise ConfigError.of("errors_faces.no_dlib") from None
    return dlib.get_frontal_face_detector()


def detect_one(detector, image: np.ndarray) -> tuple[tuple[int, int, int, int] | None, float]:
    """The best-scoring face box (x0, y0, x1, y1) clipped to the image, and its score; (None, 0) if none."""
    rects, scores, _ = detector.run(image, 0, 0.0)
    if not len(rects):
        return None, 0.0
    best = int(np.argmax(scores))
    rect, (h, w) = rects[best], image.shape[:2]
    box = (max(0, rect.left()), max(0, rect.top()), min(w, rect.right() + 1), min(h, rect.bottom() + 1))
    if box[2] <= box[0] or box[3] <= box[1]:
        return None, 0.0
    return box, float(scores[best])


def _detect_chunk(data_dir: str, paths: list[str]) -> list[FaceBox]:
    detector = load_detector()
    rows = []
    for path in paths:
        try:
            image = read_image(Path(data_dir) / path)
        except DataError:
            rows.append(FaceBox(path, None, 0.0, UNREADABLE_SOURCE))
            continue
        box, score = detect_one(detector, image)
        rows.append(FaceBox(path, box, score, DETECTOR_SOURCE, (image.shape[1], image.shape[0])))
    return rows


@dataclass
class DetectSummary:
    """What a detection pass did: counts, and the images it could not read (they crop centred)."""

    total: int = 0
    already: int = 0          # had a row before this run (resumed or corrected): left alone
    detected: int = 0         # newly looked at in this run
    found: int = 0            # of those, with a face
    unreadable: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        parts = [t("faces.detected", detected=self.detected, found=self.found), t("faces.already", already=self.already)]
        if self.unreadable:
            parts.append(t("faces.unreadable", count=len(self.unreadable), first=self.unreadable[0]))
        return "; ".join(parts)


def detect_faces(data_dir, paths, progress=None, workers: int = 1) -> DetectSummary:
    """Detect a face in every path not yet in faceboxes.csv and append the rows (resumable).

    `paths` are relative to data_dir. Rows already in the file (an earlier, interrupted run, an import
    or a hand correction) are kept and their images skipped. `progress(done, total)` counts images.
    """
    load_detector()  # fail before any work when the package is missing
    data_dir = Path(data_dir)
    file = boxes_path(data_dir)
    have = read_boxes(file)
    todo = [path for path in paths if path not in have]
    summary = DetectSummary(total=len(paths), already=len(paths) - len(todo))
    start = time.perf_counter()
    done = summary.already
    if progress is not None:
        progress(done, summary.total)
    chunks = [todo[i:i + _CHUNK] for i in range(0, len(todo), _CHUNK)]

    def take(rows: list[FaceBox]) -> None:
        nonlocal done
        append_boxes(file, rows)
        summary.detected += len(rows)
        summary.found += sum(row.box is not None for row in rows)
        summary.unreadable += [row.path for row in rows if row.source == UNREADABLE_SOURCE]
        done += len(rows)
        if progress is not None:
            progress(done, summary.total)

    if workers <= 1 or len(chunks) <= 1:
        for chunk in chunks:
            take(_detect_chunk(str(data_dir), chunk))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for rows in pool.map(_detect_chunk, [str(data_dir)] * len(chunks), chunks):
                take(rows)
    summary.seconds = time.perf_counter() - start
    return summary


def iou(a, b) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)
