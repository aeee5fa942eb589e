"""Benchmark the loader: starter baseline vs the default loader vs the memmap-cached loader.

    python bench/loader.py [--data-dir DIR] [--people 60] [--pipeline FILE] [--workers 0,1,2]
                           [--batch-sizes 16,64,128] [--images 512] [--repeats 2]
                           [--model resnet18|small_cnn|none] [--json]

The options are `python -m core bench-loader`'s, parsed by the same parser, plus `--people`: without
--data-dir the bench writes (once) and uses a photo-like demo set of that many people under
build/bench-data/ (384x512 JPEGs with sensor grain at q95, ~92 KiB each, like the real photos: the
plain demo's flat drawings decode several times faster than photos and would flatter every loader).
Every ratio compares two numbers measured in this same run at the same num_workers and batch_size;
the goal lines (issue 13, 2 cores) come below the table, each saying met or not met.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from core.__main__ import build_parser  # noqa: E402
from core.errors import MaskLabError  # noqa: E402
from core.loader.cli import format_result, sweep_from_args  # noqa: E402

DEFAULT_PEOPLE = 60
DEFAULT_BATCH_SIZES = "16,64,128"
DEFAULT_GOAL = 1.5        # default loader vs the starter, every grid point with workers >= 1, batch 16..128
CACHED_GOAL = 4.0         # cached vs the starter at workers=2
CACHED_BEST_GOAL = 10.0   # cached's best ratio anywhere in the grid
DECODE_SHARE_GOAL = 0.8   # default loader's best images/s vs cores x one core's decode rate


def photo_data_dir(people: int) -> Path:
    """The photo-like demo set for the bench, generated on first use."""
    from core.data.demo import generate_demo_dataset, is_complete_demo
    from core.progress import StderrProgress

    out = REPO_ROOT / "build" / "bench-data" / f"photo-{people}"
    if not is_complete_demo(out):
        import shutil

        shutil.rmtree(out, ignore_errors=True)
        generate_demo_dataset(out, people=people, eval_people=0, photo_like=True,
                              progress=StderrProgress("photo-like demo data"))
    return out


def _line(name: str, met: bool, detail: str) -> str:
    return f"goal {name}: {'met' if met else 'NOT met'} ({detail})"


def goal_lines(result: dict) -> list[str]:
    """One line per goal of issue 13, from the rows of one run."""
    rows, lines = result["rows"], []
    ratios = {(r["loader"], r["num_workers"], r["batch_size"]): r["ratio_to_baseline"] for r in rows}
    grid = [(w, b) for (loader, w, b) in ratios if loader == "default" and w >= 1 and 16 <= b <= 128]
    if grid:
        worst = min(grid, key=lambda key: ratios["default", *key])
        lines.append(_line(f"default >= {DEFAULT_GOAL}x starter at workers >= 1, batch 16-128",
                           ratios["default", *worst] >= DEFAULT_GOAL,
                           f"worst {ratios['default', *worst]:.2f}x at workers={worst[0]} batch={worst[1]}; "
                           f"{len(grid)} grid points"))
    at_two = [ratio for (loader, w, _), ratio in ratios.items() if loader == "cached" and w == 2]
    if at_two:
        lines.append(_line(f"cached >= {CACHED_GOAL}x starter at workers=2", min(at_two) >= CACHED_GOAL,
                           f"{min(at_two):.2f}..{max(at_two):.2f}x"))
    cached = [ratio for (loader, _, _), ratio in ratios.items() if loader == "cached"]
    if cached:
        lines.append(_line(f"cached best >= {CACHED_BEST_GOAL}x starter", max(cached) >= CACHED_BEST_GOAL,
                           f"best {max(cached):.2f}x"))
    decoders = result.get("decoders")
    defaults = [r for r in rows if r["loader"] == "default"]
    if decoders and defaults:
        one_core = max(r["images_per_s"] for r in decoders["rows"]
                       if r["decoder"] == decoders["chosen"] and r["mode"] == decoders["mode"])
        best = max(defaults, key=lambda r: r["images_per_s"])
        ceiling = result["cpu_cores"] * one_core
        lines.append(_line(f"default >= {DECODE_SHARE_GOAL:.0%} of cores x one core's decode rate",
                           best["images_per_s"] >= DECODE_SHARE_GOAL * ceiling,
                           f"{best['images_per_s']:.0f} images/s at workers={best['num_workers']} "
                           f"batch={best['batch_size']} = {best['images_per_s'] / ceiling:.0%} of "
                           f"{result['cpu_cores']} x {one_core:.0f} ({decoders['chosen']} {decoders['mode']})"))
    return lines


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    people = DEFAULT_PEOPLE
    if "--people" in argv:
        at = argv.index("--people")
        people = int(argv[at + 1])
        del argv[at:at + 2]
    if "--batch-sizes" not in argv:
        argv += ["--batch-sizes", DEFAULT_BATCH_SIZES]
    if "--data-dir" not in argv and not any(a.startswith("--data-dir=") for a in argv):
        argv += ["--data-dir", str(photo_data_dir(people))]
    args = build_parser().parse_args(["bench-loader", *argv])
    if "MASKLAB_CACHE_DIR" not in os.environ:  # a fresh image cache: its build time is this run's figure
        os.environ["MASKLAB_CACHE_DIR"] = tempfile.mkdtemp(prefix="masklab-bench-cache-")
    try:
        result = sweep_from_args(args)
    except MaskLabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    result["goals"] = goal_lines(result)
    if args.json:
        print(json.dumps(result))
    else:
        print(format_result(result))
        print("\n".join(result["goals"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
