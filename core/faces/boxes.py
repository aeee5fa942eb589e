"""`faceboxes.csv` beside train/: one face box per image, detected once, imported or corrected by hand.

Columns: path, x0, y0, x1, y1, score, source (then optional width, height: the image's size, so
reading the boxes needs no image). `path` is relative to the data directory; x0..y1 are pixels of the
full-size image, x1/y1 exclusive; empty coordinates mean "looked, found no face". A path may have
several rows: a `hand` row beats any other source, otherwise the last row wins — so a correction is
an appended row and the detection it replaces stays in the file. The images are never edited.
"""
from __future__ import annotations

import csv
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from core.errors import DataError

FACEBOXES_FILE = "faceboxes.csv"
COLUMNS = ("path", "x0", "y0", "x1", "y1", "score", "source")
SIZE_COLUMNS = ("width", "height")
HAND = "hand"


@dataclass(frozen=True)
class FaceBox:
    """One row: a face box in pixels (None when no face was found) and where it came from."""

    path: str
    box: tuple[int, int, int, int] | None
    score: float
    source: str
    size: tuple[int, int] | None = None  # (width, height) of the image the box is in
    where: str = ""  # "faceboxes.csv row 12", for errors found after reading

    def fractions(self) -> tuple[float, float, float, float, float] | None:
        """(x0, y0, x1, y1) as fractions of the image's width/height, then the score; None without a box.

        Fractions survive a reader that decodes a reduced-size image or a cache of resized ones.
        """
        if self.box is None or self.size is None:
            return None
        (x0, y0, x1, y1), (w, h) = self.box, self.size
        return (x0 / w, y0 / h, x1 / w, y1 / h, self.score)


def boxes_path(data_dir) -> Path:
    return Path(data_dir) / FACEBOXES_FILE


