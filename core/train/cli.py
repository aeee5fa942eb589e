"""`python -m core train` and `python -m core predict` handlers (core/__main__.py parses the arguments)."""
from __future__ import annotations

import json
import os
import sys

from core.config import load_config
from core.progress import StderrProgress

# Exit status of `python -m core train`: 0 finished, 2 a bad setting or data (one line on stderr), 1 any
# other failure, 130 cancelled (SIGTERM/SIGINT, as a shell reports Ctrl-C): a script can tell a cancel,
# which it may resume, from a failure.
CANCELLED_EXIT = 130


def train(args) -> int:
    """Start a run from --config/--set, or continue one with --resume RUN_DIR (--set may extend train.epochs).

    Returns CANCELLED_EXIT when the run was cancelled."""
    from core.train.checkpoints import resume_config
    from core.train.trainer import Trainer

    if args.resume:
        config = resume_config(args.resume, overrides=args.set)
    else:
        config = load_config(args.config, overrides=args.set)
    trainer = Trainer(config, resume_dir=args.resume)
    run_dir = trainer.run()
    if int(os.environ.get("RANK", "0")) == 0:
        print(run_dir)
    return CANCELLED_EXIT if trainer.cancelled else 0


def predict(args) -> int:
    from core.train.predict import predict as run_predict

    result = run_predict(args.run, data_dir=args.data_dir, out=args.out, checkpoint=getattr(args, "checkpoint", "best"),
                         tta=getattr(args, "tta", "none"), weights=getattr(args, "weights", "auto"),
                         progress=StderrProgress("predict"))
    if getattr(args, "json", False):
        print(json.dumps(result))
    else:
        print(f"wrote {result['path']} ({result['rows']} rows, {result['checkpoint']} checkpoint of epoch "
              f"{result['epoch']}, {result['weights']} weights, TTA {result['tta']})", file=sys.stderr)
        print(result["path"])
    return 0
