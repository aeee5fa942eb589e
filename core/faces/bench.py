"""How well the bundled detector finds the demo's faces: hit rate, IoU against the true boxes, speed."""
from __future__ import annotations

import time
from pathlib import Path

from core.data.images import read_image
from core.errors import DataError
from core.faces.boxes import read_boxes
from core.faces.detect import detect_one, iou, load_detector
from core.labels import MASK_BY_STEM

TRUTH_FILE = ".masklab-demo-faceboxes-truth.csv"  # written by core.data.demo beside train/
_MASK_NAMES = ("wear", "incorrect", "not wear")


def bench_detector(data_dir, images: int | None = None, progress=None) -> dict:
    """Run the detector on the demo's images (the first `images`, train people first) and score it.

    hit_rate: share of images where a face was found; mean_iou: IoU with the true box over those;
    iou50_rate: share of all images found with IoU >= 0.5; by_mask: hit rate per mask state.
    """
    data_dir = Path(data_dir)
    truth = read_boxes(data_dir / TRUTH_FILE)
    if not truth:
        raise DataError(f"{data_dir / TRUTH_FILE}: not found; only demo data holds true face boxes "
                        "(regenerate it with `python -m core demo-data --out DIR`)")
    paths = sorted(truth, key=lambda path: (not path.startswith("train/"), path))  # labelled ones first
    paths = paths[:images] if images else paths
    detector = load_detector()
    hits, ious, by_mask = 0, [], {name: [0, 0] for name in _MASK_NAMES}
    seconds = 0.0
    for done, path in enumerate(paths, start=1):
        image = read_image(data_dir / path)
        start = time.perf_counter()
        box, _ = detect_one(detector, image)
        seconds += time.perf_counter() - start
        stem = Path(path).stem
        counts = by_mask[_MASK_NAMES[MASK_BY_STEM[stem]]] if stem in MASK_BY_STEM else None
        if counts is not None:
            counts[1] += 1
        if box is not None:
            hits += 1
            ious.append(iou(box, truth[path].box))
            if counts is not None:
                counts[0] += 1
        if progress is not None:
            progress(done, len(paths))
    n = len(paths)
    return {"images": n, "hit_rate": hits / n, "mean_iou": sum(ious) / len(ious) if ious else 0.0,
            "iou50_rate": sum(v >= 0.5 for v in ious) / n, "images_per_s": n / seconds if seconds else 0.0,
            "ms_per_image": 1000 * seconds / n,
            "by_mask": {name: (hit / total if total else None) for name, (hit, total) in by_mask.items()}}