def _number(text: str, name: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise DataError.of("errors_faces.not_number", where=where, name=name, text=text) from None
    if not math.isfinite(value):
        raise DataError.of("errors_faces.not_finite", where=where, name=name, text=text)
    return value


def parse_row(row: dict, where: str) -> FaceBox:
    """One FaceBox from a csv row (a dict by column); DataError naming `where` for a bad value."""
    path = (row.get("path") or "").strip()
    if not path:
        raise DataError.of("errors_faces.empty_path", where=where)
    source = (row.get("source") or "").strip() or "import"
    coords = [(row.get(name) or "").strip() for name in ("x0", "y0", "x1", "y1")]
    score_text = (row.get("score") or "").strip()
    score = _number(score_text, "score", where) if score_text else (1.0 if source == HAND else 0.0)
    size = None
    if all((row.get(name) or "").strip() for name in SIZE_COLUMNS):
        w, h = (_number(row[name].strip(), name, where) for name in SIZE_COLUMNS)
        if w <= 0 or h <= 0 or w != int(w) or h != int(h):
            raise DataError.of("errors_faces.bad_size", where=where, w=w, h=h)
        size = (int(w), int(h))
    if not any(coords):
        return FaceBox(path, None, score, source, size, where)
    if not all(coords):
        raise DataError.of("errors_faces.partial_box", where=where)
    x0, y0, x1, y1 = (int(round(_number(text, name, where))) for text, name in zip(coords, ("x0", "y0", "x1", "y1")))
    if min(x0, y0) < 0:
        raise DataError.of("errors_faces.box_negative_start", where=where, x0=x0, y0=y0, x1=x1, y1=y1)
    if x1 <= x0 or y1 <= y0:
        raise DataError.of("errors_faces.box_empty", where=where, x0=x0, y0=y0, x1=x1, y1=y1)
    if size is not None and (x1 > size[0] or y1 > size[1]):
        raise DataError.of("errors_faces.box_outside", where=where, x0=x0, y0=y0, x1=x1, y1=y1, width=size[0],
                           height=size[1])
    return FaceBox(path, (x0, y0, x1, y1), score, source, size, where)


def read_boxes(file) -> dict[str, FaceBox]:
    """The box in force for each path of a faceboxes file (hand rows win, else the last row)."""
    file = Path(file)
    try:
        handle = open(file, newline="", encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise DataError.of("errors_faces.unreadable", file=file, reason=error.strerror) from None
    boxes: dict[str, FaceBox] = {}
    with handle:
        reader = csv.DictReader(handle)
        missing = [name for name in COLUMNS if name not in (reader.fieldnames or ())]
        if missing:
            raise DataError.of("errors_faces.missing_columns", file=file, missing=", ".join(missing), needed=", ".join(COLUMNS))
        for line, row in enumerate(reader, start=2):
            box = parse_row(row, f"{file.name} row {line}")
            kept = boxes.get(box.path)
            if kept is None or box.source == HAND or kept.source != HAND:
                boxes[box.path] = box
    return boxes


def _row(box: FaceBox) -> list:
    coords = list(box.box) if box.box is not None else ["", "", "", ""]
    size = list(box.size) if box.size is not None else ["", ""]
    return [box.path, *coords, f"{box.score:.4f}", box.source, *size]


def write_boxes(file, boxes) -> None:
    """Write FaceBoxes as a whole new file (write then rename: a reader never sees half a file)."""
    file = Path(file)
    tmp = file.with_name(f".{file.name}.tmp-{os.getpid()}")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS + SIZE_COLUMNS)
        writer.writerows(_row(box) for box in boxes)
    os.replace(tmp, file)


def append_boxes(file, boxes) -> None:
    """Append rows (the header first when the file is new); the detector's resumable progress."""
    file = Path(file)
    new = not file.exists() or file.stat().st_size == 0
    if not new:
        with open(file, newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle), [])
        if tuple(header[:len(COLUMNS)]) != COLUMNS:
            raise DataError.of("errors_faces.wrong_columns", file=file, header=", ".join(header),
                               expected=", ".join(COLUMNS + SIZE_COLUMNS))
    with open(file, "a", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        if new:
            writer.writerow(COLUMNS + SIZE_COLUMNS)
        writer.writerows(_row(box) for box in boxes)


def correct_box(data_dir, path: str, box: tuple[int, int, int, int], size: tuple[int, int]) -> FaceBox:
    """Record a hand correction for one image (validated like any row); returns the new box."""
    x0, y0, x1, y1 = box
    row = {"path": path, "x0": str(x0), "y0": str(y0), "x1": str(x1), "y1": str(y1), "score": "1",
           "source": HAND, "width": str(size[0]), "height": str(size[1])}
    corrected = parse_row(row, f"correction of {path}")
    append_boxes(boxes_path(data_dir), [corrected])
    return corrected


def load_face_boxes(data_dir, known_paths=None) -> dict[str, FaceBox]:
    """The boxes in force for a dataset, each with its image size, checked against the images.

    Rows without width/height (an outside detector's) take the size from the image's header. A path
    that is not one of `known_paths` (when given) or a box beyond its image is a DataError naming the row.
    """
    from core.data.images import image_size  # the header only; no decode

    data_dir = Path(data_dir)
    boxes = read_boxes(boxes_path(data_dir))
    known = set(known_paths) if known_paths is not None else None
    for path, box in list(boxes.items()):
        if known is not None and path not in known:
            raise DataError.of("errors_faces.not_an_image", where=box.where, path=path, data_dir=data_dir)
        if box.size is None:
            try:
                size = image_size(data_dir / path)
            except OSError as error:
                raise DataError.of("errors_faces.cannot_open", where=box.where, path=path, error=error) from None
            box = FaceBox(box.path, box.box, box.score, box.source, size, box.where)
            boxes[path] = box
        if box.box is not None and (box.box[2] > box.size[0] or box.box[3] > box.size[1]):
            raise DataError.of("errors_faces.box_outside_image", where=box.where, box=box.box, width=box.size[0],
                               height=box.size[1], path=path)
    return boxes


def box_lookup(boxes: dict[str, FaceBox]) -> dict[str, tuple]:
    """{path: (x0, y0, x1, y1, score) as fractions} for the datasets (small and picklable for workers)."""
    return {path: box.fractions() for path, box in boxes.items() if box.box is not None}


def boxes_for_transform(data_dir, transform) -> dict[str, tuple] | None:
    """The box lookup a dataset hands its pipeline: None when the pipeline has no FaceCrop.

    With a FaceCrop and no faceboxes.csv every image crops centred; a warning says so rather than
    let that pass silently.
    """
    from core.augment.face_crop import uses_face_crop

    if transform is None or not uses_face_crop(transform):
        return None
    file = boxes_path(data_dir)
    if not file.exists():
        warnings.warn(f"{file}: not found, so FaceCrop crops a centred box on every image "
                      f"(detect faces first: python -m core faces --data-dir {data_dir})", stacklevel=2)
        return {}
    return box_lookup(load_face_boxes(data_dir))


def import_boxes(data_dir, file, known_paths) -> int:
    """Append the boxes of an outside detector's file (same columns) to faceboxes.csv; returns the count.

    Every row is checked first (columns, numbers, sizes, paths of this dataset, inside the image), so a
    bad file adds nothing. Rows without a source are marked `import`.
    """
    from core.data.images import image_size

    data_dir, file = Path(data_dir), Path(file)
    if not file.is_file():
        raise DataError.of("errors_faces.not_found", file=file)
    known = set(known_paths)
    checked = []
    for box in read_boxes(file).values():
        if box.path not in known:
            raise DataError.of("errors_faces.not_an_image", where=box.where, path=box.path, data_dir=data_dir)
        size = box.size or image_size(data_dir / box.path)
        if box.box is not None and (box.box[2] > size[0] or box.box[3] > size[1]):
            raise DataError.of("errors_faces.box_outside_image", where=box.where, box=box.box, width=size[0], height=size[1],
                               path=box.path)
        checked.append(FaceBox(box.path, box.box, box.score, box.source, size, box.where))
    append_boxes(boxes_path(data_dir), checked)
    return len(checked)


def coverage(boxes: dict[str, FaceBox], paths) -> dict:
    """How many of `paths` have a row, have a face, and by which source the face came."""
    paths = list(paths)
    rows = [boxes[path] for path in paths if path in boxes]
    with_face = [row for row in rows if row.box is not None]
    by_source: dict[str, int] = {}
    for row in with_face:
        by_source[row.source] = by_source.get(row.source, 0) + 1
    return {"images": len(paths), "looked": len(rows), "with_face": len(with_face),
            "face_share": len(with_face) / len(paths) if paths else 0.0, "by_source": by_source}


def face_boxes_for(data_dir, paths) -> list:
    """Each path's box as FaceCrop takes it (fractions and score), None where there is none or no file."""
    lookup = box_lookup(load_face_boxes(data_dir)) if boxes_path(data_dir).exists() else {}
    return [lookup.get(path) for path in paths]
