"""`python -m core <command>`: the CLI contract of DESIGN.md. Pages call the same functions.

Each command's work lives in its package; this file only parses arguments and turns a
MaskLabError into one line on stderr and a non-zero exit.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from core.errors import MaskLabError


def int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, got {text!r}") from None


class OneLineParser(argparse.ArgumentParser):
    """Usage mistakes end as one `error:` line naming the option, like every other bad input (DESIGN.md)."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m core", description="Mask Lab command line")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    demo = commands.add_parser("demo-data", help="write the synthetic demo dataset in the real layout")
    demo.add_argument("--out", required=True, help="folder to create (must not hold a dataset yet)")
    demo.add_argument("--people", type=int, default=150, help="people in train (7 images each)")
    demo.add_argument("--eval-people", type=int, default=30, help="people in eval (7 images each)")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(handler="core.data.cli:demo_data")

    describe = commands.add_parser("describe", help="counts, classes and skipped files of a data directory")
    describe.add_argument("--data-dir", required=True)
    describe.add_argument("--age-edges", type=int_list, help="e.g. 30,58 (default: the competition's)")
    describe.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    describe.set_defaults(handler="core.data.cli:describe")

    bench_augment = commands.add_parser("bench-augment", help="time each step of an augmentation pipeline")
    bench_augment.add_argument("--data-dir", required=True)
    bench_augment.add_argument("--pipeline", required=True, help="Albumentations file (A.save, JSON or YAML)")
    bench_augment.add_argument("--images", type=int, default=32)
    bench_augment.add_argument("--json", action="store_true")
    bench_augment.set_defaults(handler="core.augment.cli:bench_augment")

    # bench/loader.py parses its command line with this same subparser (plus its goal lines on output).
    bench_loader = commands.add_parser("bench-loader", help="DataLoader throughput against a plain baseline")
    bench_loader.add_argument("--data-dir", required=True)
    bench_loader.add_argument("--pipeline", help="Albumentations file; default Resize + flip + Normalize")
    bench_loader.add_argument("--workers", type=int_list, default=[0, 1, 2])
    bench_loader.add_argument("--batch-sizes", type=int_list, default=[16, 64])
    bench_loader.add_argument("--images", type=int, default=512, help="images timed per row")
    bench_loader.add_argument("--repeats", type=int, default=2, help="best of N per row (other load only slows)")
    bench_loader.add_argument("--model", default="resnet18", choices=["resnet18", "small_cnn", "none"],
                              help="the model whose training step is timed against feeding")
    bench_loader.add_argument("--json", action="store_true")
    bench_loader.set_defaults(handler="core.loader.cli:bench_loader")

    faces = commands.add_parser("faces", help="face boxes into faceboxes.csv: detect (resumable), import, or --bench")
    faces.add_argument("--data-dir", required=True)
    faces.add_argument("--import", dest="import_file", metavar="FILE",
                       help="add an outside detector's boxes (columns path,x0,y0,x1,y1,score,source)")
    faces.add_argument("--bench", action="store_true", help="hit rate and IoU against the demo's true boxes")
    faces.add_argument("--images", type=int, help="--bench: only the first N images")
    faces.add_argument("--workers", type=int, default=1, help="detector processes")
    faces.add_argument("--json", action="store_true")
    faces.set_defaults(handler="core.faces.cli:faces")

    train = commands.add_parser("train", help="train a model; writes runs/<name>/",
                                epilog="exit status: 0 finished, 130 cancelled (SIGTERM/SIGINT; resume with --resume), "
                                       "2 bad setting or data, 1 other failure")
    train.add_argument("--config", help="experiment YAML (e.g. configs/demo.yaml)")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override any config key, e.g. --set train.epochs=3")
    train.add_argument("--resume", metavar="RUN_DIR", help="continue a cancelled or failed run")
    train.set_defaults(handler="core.train.cli:train")

    predict = commands.add_parser("predict", help="write a validated submission.csv for the eval set")
    predict.add_argument("--run", required=True, metavar="RUN_DIR")
    predict.add_argument("--data-dir", required=True)
    predict.add_argument("--out", help="default: RUN_DIR/submission.csv")
    predict.add_argument("--checkpoint", default="best", help="best, last or averaged (train.average)")
    predict.add_argument("--weights", default="auto", help="raw, ema, or auto (EMA where it scored higher)")
    predict.add_argument("--tta", nargs="?", const="flip", default="none", metavar="CHOICE",
                         help="test-time augmentation: none, flip (the default of a bare --tta), scales, "
                              "flip+scales or crops")
    predict.set_defaults(handler="core.train.cli:predict")

    from core.experiments.cli import add_parser as add_experiment_parser

    add_experiment_parser(commands, OneLineParser, int_list)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    module_name, function_name = args.handler.split(":")
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
        return int(handler(args) or 0)
    except MaskLabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
