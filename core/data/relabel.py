"""Label fixes from `relabel.csv` beside train/: override folder-derived labels without editing data.

Columns: path, field, value. `path` is relative to the data directory and names one image or a whole
person folder; `field` is mask, gender or age; `value` is a label name or number (mask: wear /
incorrect / not wear or 0..2; gender: male / female or 0..1; age: the age in years, so the
configured band edges still apply).
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from pathlib import Path

import pandas as pd

from core.errors import DataError
from core.labels import GENDER_NAMES

RELABEL_FILE = "relabel.csv"
RELABEL_COLUMNS = ("path", "field", "value")


def relabel_path(data_dir) -> Path:
    return Path(data_dir) / RELABEL_FILE


def parse_relabel_value(field: str, value: str, where: str) -> int:
    """The numeric value a relabel row sets (mask 0..2, gender 0..1, age in years)."""
    text = str(value).strip().lower()
    if field == "mask":
        mask_values = {"wear": 0, "mask": 0, "incorrect": 1, "incorrect_mask": 1, "not wear": 2,
                       "normal": 2, "0": 0, "1": 1, "2": 2}
        if text in mask_values:
            return mask_values[text]
        raise DataError.of("errors_data.relabel_mask", where=where, value=value)
    if field == "gender":
        if text in GENDER_NAMES:
            return GENDER_NAMES.index(text)
        if text in ("0", "1"):
            return int(text)
        raise DataError.of("errors_data.relabel_gender", where=where, value=value)
    if field == "age":
        if text.isdigit() and 0 < int(text) <= 150:
            return int(text)
        raise DataError.of("errors_data.relabel_age", where=where, value=value)
    raise DataError.of("errors_data.relabel_field", where=where, field=field)


def relabel_target(text, where: str) -> str:
    """The row's path, relative to the data directory; an absolute path or one with '..' would name a
    file outside it, so it is refused rather than silently never matched."""
    path = str(text or "").strip().replace("\\", "/")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        raise DataError.of("errors_data.relabel_absolute", where=where, path=path)
    if ".." in path.split("/"):
        raise DataError.of("errors_data.relabel_dotdot", where=where, path=path)
    return path.rstrip("/")


def read_relabel_rows(path: Path) -> list[tuple[int, dict]]:
    """(line number, row) for each row of the file; a UTF-8 BOM (as Excel writes) is accepted."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DataError.of("errors_data.file_unreadable", path=path, reason=error.strerror or error) from None
    data = data.removeprefix(codecs.BOM_UTF8)  # stripped here, so error offsets below index `data`
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise DataError.of("errors_data.relabel_not_utf8", path=path, line=line, byte=data[error.start]) from None
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        missing = [c for c in RELABEL_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError.of("errors_data.relabel_columns", path=path, missing=", ".join(missing))
        return [(reader.line_num, row) for row in reader]
    except csv.Error as error:
        raise DataError.of("errors_data.relabel_csv", path=path, error=error) from None


def load_relabels(data_dir) -> list[dict]:
    """Rows of relabel.csv as dicts {path, field, value(int), line}; [] when there is no file.

    A bad row raises DataError naming the file and its line.
    """
    path = relabel_path(data_dir)
    if not path.exists():
        return []
    rows = []
    for line_number, row in read_relabel_rows(path):
        where = f"{path} line {line_number}"
        field = (row["field"] or "").strip().lower()
        rows.append({"path": relabel_target(row["path"], where), "field": field,
                     "value": parse_relabel_value(field, row["value"], where), "line": line_number})
    return rows


def apply_relabels(images: pd.DataFrame, relabels: list[dict]) -> tuple[pd.DataFrame, list[dict]]:
    """Images with overridden raw labels (mask, gender_label, age in years) and a `relabeled` flag.

    Returns the new frame and warnings for rows that match no image. Later rows win.
    """
    images = images.copy()
    images["relabeled"] = False
    warnings = []
    column_of = {"mask": "mask", "gender": "gender_label", "age": "age"}
    folder_of_path = images["path"].str.rsplit("/", n=1).str[0]
    for row in relabels:
        hits = (images["path"] == row["path"]) | (folder_of_path == row["path"])
        if not hits.any():
            warnings.append({"path": RELABEL_FILE,
                             "reason": f"line {row['line']}: {row['path']} matches no image; row ignored"})
            continue
        images.loc[hits, column_of[row["field"]]] = row["value"]
        images.loc[hits, "relabeled"] = True
    images["gender"] = images["gender_label"].map(lambda g: GENDER_NAMES[int(g)])
    return images, warnings


def append_relabels(data_dir, rows: list[dict]) -> Path:
    """Add {path, field, value} rows to relabel.csv (created if needed); a row for the same
    (path, field) replaces the older one, so accepting a fix twice never duplicates it."""
    path = relabel_path(data_dir)
    existing = [dict(row) for _, row in read_relabel_rows(path)] if path.exists() else []
    for row in rows:
        field = str(row["field"]).strip().lower()
        where = f"relabel row for {row['path']}"
        relabel_target(row["path"], where)  # refused now rather than on the next scan
        parse_relabel_value(field, row["value"], where)
        existing = [r for r in existing if not (r["path"] == row["path"] and r["field"] == field)]
        existing.append({"path": row["path"], "field": field, "value": str(row["value"])})
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=RELABEL_COLUMNS)
        writer.writeheader()
        writer.writerows({k: r[k] for k in RELABEL_COLUMNS} for r in existing)
    tmp.replace(path)
    return path
