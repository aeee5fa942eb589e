"""`python -m core bench-loader`: images/s of the starter baseline, the default and the cached loader."""
from __future__ import annotations

import json
import sys

from core.errors import ConfigError
from core.machine import available_cores
from core.progress import StderrProgress


def load_pipeline_file(path):
    """An Albumentations pipeline from a file (A.save format), validated by the augmentation package."""
    from core.augment import load_pipeline

    return load_pipeline(path)


def check_grid(workers, batch_sizes) -> None:
    """ConfigError naming the option for a grid the sweep cannot run."""
    if not workers:
        raise ConfigError("--workers: give at least one number, e.g. --workers 0,1,2")
    if not batch_sizes:
        raise ConfigError("--batch-sizes: give at least one number, e.g. --batch-sizes 16,64")
    cores = available_cores()
    for count in workers:
        if count < 0:
            raise ConfigError(f"--workers: {count} is negative; use 0 (main process) or more")
        if count > cores:
            raise ConfigError(f"--workers: {count} is more than the {cores} CPU cores of this machine; "
                              f"use at most {cores}")
    for size in batch_sizes:
        if size < 1:
            raise ConfigError(f"--batch-sizes: {size} is below 1")


def sweep_from_args(args) -> dict:
    """Run the sweep `python -m core bench-loader` (or bench/loader.py) was asked for; progress on stderr."""
    from core.loader.bench import run_sweep

    if args.images < 1 or args.repeats < 1:
        raise ConfigError(f"--{'images' if args.images < 1 else 'repeats'}: must be at least 1")
    check_grid(args.workers, args.batch_sizes)
    pipeline = load_pipeline_file(args.pipeline) if args.pipeline else None
    return run_sweep(args.data_dir, pipeline, workers=args.workers, batch_sizes=args.batch_sizes,
                     max_images=args.images, model=None if args.model == "none" else args.model,
                     repeats=args.repeats, progress=StderrProgress("measuring"),
                     cache_progress=StderrProgress("building cache"))


def bench_loader(args) -> int:
    """`python -m core bench-loader`: `--json` prints one object on stdout, else a table."""
    result = sweep_from_args(args)
    print(json.dumps(result) if args.json else format_result(result))
    return 0


def format_result(result: dict) -> str:
    """The sweep as a plain-text table with the verdict underneath."""
    lines = [f"device {result['device']}, {result['images']} images, up to {result['max_images_per_row']} per row, "
             f"input {result['image_size'][0]}x{result['image_size'][1]}",
             f"{'loader':<9} {'workers':>7} {'batch':>5} {'images/s':>9} {'x baseline':>10} {'1st batch s':>11} "
             f"{'threads':>7} {'timed':>6}"]
    lines += [f"{r['loader']:<9} {r['num_workers']:>7} {r['batch_size']:>5} {r['images_per_s']:>9.1f} "
              f"{r['ratio_to_baseline']:>10.2f} {r['first_batch_s']:>11.3f} {r.get('torch_threads', ''):>7} "
              f"{r.get('timed_images', ''):>6}" for r in result["rows"]]
    for v in result["variants"]:
        lines.append(f"variant {v['loader']} workers={v['num_workers']} batch={v['batch_size']} "
                     f"pin_memory={v['pin_memory']} non_blocking={v['non_blocking']} "
                     f"persistent_workers={v['persistent_workers']} epochs={v['epochs']}: {v['images_per_s']:.1f} images/s")
    decoders = result.get("decoders")
    if decoders:
        lines += [f"decoder {r['decoder']:<3} {r['mode']:<5} on one core: {r['images_per_s']:7.1f} images/s "
                  f"(mean |difference| to the other library <= {r['max_mean_abs_diff']} levels)" for r in decoders["rows"]]
        lines.append(f"decoder chosen: {decoders['chosen']} ({'the faster; the pixels agree' if decoders['agree'] else 'the libraries disagree: pil, the reference'})")
    cache = result.get("cache")
    if cache:
        lines.append(f"cache: {'reused from an earlier run (opened' if cache.get('reused') else 'built'} in "
                     f"{cache['build_s']:.1f} s{')' if cache.get('reused') else ''} for {cache['images']} images; first epoch "
                     f"{cache['first_epoch_images_per_s']} images/s (build included), later epochs "
                     f"{cache['later_epochs_images_per_s']} images/s")
    lines += [f"model step {s['model']} batch {s['batch_size']}: {s['images_per_s']:.1f} images/s"
              for s in result["model_steps"]]
    lines += [f"note: {note}" for note in result.get("notes", [])]
    model_speed = result["model_images_per_s"]
    lines.append(f"bottleneck: {result['bottleneck']} (feeding {result['feed_images_per_s']:.0f} images/s, model "
                 + ("not timed)" if model_speed is None else f"{model_speed:.1f} images/s)"))
    lines.append("recommended: " + ", ".join(f"{key}={value}" for key, value in result["recommended"].items()))
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: python -m core bench-loader --data-dir DIR")
