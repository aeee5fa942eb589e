"""The data spec summary in numbers: what `python -m core describe` prints and the Data page shows."""
from __future__ import annotations

import numpy as np

from core.data.layout import TrainScan, check_images, read_eval, scan_train
from core.errors import DataError
from core.labels import DEFAULT_AGE_EDGES, NUM_CLASSES, class_names


def counts(values, size: int) -> list[int]:
    return np.bincount(np.asarray(values, dtype=np.int64), minlength=size)[:size].tolist()


def summarize_scan(scan: TrainScan) -> dict:
    images = scan.images
    return {
        "data_dir": str(scan.data_dir),
        "age_edges": list(scan.age_edges),
        "people": int(images["person"].nunique()),
        "train_csv_rows": int(scan.csv_rows),
        "images": int(len(images)),
        "classes": counts(images["label"], NUM_CLASSES),
        "class_names": class_names(scan.age_edges),
        "mask": counts(images["mask"], 3),
        "gender": counts(images["gender_label"], 2),
        "age": counts(images["age_label"], 3),
        "relabeled": int(images["relabeled"].sum()),
        "skipped": scan.skipped,
        "warnings": scan.warnings,
    }


def describe(data_dir, age_edges=DEFAULT_AGE_EDGES, progress=None, eval_progress=None) -> dict:
    """Counts per class and attribute, eval size, and every skipped file with its reason.

    A broken eval/ does not hide the train numbers: its error is returned as `eval_error`. Eval images
    go through the same (cached) corrupt check and are listed in `eval_corrupt`: they are not skipped,
    since a submission needs every row, so `predict` would stop on them.
    """
    scan = scan_train(data_dir, age_edges=age_edges, progress=progress)
    summary = summarize_scan(scan)
    summary["eval_corrupt"] = []
    try:
        eval_table = read_eval(scan.data_dir)
    except DataError as error:
        summary["eval_images"] = 0
        summary["eval_error"] = str(error)
        return summary
    summary["eval_images"] = int(len(eval_table))
    summary["eval_error"] = None
    summary["eval_corrupt"] = check_eval_images(scan.data_dir, eval_table, progress=eval_progress)
    return summary


def check_eval_images(data_dir, eval_table, progress=None) -> list[dict]:
    """[{path, reason}] for the eval images that do not decode (the train check's on-disk cache is shared)."""
    bad = check_images(data_dir, list(eval_table["path"]), progress=progress)
    return [{"path": path, "reason": reason} for path, reason in bad.items()]


def eval_corrupt_warning(summary: dict) -> str | None:
    """One line naming every eval image that does not decode, and what follows from it."""
    corrupt = summary.get("eval_corrupt") or []
    if not corrupt:
        return None
    return (f"{len(corrupt)} eval image(s) do not decode, so predict will stop on them; replace them from the "
            "original data: " + ", ".join(f"{item['path']} ({item['reason']})" for item in corrupt))
