"""Benchmark the Augmentation lab: Albumentations vs torchvision per equivalent, order, and preview refresh.

    python bench/augment.py --data-dir DIR [--images 16] [--repeats 5]

Every ratio compares two numbers measured in this same run, on the same decoded images, on one
thread (as in a DataLoader worker). Transforms use the catalogue's starting arguments with p=1.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from PIL import Image  # noqa: E402

from core.augment.catalogue import catalogue  # noqa: E402
from core.augment.pipeline import Pipeline, make_transform, new_step, torchvision_step  # noqa: E402
from core.augment.preview import augment_grid, normalize_args, sample_images, to_display  # noqa: E402
from core.augment.timing import median_ms, order_experiment, single_threaded, to_tensors  # noqa: E402

PREVIEW_IMAGES, PREVIEW_DRAWS = 8, 4
# Inputs torchvision only accepts as tensors, so the PIL column says n/a for them.
TENSOR_ONLY = {"Normalize", "ImageCompression", "CoarseDropout", "GaussNoise"}


def preview_pipeline() -> Pipeline:
    """The 5-step pipeline of the performance goal: resize, flip, warp, lighting, normalise."""
    return Pipeline(steps=[new_step("Resize"), new_step("HorizontalFlip"), new_step("Affine"),
                           new_step("RandomBrightnessContrast"), new_step("Normalize")], seed=0)


def compare_libraries(images, repeats: int) -> list[dict]:
    rows = []
    tensors = to_tensors(images)
    pils = [Image.fromarray(image) for image in images]
    for name, entry in catalogue().items():
        if entry.torchvision is None or name == "ToTensorV2":
            continue
        step = new_step(name, p=1.0)
        albumentations = make_transform(step, name)
        torchvision = torchvision_step(step, 1.0)
        alb_ms = median_ms(lambda image: albumentations(image=image)["image"], images, repeats)
        tensor_ms = median_ms(torchvision, tensors, repeats)
        pil_ms = None if name in TENSOR_ONLY else median_ms(torchvision, pils, repeats)
        rows.append({"step": name, "alb": alb_ms, "tv_tensor": tensor_ms, "tv_pil": pil_ms})
    return rows


def print_library_table(rows: list[dict], count: int) -> None:
    print(f"\nAlbumentations vs torchvision.transforms.v2 — median ms/image over {count} images at 384x512, one thread")
    print(f"{'transform':<26}{'alb ms':>9}{'tv tensor':>11}{'tv PIL':>9}{'alb/tv(tensor)':>16}{'alb/tv(PIL)':>13}")
    for row in rows:
        pil = f"{row['tv_pil']:9.3f}" if row["tv_pil"] is not None else f"{'n/a':>9}"
        pil_ratio = f"{row['alb'] / row['tv_pil']:13.2f}" if row["tv_pil"] else f"{'n/a':>13}"
        print(f"{row['step']:<26}{row['alb']:9.3f}{row['tv_tensor']:11.3f}{pil}{row['alb'] / row['tv_tensor']:16.2f}"
              f"{pil_ratio}")
    faster = sum(row["alb"] < row["tv_tensor"] for row in rows)
    geo = statistics.geometric_mean([row["alb"] / row["tv_tensor"] for row in rows])
    print(f"alb/tv < 1 means Albumentations is faster: {faster} of {len(rows)} against tensors; "
          f"geometric mean alb/tv(tensor) = {geo:.2f}")


def print_order_experiments(images, repeats: int) -> None:
    print("\nOrder experiment (lecture 4): both steps always applied")
    cases = [(new_step("Resize"), new_step("Rotate")),
             (new_step("Resize", height=1024, width=768), new_step("Rotate"))]  # the lecture's resize-up case
    for first, second in cases:
        result = order_experiment(first, second, images, repeats)
        sizes = f"{first.args['height']}x{first.args['width']} (HxW)"
        timings = ", ".join(f"{o['order']} {o['ms_per_image']:.3f} ms" for o in result.orders)
        print(f"  resize to {sizes}: {timings} -> {result.verdict()}")


def preview_refresh_core(images, repeats: int) -> float:
    """Median ms to recompute the preview grid (8 images x 4 draws) and make it displayable."""
    pipeline = preview_pipeline()
    normalize = normalize_args(pipeline)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        grid = augment_grid(pipeline, images, PREVIEW_DRAWS)
        [to_display(output, normalize) for row in grid for output in row]
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def preview_refresh_page(data_dir: Path, repeats: int) -> float:
    """Median ms of a whole Augmentation page rerun (AppTest) once its images are decoded and cached."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO_ROOT / "pages" / "2_Augmentation.py"), default_timeout=120)
    at.session_state["data_dir"] = str(data_dir)
    at.session_state["aug_pipeline"] = preview_pipeline()
    at.run()
    at.slider(key="aug_count").set_value(PREVIEW_IMAGES).run()
    at.slider(key="aug_draws").set_value(PREVIEW_DRAWS).run()
    if at.exception:
        raise SystemExit(f"page failed: {at.exception[0].value}")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    images, _ = sample_images(args.data_dir, max(args.images, PREVIEW_IMAGES))
    print(f"{len(images)} images from {args.data_dir}")

    print_library_table(compare_libraries(images[:args.images], args.repeats), len(images[:args.images]))
    print_order_experiments(images[:args.images], args.repeats)

    print(f"\nPreview refresh: {PREVIEW_IMAGES} images x {PREVIEW_DRAWS} draws, "
          "5-step pipeline (Resize, HorizontalFlip, Affine, RandomBrightnessContrast, Normalize), images decoded")
    core_ms = preview_refresh_core(images[:PREVIEW_IMAGES], args.repeats)
    with single_threaded():
        core_one_thread = preview_refresh_core(images[:PREVIEW_IMAGES], args.repeats)
    print(f"  augment + de-normalise: {core_ms:.1f} ms (one thread: {core_one_thread:.1f} ms)")
    page_ms = preview_refresh_page(args.data_dir, args.repeats)
    print(f"  whole page rerun (AppTest, includes every widget and image encoding): {page_ms:.0f} ms "
          f"(goal < 300 ms: {'met' if page_ms < 300 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
