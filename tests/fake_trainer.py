#!/usr/bin/env python3
"""A stand-in for `python -m core train` that writes the run-directory contract quickly.

Invoked as `python fake_trainer.py train --config FILE` or `... train --resume RUN_DIR`. Behaviour knobs
come from the config's `fake:` section: epochs, steps, step_s (seconds per step), fail (exit with an
error before writing anything).
"""
import json
import os
import signal
import sys
import time
from pathlib import Path

import yaml

args = sys.argv[1:]
if "--resume" in args:
    run_dir = Path(args[args.index("--resume") + 1])
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    status = json.loads((run_dir / "status.json").read_text())
    start_epoch = status["epoch"]
else:
    config = yaml.safe_load(Path(args[args.index("--config") + 1]).read_text())
    fake = config.get("fake", {})
    if fake.get("fail"):
        print("error: model.name: 'nope' is not one of small_cnn, resnet18", file=sys.stderr)
        sys.exit(2)
    run_dir = Path(config["run"]["root"]) / config["run"]["name"]
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    start_epoch = 0
fake = config.get("fake", {})
epochs, steps, step_s = fake.get("epochs", 2), fake.get("steps", 4), fake.get("step_s", 0.05)
status = {"state": "running", "pid": os.getpid(), "epoch": start_epoch, "epochs": epochs, "step": 0,
          "steps_per_epoch": steps, "best_val_f1": None, "best_epoch": None, "device": "cpu",
          "model": "small_cnn", "started_at": time.time(), "updated_at": time.time(), "error": None}


def write_status(**changes):
    status.update(changes, updated_at=time.time())
    tmp = run_dir / "status.json.tmp"
    tmp.write_text(json.dumps(status))
    tmp.replace(run_dir / "status.json")


def on_term(signum, frame):
    (run_dir / "last.pt").write_bytes(b"fake")
    write_status(state="cancelled", pid=None)
    sys.exit(0)


signal.signal(signal.SIGTERM, on_term)
write_status()
log = open(run_dir / "metrics.jsonl", "a")
for epoch in range(start_epoch + 1, epochs + 1):
    for step in range(1, steps + 1):
        time.sleep(step_s)
        log.write(json.dumps({"kind": "step", "epoch": epoch, "step": step, "steps_per_epoch": steps,
                              "loss": 3.0 / (epoch + step), "lr": 0.01, "elapsed_s": 0.1 * step}) + "\n")
        log.flush()
        write_status(step=step)
    f1 = 0.3 * epoch
    confusion = [[0] * 18 for _ in range(18)]
    confusion[0][0], confusion[0][1], confusion[1][1] = 3, 1, 2
    log.write(json.dumps({"kind": "epoch", "epoch": epoch, "train_loss": 1.0 / epoch, "train_acc": 0.5,
                          "train_f1": 0.4, "val_loss": 1.2 / epoch, "val_acc": 0.6, "val_f1": f1,
                          "per_class_f1": [0.5] * 18, "confusion": confusion, "lr": 0.01,
                          "elapsed_s": epoch * 1.0, "epoch_s": 1.0}) + "\n")
    log.flush()
    (run_dir / "last.pt").write_bytes(b"fake")
    (run_dir / "best.pt").write_bytes(b"fake")
    write_status(epoch=epoch, step=0, best_val_f1=f1, best_epoch=epoch)
write_status(state="finished", pid=None)
