"""Wall time and verdict of an A/B experiment: two pipelines x K folds with the demo model, repeated.

    python bench/experiment.py [--data-dir data/demo] [--folds 3] [--repeats 2] [--set key=value ...]

A = the default Resize + Normalize, B = the same with a horizontal flip and a small affine jitter.
Each repeat is a fresh experiment (training seed = repeat - 1, same folds) run in the foreground by core.experiments.queue.run_queue;
the script prints each repeat's wall time, per-variant OOF F1 and the paired verdict, then whether the
verdicts of the repeats agree (issue #14: ≤ 10 minutes on 2 CPU cores, the same verdict twice).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.config import load_config  # noqa: E402
from core.experiments.compare import compare_experiment  # noqa: E402
from core.experiments.queue import create_experiment, run_queue  # noqa: E402
from core.experiments.spec import make_spec  # noqa: E402


def jitter_pipeline(path: Path, image_size) -> str:
    import albumentations as A

    A.save(A.Compose([A.Resize(*image_size), A.HorizontalFlip(p=0.5),
                      A.Affine(scale=(0.95, 1.05), translate_percent=(-0.04, 0.04), rotate=(-8, 8), p=0.7),
                      A.Normalize()]), str(path), data_format="json")
    return str(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/demo.yaml")
    parser.add_argument("--data-dir", default=None, help="default: the config's data.dir")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--root", help="runs root (default: a temporary folder)")
    args = parser.parse_args()

    overrides = list(args.set) + ([f"data.dir={args.data_dir}"] if args.data_dir else [])
    base = load_config(args.config, overrides=overrides)
    root = Path(args.root or tempfile.mkdtemp(prefix="bench-experiment-"))
    root.mkdir(parents=True, exist_ok=True)
    pipeline = jitter_pipeline(root / "jitter.json", tuple(base.data.image_size))
    verdicts = []
    for repeat in range(1, args.repeats + 1):
        spec = make_spec(f"bench-ab-{repeat}-{int(time.time())}", base,
                         {"A": {}, "B": {"augment.train": pipeline}}, folds=args.folds, seeds=[repeat - 1])
        folder = create_experiment(spec, root=root)
        start = time.perf_counter()
        items = run_queue(folder, log=lambda text: print(f"  {text}", file=sys.stderr, flush=True))
        wall = time.perf_counter() - start
        result = compare_experiment(folder)
        rows = "  ".join(f"{row['variant']}: OOF F1 {row['oof_f1']:.4f}" if row["oof_f1"] is not None
                         else f"{row['variant']}: -" for row in result["variants"])
        failed = sum(item["state"] != "finished" for item in items)
        pair = result["pairs"][0] if result["pairs"] else None
        verdicts.append(None if pair is None else (pair["significant"], pair["difference"] > 0))
        print(f"repeat {repeat}: {len(items)} runs in {wall:.0f} s ({wall / 60:.1f} min){f', {failed} failed' if failed else ''}"
              f" | {rows} | {pair['verdict'] if pair else 'no verdict'}", flush=True)
    print(f"verdicts agree across repeats: {len(set(verdicts)) == 1}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
