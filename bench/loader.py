"""Benchmark the loader: starter baseline vs the default loader vs the memmap-cached loader.

    python bench/loader.py --data-dir DIR [--pipeline FILE] [--workers 0,1,2] [--batch-sizes 16,64]
                           [--images 512] [--repeats 2] [--model resnet18|small_cnn|none] [--json]

The options are `python -m core bench-loader`'s, parsed by the same parser; this script adds the goal
lines below the table. Every ratio compares two numbers measured in this same run at the same
num_workers and batch_size. Goals (issue 5, 2-core machine, demo data, Resize(256,192)+flip+Normalize):
default >= 1.5x the baseline, cached >= 4x.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from core.__main__ import build_parser  # noqa: E402
from core.errors import MaskLabError  # noqa: E402
from core.loader.cli import format_result, sweep_from_args  # noqa: E402

GOALS = {"default": 1.5, "cached": 4.0}


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
    args = build_parser().parse_args(["bench-loader", *(sys.argv[1:] if argv is None else argv)])
    try:
        result = sweep_from_args(args)
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
