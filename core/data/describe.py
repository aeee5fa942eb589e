"""The data spec summary in numbers: what `python -m core describe` prints and the Data page shows."""
from __future__ import annotations

import numpy as np

from core.data.layout import TrainScan, read_eval, scan_train
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


def describe(data_dir, age_edges=DEFAULT_AGE_EDGES, progress=None) -> dict:
    """Counts per class and attribute, eval size, and every skipped file with its reason.

    A broken eval/ does not hide the train numbers: its error is returned as `eval_error`.
    """
    summary = summarize_scan(scan_train(data_dir, age_edges=age_edges, progress=progress))
    try:
        summary["eval_images"] = int(len(read_eval(data_dir)))
        summary["eval_error"] = None
    except DataError as error:
        summary["eval_images"] = 0
        summary["eval_error"] = str(error)
    return summary
