"""Benchmark the loader: starter baseline vs the default loader vs the memmap-cached loader.

    python bench/loader.py --data-dir DIR [--pipeline FILE] [--workers 0,1,2] [--batch-sizes 16,64]
                           [--images 512] [--model resnet18|small_cnn|none] [--json]

Every ratio compares two numbers measured in this same run at the same num_workers and batch_size.
Goals (issue 5, 2-core machine, demo data, Resize(256,192)+flip+Normalize): default >= 1.5x the
baseline, cached >= 4x.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from core.errors import MaskLabError  # noqa: E402
from core.loader.bench import run_sweep  # noqa: E402
from core.loader.cli import check_grid, format_result, load_pipeline_file  # noqa: E402
from core.progress import StderrProgress  # noqa: E402

GOALS = {"default": 1.5, "cached": 4.0}


def int_list(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def goal_lines(rows: list[dict]) -> list[str]:
    """Per loader: the worst and best ratio over the grid against its goal."""
    lines = []
    for loader, goal in GOALS.items():
        ratios = [r["ratio_to_baseline"] for r in rows if r["loader"] == loader]
        if ratios:
            verdict = "met" if min(ratios) >= goal else ("met at best" if max(ratios) >= goal else "NOT met")
            lines.append(f"goal {loader} >= {goal}x baseline: {verdict} (ratios {min(ratios):.2f}..{max(ratios):.2f})")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--pipeline")
    parser.add_argument("--workers", type=int_list, default=[0, 1, 2])
    parser.add_argument("--batch-sizes", type=int_list, default=[16, 64])
    parser.add_argument("--images", type=int, default=512, help="images timed per row")
    parser.add_argument("--repeats", type=int, default=2, help="best of N per row (other load only slows)")
    parser.add_argument("--model", default="resnet18", choices=["resnet18", "small_cnn", "none"])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        check_grid(args.workers, args.batch_sizes)
        pipeline = load_pipeline_file(args.pipeline) if args.pipeline else None
        result = run_sweep(args.data_dir, pipeline, workers=args.workers, batch_sizes=args.batch_sizes,
                           max_images=args.images, model=None if args.model == "none" else args.model,
                           repeats=args.repeats, progress=StderrProgress("measuring"),
                           cache_progress=StderrProgress("building cache"))
    except MaskLabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    else:
        print(format_result(result))
        print("\n".join(goal_lines(result["rows"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
