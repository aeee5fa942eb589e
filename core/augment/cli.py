"""`python -m core bench-augment`: what each step of a pipeline file costs on real images."""
from __future__ import annotations

import json
import sys

from core.augment.preview import sample_images
from core.augment.serialize import read_pipeline
from core.augment.timing import time_pipeline, time_steps
from core.errors import ConfigError
from core.progress import StderrProgress

REPEATS = 3


def bench_augment(args) -> int:
    """Time a pipeline file per step and as a whole; `--json` prints one object on stdout, nothing else."""
    count = getattr(args, "images", 32)
    if count is None or count < 1:
        raise ConfigError.of("errors_augment.images_count", count=count)
    pipeline = read_pipeline(args.pipeline)
    images, _ = sample_images(args.data_dir, count, progress=StderrProgress("decoding images"))
    print(f"timing {len(images)} images x {REPEATS} repeats...", file=sys.stderr)
    result = bench_result(pipeline, images)
    if getattr(args, "json", False):
        print(json.dumps(result))
    else:
        print(format_result(result, args.pipeline))
    return 0


def bench_result(pipeline, images) -> dict:
    steps = time_steps(pipeline, images, REPEATS)
    total = time_pipeline(pipeline, images, REPEATS)
    return {
        "steps": [{"name": s.name, "ms_per_image": round(s.ms_per_image, 4), "p": s.p, "output_size": s.output_size}
                  for s in steps],
        "total_ms_per_image": round(total.ms_per_image, 4),
        "images_per_s": round(total.images_per_s, 1),
        "images": len(images),
        "note": "steps: median ms/image with the step always applied; total: the pipeline as configured (p included)",
    }


def format_result(result: dict, source) -> str:
    width = max([len(step["name"]) for step in result["steps"]] + [4])
    lines = [f"{source}: {result['images']} images, one thread", f"{'step':<{width}}  {'ms/image':>9}  {'p':>4}  output"]
    lines += [f"{s['name']:<{width}}  {s['ms_per_image']:>9.3f}  {s['p']:>4.2f}  {s['output_size']}"
              for s in result["steps"]]
    lines.append(f"{'whole pipeline (as configured)':<{width}}  {result['total_ms_per_image']:>9.3f}  "
                 f"= {result['images_per_s']:.0f} images/s")
    return "\n".join(lines)
