"""Benchmark the data scan (`describe`): layout walk + corrupt-image check, cold and then from the cache.

    python bench/scan.py [--people 2700] [--eval-people 0] [--data-dir DIR] [--workers N]

Without --data-dir it first generates a demo set of --people people (7 images each; the real set is
2,700 people = 18,900 images) and reports the generation time per image, so a smaller --people can be
scaled up. "Cold" means an empty check cache (a fresh $MASKLAB_CACHE_DIR for this run); the files
themselves are likely in the OS page cache either way. The cached/cold ratio compares two scans of
the same folder in this same run.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
# Before core is imported: the scan cache for this run only, so the first scan is really cold.
os.environ["MASKLAB_CACHE_DIR"] = tempfile.mkdtemp(prefix="masklab-bench-scan-")

from core.data.demo import generate_demo_dataset  # noqa: E402
from core.data.describe import describe  # noqa: E402
from core.machine import available_cores  # noqa: E402
from core.progress import StderrProgress  # noqa: E402


def timed_describe(data_dir: Path) -> tuple[float, dict]:
    start = time.perf_counter()
    summary = describe(data_dir, progress=StderrProgress("checking images"),
                       eval_progress=StderrProgress("checking eval images"))
    return time.perf_counter() - start, summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, help="an existing data directory (default: generate a demo set)")
    parser.add_argument("--people", type=int, default=2700, help="people to generate (7 images each)")
    parser.add_argument("--eval-people", type=int, default=0, help="eval people to generate (7 images each)")
    parser.add_argument("--workers", type=int, default=None, help="generator processes (default: all CPUs)")
    args = parser.parse_args(argv)

    workdir = None
    data_dir = args.data_dir
    if data_dir is None:
        workdir = Path(tempfile.mkdtemp(prefix="masklab-bench-data-"))
        data_dir = workdir / "data"
        start = time.perf_counter()
        generate_demo_dataset(data_dir, people=args.people, eval_people=args.eval_people, seed=0,
                              progress=StderrProgress("generating"), workers=args.workers)
        seconds = time.perf_counter() - start
        made = 7 * (args.people + args.eval_people)
        print(f"generated {made} images in {seconds:.1f} s: {1000 * seconds / made:.2f} ms/image "
              f"(18,900 train images would take ~{18900 * seconds / made:.0f} s at this rate)")
    try:
        cold_s, summary = timed_describe(data_dir)
        cached_s, _ = timed_describe(data_dir)
        files = summary["images"] + len(summary["skipped"]) + summary["eval_images"]
        print(f"data: {data_dir} ({summary['people']} people, {summary['images']} train + "
              f"{summary['eval_images']} eval images, {len(summary['skipped'])} skipped), {available_cores()} CPUs")
        print(f"{'scan':8s} {'seconds':>8s} {'images/s':>10s}")
        for name, seconds in (("cold", cold_s), ("cached", cached_s)):
            print(f"{name:8s} {seconds:8.2f} {files / seconds:10.0f}")
        print(f"cached/cold time ratio: {cached_s / cold_s:.3f} (cached is {cold_s / cached_s:.1f}x faster)")
    finally:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(os.environ["MASKLAB_CACHE_DIR"], ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
