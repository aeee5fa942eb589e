"""An experiment's folder, its queue of runs, and the runner that works through it.

Layout of `<runs root>/experiments/<name>/`:

- `experiment.yaml`  the spec (base config, variants, folds, seeds); never rewritten.
- `queue.json`       one item per run: {index, name, variant, fold, seed, state, run_dir, error, pid,
                     started_at, ended_at}; state is queued | running | finished | failed | cancelled.
                     Only the runner writes it (atomically).
- `runner.json`      {pid, started_at} of the runner process while it works.
- `runner.log`       the runner's and its runs' console output.
- `runs/<variant>-f<fold>-s<seed>/`  ordinary run directories (core.train.runs), plus `val_probs.npz`.
- `cancel`           present while a cancel is asked for.

The runner (`python -m core experiment run NAME`) starts one item process per free slot — one slot per
visible GPU, or one on a CPU machine — and waits for them. An item process trains its run (or resumes it
after a restart) and then predicts its validation images (core.experiments.oof). The item's state is
read from files (the run's status.json and val_probs.npz), not from exit codes, so a runner restarted
after a crash adopts the runs it left, and a crashed run is marked failed while the queue goes on.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from core.config import find_param
from core.errors import ConfigError
from core.i18n import t
from core.experiments.spec import (ExperimentSpec, check_item_config, check_name, fold_indices, item_config,
                                   item_name, spec_from_dict)
from core.train import runs
from core.train.launch import pid_alive

EXPERIMENTS_DIR = "experiments"
SPEC_FILE = "experiment.yaml"
QUEUE_FILE = "queue.json"
RUNNER_FILE = "runner.json"
RUNNER_LOG = "runner.log"
CANCEL_FILE = "cancel"
VAL_PROBS_FILE = "val_probs.npz"
REPO_ROOT = Path(__file__).resolve().parents[2]
ITEM_STATES = ("queued", "running", "finished", "failed", "cancelled")


def experiments_root(root=None) -> Path:
    return runs.runs_root(root) / EXPERIMENTS_DIR


def experiment_dir(name_or_path, root=None) -> Path:
    """The folder of experiment NAME (under the runs root), or the folder given as a path."""
    path = Path(name_or_path)
    if (path / SPEC_FILE).exists():
        return path
    folder = experiments_root(root) / check_name(str(name_or_path))
    if not (folder / SPEC_FILE).exists():
        raise ConfigError.of("errors_experiments.not_found", name=name_or_path, root=experiments_root(root))
    return folder


def create_experiment(spec: ExperimentSpec, root=None) -> Path:
    """Check every item's config, then write the experiment folder and its queue. Nothing is queued when
    any item is invalid; an existing experiment of that name is never overwritten."""
    folder = experiments_root(root) / spec.name
    items = []
    for variant in spec.variants:
        for seed in spec.seeds:
            for fold in fold_indices(spec):
                config = item_config(spec, variant, fold, seed, folder / "runs")
                items.append({"index": len(items), "name": item_name(variant, fold, seed), "variant": variant,
                              "fold": fold, "seed": seed, "state": "queued", "run_dir": str(folder / "runs" /
                              item_name(variant, fold, seed)), "error": None, "pid": None,
                              "started_at": None, "ended_at": None})
        check_item_config(config, variant)  # pipelines do not depend on fold or seed
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        folder.mkdir()
    except FileExistsError:
        raise ConfigError.of("errors_experiments.exists", name=spec.name, folder=folder) from None
    (folder / SPEC_FILE).write_text(yaml.safe_dump(spec.to_dict(), sort_keys=False), encoding="utf-8")
    write_queue(folder, items)
    return folder


def read_spec(folder) -> ExperimentSpec:
    path = Path(folder) / SPEC_FILE
    try:
        return spec_from_dict(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError.of("errors_experiments.unreadable", path=path, error=error) from None


def read_queue(folder) -> list[dict]:
    try:
        return json.loads((Path(folder) / QUEUE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []


def write_queue(folder, items: list[dict]) -> None:
    runs.write_json_atomic(Path(folder) / QUEUE_FILE, items)


def runner_pid(folder) -> int | None:
    """The pid of this experiment's runner if one is working now."""
    try:
        pid = json.loads((Path(folder) / RUNNER_FILE).read_text(encoding="utf-8"))["pid"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return pid if pid_alive(pid) else None


def visible_gpus() -> list[str]:
    """CUDA device ids to hand out one per run ([] on a CPU machine)."""
    import torch

    if not torch.cuda.is_available():
        return []
    listed = [part.strip() for part in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if part.strip()]
    return listed or [str(index) for index in range(torch.cuda.device_count())]


def item_outcome(item: dict) -> tuple[str, str | None]:
    """(state, error) of an item whose process has ended, read from its run directory."""
    run_dir = Path(item["run_dir"])
    status = runs.read_status(run_dir)
    if status.get("state") == "finished" and (run_dir / VAL_PROBS_FILE).exists():
        return "finished", None
    if status.get("state") == "cancelled":
        return "cancelled", None
    error = status.get("error") or _last_error_line(run_dir.parent.parent / RUNNER_LOG, item["name"])
    # Kept in queue.json, written by the runner (the CLI's language): the page shows it as written.
    return "failed", error or t("experiments.item_ended")


def _last_error_line(log: Path, name: str) -> str | None:
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    errors = [line for line in lines if line.startswith(f"[{name}] error:")]
    return errors[-1].split("error:", 1)[1].strip() if errors else None


def start_runner(folder) -> int:
    """Start the runner as a detached process (it outlives the page); returns its pid. A runner already
    working on this experiment is reused."""
    folder = Path(folder)
    pid = runner_pid(folder)
    if pid:
        return pid
    (folder / CANCEL_FILE).unlink(missing_ok=True)
    with open(folder / RUNNER_LOG, "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "core", "experiment", "run", str(folder)], cwd=REPO_ROOT,
                                   env=dict(os.environ, PYTHONUNBUFFERED="1"), stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    return process.pid


def cancel_experiment(folder) -> list[str]:
    """Ask the runner to stop: running items get SIGTERM (their runs save and are marked cancelled);
    queued ones stay queued. Returns the names of the items signalled."""
    folder = Path(folder)
    (folder / CANCEL_FILE).write_text("cancel\n", encoding="utf-8")
    signalled = []
    for item in read_queue(folder):
        if item["state"] == "running" and item.get("pid") and pid_alive(item["pid"]):
            try:
                os.killpg(int(item["pid"]), signal.SIGTERM)  # the item and its loader workers
            except (ProcessLookupError, PermissionError):
                continue
            signalled.append(item["name"])
    return signalled


def run_queue(folder, log=None, poll_s: float = 0.5) -> list[dict]:
    """Work through the queue until every item has ended or a cancel is asked for; returns the queue.

    Cancelled and failed items of an earlier attempt are queued again (a run resumes from its last.pt).
    """
    folder = Path(folder)
    log = log or (lambda text: print(text, flush=True))
    other = runner_pid(folder)
    if other and other != os.getpid():
        raise ConfigError.of("errors_experiments.runner_busy", name=folder.name, pid=other)
    (folder / CANCEL_FILE).unlink(missing_ok=True)
    runs.write_json_atomic(folder / RUNNER_FILE, {"pid": os.getpid(), "started_at": runs.now_iso()})
    items = read_queue(folder)
    for item in items:
        if item["state"] in ("failed", "cancelled"):
            item.update(state="queued", error=None)
    write_queue(folder, items)
    slots = visible_gpus() or [None]
    running: dict[int, tuple[subprocess.Popen | None, str | None]] = {}
    for item in items:  # adopt items whose process outlived an earlier runner
        if item["state"] == "running":
            if item.get("pid") and pid_alive(item["pid"]):
                running[item["index"]] = (None, None)
            else:
                item["state"], item["error"] = item_outcome(item)
                if item["state"] != "finished":
                    item.update(state="queued", error=None)
    try:
        while True:
            for index, (process, slot) in list(running.items()):
                item = items[index]
                alive = process.poll() is None if process is not None else pid_alive(item["pid"])
                if not alive:
                    del running[index]
                    item["state"], item["error"] = item_outcome(item)
                    item["ended_at"] = runs.now_iso()
                    log(f"[{item['name']}] {item['state']}" + (f": {item['error']}" if item["error"] else ""))
            cancelling = (folder / CANCEL_FILE).exists()
            free = [slot for slot in slots if slot not in {s for _, s in running.values()}]
            pending = [item for item in items if item["state"] == "queued"]
            while free and pending and not cancelling:
                item, slot = pending.pop(0), free.pop(0)
                process = _start_item(folder, item, slot)
                running[item["index"]] = (process, slot)
                item.update(state="running", pid=process.pid, started_at=runs.now_iso(), error=None)
                log(f"[{item['name']}] started (pid {process.pid}" + (f", GPU {slot}" if slot else "") + ")")
            write_queue(folder, items)
            if not running and (cancelling or not pending):
                break
            time.sleep(poll_s)
    finally:
        write_queue(folder, items)
        (folder / RUNNER_FILE).unlink(missing_ok=True)
    return items


def _start_item(folder: Path, item: dict, slot: str | None) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if slot is not None:
        env["CUDA_VISIBLE_DEVICES"] = slot
    log = open(folder / RUNNER_LOG, "ab")
    try:
        # Its own process group, so a cancel reaches the run's loader workers too.
        return subprocess.Popen([sys.executable, "-m", "core", "experiment", "item", str(folder), str(item["index"])],
                                cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    finally:
        log.close()


def run_item(folder, index: int, log=None) -> Path:
    """Train item `index` (resuming its run if one was started), then write its validation probabilities."""
    from core.experiments.oof import write_val_probs
    from core.train.trainer import train_run

    folder = Path(folder)
    spec = read_spec(folder)
    item = read_queue(folder)[index]
    run_dir = Path(item["run_dir"])
    status = runs.read_status(run_dir)
    if status.get("state") != "finished":
        if (run_dir / runs.LAST_CHECKPOINT).exists():
            from core.train.checkpoints import resume_config

            run_dir = train_run(resume_config(run_dir), resume_dir=run_dir, log=log)
        else:
            if run_dir.exists():  # started but died before its first save: start it again from scratch
                import shutil

                shutil.rmtree(run_dir)
            config = item_config(spec, item["variant"], item["fold"], item["seed"], folder / "runs")
            run_dir = train_run(config, log=log)
    if runs.read_status(run_dir).get("state") == "finished":
        write_val_probs(run_dir)
    return run_dir


def experiment_progress(folder) -> dict:
    """{state, counts per item state, items}; state is running, finished, cancelled, failed or queued."""
    folder = Path(folder)
    items = read_queue(folder)
    counts = {state: sum(item["state"] == state for item in items) for state in ITEM_STATES}
    if runner_pid(folder):
        state = "running"
    elif items and counts["finished"] == len(items):
        state = "finished"
    elif counts["cancelled"] or (folder / CANCEL_FILE).exists():
        state = "cancelled"
    elif counts["failed"] and not counts["queued"]:
        state = "failed"
    else:
        state = "queued"
    for item in items:  # live epoch of running items, for the page and `status`
        status = runs.read_status(item["run_dir"])
        item["epoch"], item["epochs"] = status.get("epoch"), status.get("epochs")
        item["best_val_f1"] = status.get("best_val_f1")
    return {"name": folder.name, "state": state, "counts": counts, "items": items}


def final_fit_config(folder, variant: str, epochs: int | None = None):
    """The config of a variant's final fit: every person trains (train.final_fit, no folds), for `epochs`
    or else the median best epoch of the variant's finished runs (compare's final_epochs), run
    `<variant>-final` beside the experiment's runs, seed of the first run."""
    from core.experiments.compare import final_epochs

    folder = Path(folder)
    spec = read_spec(folder)
    if variant not in spec.variants:
        raise ConfigError.of("errors_experiments.final_variant_unknown", variant=variant, name=spec.name,
                             variants=", ".join(spec.variants))
    if epochs is None:
        epochs = final_epochs([item for item in read_queue(folder) if item["variant"] == variant])
        if epochs is None:
            raise ConfigError.of("errors_experiments.final_no_epochs", variant=variant, name=spec.name)
    epochs = find_param("train.epochs").validate(epochs, where="--epochs")
    config = item_config(spec, variant, 0, spec.seeds[0], folder / "runs")
    config.data.folds, config.data.fold = 0, 0
    config.train.final_fit, config.train.epochs, config.run.name = True, epochs, f"{variant}-final"
    return config


CONFIGS_DIR = REPO_ROOT / "configs"  # the Training page's "Start from" lists the files here


def save_variant_config(folder, variant: str, configs_dir=None) -> Path:
    """Write a variant's config as a plain Training config (the plain split, seed of the first run):
    `configs/<experiment>-<variant>.yaml`, which the Training page offers as a starting point."""
    from core.config import save_config

    folder = Path(folder)
    spec = read_spec(folder)
    if variant not in spec.variants:
        raise ConfigError.of("errors_experiments.variant_unknown", variant=variant, name=spec.name,
                             variants=", ".join(spec.variants))
    config = item_config(spec, variant, 0, spec.seeds[0], "runs")
    config.data.folds, config.data.fold, config.run.root, config.run.name = 0, 0, "runs", ""
    path = Path(configs_dir or CONFIGS_DIR) / f"{spec.name}-{variant}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    save_config(config, path)
    return path
