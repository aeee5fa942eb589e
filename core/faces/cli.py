"""CLI handler for `python -m core faces`: detect (resumable), import, or benchmark on the demo."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from core.errors import DataError
from core.faces.boxes import boxes_path, coverage, import_boxes, read_boxes
from core.progress import StderrProgress


def dataset_image_paths(data_dir) -> list[str]:
    """Every train and eval image of a data directory, relative to it (eval only when present)."""
    from core.data.layout import read_eval, scan_train

    paths = list(scan_train(data_dir).images["path"])
    if (Path(data_dir) / "eval" / "info.csv").is_file():
        paths += list(read_eval(data_dir)["path"])
    return paths


def faces(args) -> int:
    data_dir = Path(args.data_dir)
    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: not a folder (--data-dir)")
    if args.bench:
        from core.faces.bench import bench_detector

        result = bench_detector(data_dir, images=args.images, progress=StderrProgress("detecting"))
        if args.json:
            print(json.dumps(result))
        else:
            by_mask = ", ".join(f"{name} {rate:.0%}" for name, rate in result["by_mask"].items() if rate is not None)
            print(f"{result['images']} images: hit rate {result['hit_rate']:.1%} ({by_mask}), "
                  f"mean IoU {result['mean_iou']:.3f} where found, IoU>=0.5 on {result['iou50_rate']:.1%}, "
                  f"{result['images_per_s']:.1f} images/s")
        return 0
    paths = dataset_image_paths(data_dir)
    if args.import_file:
        count = import_boxes(data_dir, args.import_file, paths)
        print(f"imported {count} boxes into {boxes_path(data_dir)}", file=sys.stderr)
    else:
        from core.faces.detect import detect_faces

        summary = detect_faces(data_dir, paths, progress=StderrProgress("detecting faces"), workers=args.workers)
        print(summary.line(), file=sys.stderr)
    result = coverage(read_boxes(boxes_path(data_dir)), paths)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['with_face']} of {result['images']} images have a face box ({result['face_share']:.1%}); "
              f"by source: {result['by_source']}; the rest crop centred")
    return 0
