"""Benchmark face boxes: what the cached crop costs the loader, and how the detector does on the demo.

    python bench/faces.py [--data-dir DIR] [--images 64] [--repeats 5] [--no-detector]

Loader cost: the per-image time of Dataset[i] (decode + pipeline, one thread, as in a DataLoader
worker) with `FaceCrop + Resize + HorizontalFlip + Normalize` against the same pipeline without
FaceCrop, both decoding the full image, boxes read once from faceboxes.csv. The goal: the ratio
stays under 1.05 (the crop is a slice; the box lookup is a list index). Without DIR, a demo dataset
is generated into a temporary folder and its faces detected first.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import albumentations as A  # noqa: E402
import cv2  # noqa: E402

from core.augment.face_crop import FaceCrop  # noqa: E402
from core.data import create_dataset  # noqa: E402
from core.faces.bench import bench_detector  # noqa: E402
from core.faces.boxes import boxes_path, coverage, read_boxes  # noqa: E402
from core.faces.cli import dataset_image_paths  # noqa: E402
from core.faces.detect import detect_faces  # noqa: E402


def per_image_ms(dataset, count: int, repeats: int) -> float:
    """Median over repeats of the mean time of dataset[i] for the first `count` items."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for index in range(count):
            dataset[index]
        times.append((time.perf_counter() - start) * 1000 / count)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-detector", action="store_true", help="skip the detector's hit rate and IoU")
    args = parser.parse_args()
    cv2.setNumThreads(1)  # as in a DataLoader worker

    if args.data_dir:
        data_dir = Path(args.data_dir)
    else:
        from core.data.demo import generate_demo_dataset

        data_dir = generate_demo_dataset(Path(tempfile.mkdtemp(prefix="bench-faces-")) / "data", people=30,
                                         eval_people=0)
    if not boxes_path(data_dir).exists():
        print("detecting faces first (resumable) ...", file=sys.stderr)
        detect_faces(data_dir, dataset_image_paths(data_dir))
    found = coverage(read_boxes(boxes_path(data_dir)), dataset_image_paths(data_dir))
    print(f"{data_dir}: {found['with_face']} of {found['images']} images have a face box")

    tail = [A.Resize(256, 192), A.HorizontalFlip(p=0.5), A.Normalize()]
    plain = create_dataset(data_dir, "all", transform=A.Compose(tail, seed=0))
    cropped = create_dataset(data_dir, "all", transform=A.Compose([FaceCrop(), *tail], seed=0))
    count = min(args.images, len(plain))
    per_image_ms(plain, min(8, count), 1)  # warm the page cache and imports
    without = per_image_ms(plain, count, args.repeats)
    with_crop = per_image_ms(cropped, count, args.repeats)
    print(f"loader per image, full decode + Resize/Flip/Normalize: {without:.2f} ms without FaceCrop, "
          f"{with_crop:.2f} ms with it: ratio {with_crop / without:.3f} (goal < 1.05)")

    if not args.no_detector:
        try:
            result = bench_detector(data_dir)
        except Exception as error:  # real data has no true boxes: say so, keep the loader numbers
            print(f"detector: skipped ({error})")
            return 0
        by_mask = ", ".join(f"{name} {rate:.0%}" for name, rate in result["by_mask"].items() if rate is not None)
        print(f"detector on {result['images']} demo images: hit rate {result['hit_rate']:.1%} ({by_mask}), "
              f"mean IoU {result['mean_iou']:.3f} where found, {result['ms_per_image']:.1f} ms per image "
              f"({result['images_per_s']:.1f} images/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
