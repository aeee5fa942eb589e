"""How long an experiment will take, from a step rate measured on this machine (a finished run's epochs)."""
from __future__ import annotations

from pathlib import Path

from core.train import runs


def measured_rate(root=None) -> dict | None:
    """{seconds_per_image, run, model, image_size} from the newest finished run under the runs root (its
    experiments included); None when no run has finished yet. Seconds per training image per epoch,
    validation included, of that run's model and image size."""
    from core.config import load_config
    from core.errors import ConfigError

    root = runs.runs_root(root)
    candidates = [path.parent for path in root.glob("*/status.json")]
    candidates += [path.parent for path in root.glob("experiments/*/runs/*/status.json")]
    best = None
    for run_dir in candidates:
        status = runs.read_status(run_dir)
        if status.get("state") != "finished" or not status.get("steps_per_epoch"):
            continue
        mtime = (run_dir / runs.STATUS_FILE).stat().st_mtime
        if best is None or mtime > best[0]:
            best = (mtime, run_dir, status)
    if best is None:
        return None
    _, run_dir, status = best
    epochs = [record["epoch_s"] for record in runs.read_metrics(run_dir, "epoch") if record.get("epoch_s")]
    try:
        config = load_config(Path(run_dir) / runs.CONFIG_FILE)
    except ConfigError:
        return None
    if not epochs:
        return None
    images = int(status["steps_per_epoch"]) * config.loader.batch_size
    return {"seconds_per_image": sum(epochs) / len(epochs) / max(1, images), "run": Path(run_dir).name,
            "model": config.model.name, "image_size": list(config.data.image_size)}


def estimate_seconds(people_images: int, folds: int, runs_count: int, epochs: int, rate: dict,
                     val_ratio: float = 0.2) -> float:
    """Seconds for `runs_count` runs of `epochs` epochs on a dataset of `people_images` images, one at a time."""
    train_share = 1 - (1 / folds if folds > 1 else val_ratio)
    return runs_count * epochs * people_images * train_share * rate["seconds_per_image"]
