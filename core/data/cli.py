"""CLI handlers for the data commands (demo-data, describe)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from core.data.demo import generate_demo_dataset
from core.data.describe import describe as describe_data, eval_corrupt_warning
from core.errors import DataError
from core.labels import DEFAULT_AGE_EDGES, check_age_edges
from core.progress import StderrProgress


def demo_data(args) -> int:
    if args.people < 1 or args.eval_people < 0:
        raise DataError("--people must be >= 1 and --eval-people >= 0")
    out = generate_demo_dataset(Path(args.out), people=args.people, eval_people=args.eval_people,
                                seed=args.seed, progress=StderrProgress("demo-data"))
    print(f"wrote {args.people * 7} train and {args.eval_people * 7} eval images to {out}", file=sys.stderr)
    return 0


def describe(args) -> int:
    edges = DEFAULT_AGE_EDGES if args.age_edges is None else args.age_edges
    summary = describe_data(args.data_dir, age_edges=check_age_edges(edges, name="--age-edges"),
                            progress=StderrProgress("checking images"),
                            eval_progress=StderrProgress("checking eval images"))
    for warning in (summary["eval_error"], eval_corrupt_warning(summary)):
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary))
        return 0
    print(format_summary(summary))
    return 0


def format_summary(summary: dict) -> str:
    lines = [f"data directory: {summary['data_dir']}",
             f"people: {summary['people']}   images: {summary['images']}   eval images: {summary['eval_images']}"
             f"   train.csv rows: {summary['train_csv_rows']}",
             f"age edges: {summary['age_edges'][0]}, {summary['age_edges'][1]}",
             "mask (wear/incorrect/not wear): " + " / ".join(map(str, summary["mask"])),
             "gender (male/female): " + " / ".join(map(str, summary["gender"])),
             "age bands: " + " / ".join(map(str, summary["age"])),
             "classes:"]
    for label, (name, count) in enumerate(zip(summary["class_names"], summary["classes"])):
        lines.append(f"  {label:2d} {name:32s} {count}")
    lines.append(f"skipped: {len(summary['skipped'])}")
    lines.extend(f"  {item['path']}: {item['reason']}" for item in summary["skipped"])
    if summary["eval_corrupt"]:
        lines.append(f"eval images that do not decode (predict stops on them): {len(summary['eval_corrupt'])}")
        lines.extend(f"  {item['path']}: {item['reason']}" for item in summary["eval_corrupt"])
    if summary["warnings"]:
        lines.append(f"warnings: {len(summary['warnings'])}")
        lines.extend(f"  {item['path']}: {item['reason']}" for item in summary["warnings"])
    return "\n".join(lines)
