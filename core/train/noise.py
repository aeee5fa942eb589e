"""Label-noise finder: which training images does the model keep getting wrong?

The trainer records every training image's loss and prediction each epoch (during the training pass,
so it costs no extra forward pass). Images misclassified in more than `min_fraction` of the counted
epochs are suspects: a wrong folder (a "male" who is female, a mask photo named normal) or a wrong
age. They go to `suspects.csv` in the run; `write_suspects_to_relabel` turns a chosen subset into
rows of the data directory's relabel.csv, so the next run trains on the corrected labels.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from core.data.relabel import append_relabels
from core.errors import DataError
from core.labels import DEFAULT_AGE_EDGES, class_name, decode
from core.train.runs import CONFIG_FILE, SUSPECTS_FILE

SUSPECT_COLUMNS = ["path", "given_label", "given_name", "predicted_label", "predicted_name", "mean_loss",
                   "wrong_fraction", "epochs"]


class NoiseTracker:
    """Per-epoch loss and prediction of each training item (NaN / -1 where an item was not drawn)."""

    def __init__(self, num_items: int):
        self.num_items = num_items
        self.losses: list[np.ndarray] = []
        self.predictions: list[np.ndarray] = []

    def record_epoch(self, indices, losses, predictions) -> None:
        epoch_losses = np.full(self.num_items, np.nan, dtype=np.float32)
        epoch_predictions = np.full(self.num_items, -1, dtype=np.int16)
        indices = np.asarray(indices, dtype=np.int64)
        epoch_losses[indices] = np.asarray(losses, dtype=np.float32)
        epoch_predictions[indices] = np.asarray(predictions, dtype=np.int16)
        self.losses.append(epoch_losses)
        self.predictions.append(epoch_predictions)

    def state_dict(self) -> dict:
        import torch

        return {"num_items": self.num_items,
                "losses": torch.from_numpy(np.stack(self.losses)) if self.losses else None,
                "predictions": torch.from_numpy(np.stack(self.predictions).astype(np.int64)) if self.predictions else None}

    def load_state_dict(self, state: dict) -> None:
        self.num_items = int(state["num_items"])
        self.losses = list(state["losses"].numpy()) if state.get("losses") is not None else []
        self.predictions = list(state["predictions"].numpy().astype(np.int16)) if state.get("predictions") is not None else []

    def suspects(self, images: pd.DataFrame, skip_epochs: int = 1, min_fraction: float = 0.5,
                 age_edges=DEFAULT_AGE_EDGES) -> pd.DataFrame:
        """Images wrong in more than `min_fraction` of the epochs after the first `skip_epochs`, worst loss first.

        None until an epoch after the skipped ones is recorded: early on nearly everything is wrong, and
        listing it would bury the real mislabels.
        """
        if len(self.losses) <= skip_epochs:
            return pd.DataFrame(columns=SUSPECT_COLUMNS)
        losses = np.stack(self.losses[skip_epochs:])
        predictions = np.stack(self.predictions[skip_epochs:]).astype(np.int64)
        given = images["label"].to_numpy(dtype=np.int64)
        seen = predictions >= 0
        wrong = seen & (predictions != given[None, :])
        seen_count = seen.sum(axis=0)
        wrong_fraction = np.divide(wrong.sum(axis=0), seen_count, out=np.zeros(len(given)), where=seen_count > 0)
        chosen = np.flatnonzero((seen_count > 0) & (wrong_fraction > min_fraction))
        rows = []
        for item in chosen:
            wrong_predictions = predictions[wrong[:, item], item]
            predicted = int(np.bincount(wrong_predictions).argmax())  # the most frequent wrong answer
            rows.append({"path": images["path"].iloc[item], "given_label": int(given[item]),
                         "given_name": class_name(int(given[item]), age_edges), "predicted_label": predicted,
                         "predicted_name": class_name(predicted, age_edges),
                         "mean_loss": round(float(np.nanmean(losses[:, item])), 5),
                         "wrong_fraction": round(float(wrong_fraction[item]), 3), "epochs": int(seen_count[item])})
        table = pd.DataFrame(rows, columns=SUSPECT_COLUMNS)
        return table.sort_values("mean_loss", ascending=False, kind="stable").reset_index(drop=True)


def write_suspects(run_dir, suspects: pd.DataFrame) -> Path:
    path = Path(run_dir) / SUSPECTS_FILE
    tmp = path.with_name(f".{path.name}.tmp")
    suspects.to_csv(tmp, index=False)
    tmp.replace(path)
    return path


def read_suspects(run_dir) -> pd.DataFrame:
    """suspects.csv of a run (an empty table when the run has none yet)."""
    path = Path(run_dir) / SUSPECTS_FILE
    if not path.exists():
        return pd.DataFrame(columns=SUSPECT_COLUMNS)
    return pd.read_csv(path)


def representative_age(band: int, edges) -> int:
    """An age in years inside `band`, away from the edges so that nearby edge settings keep the band."""
    low, high = edges
    return (max(1, low - 10), (low + high) // 2, high + 10)[band]


# Attributes of the person rather than of one photo: a fix for one image is a fix for the whole folder.
PERSON_FIELDS = ("gender", "age")


def relabel_rows(suspect: dict, age_edges, person: bool = False) -> list[dict]:
    """relabel.csv rows turning the given label into the predicted one (only the attributes that differ).

    person=True writes gender and age fixes for the image's person folder (relabel.csv accepts a folder
    path), so all seven photos of that person change together; mask fixes always name the image.
    """
    given, predicted = decode(int(suspect["given_label"])), decode(int(suspect["predicted_label"]))
    rows = []
    for field, old, new in zip(("mask", "gender", "age"), given, predicted):
        if old != new:
            value = representative_age(new, age_edges) if field == "age" else new
            path = suspect["path"].rsplit("/", 1)[0] if person and field in PERSON_FIELDS else suspect["path"]
            rows.append({"path": path, "field": field, "value": value})
    return rows


def write_suspects_to_relabel(run_dir, data_dir, paths, person: bool = False) -> list[dict]:
    """Accept the model's label for the chosen suspect `paths`: rows appended to data_dir/relabel.csv.

    Returns the rows written. Mask fixes apply to the image; gender and age fixes to the image, or with
    person=True to its whole person folder. An age fix sets an age in the predicted band (relabel.csv
    stores ages in years).
    """
    import yaml

    suspects = read_suspects(run_dir)
    by_path = {row["path"]: row for row in suspects.to_dict("records")}
    missing = [p for p in paths if p not in by_path]
    if missing:
        raise DataError(f"{Path(run_dir) / SUSPECTS_FILE}: not a suspect of this run: {', '.join(missing[:5])}")
    config = yaml.safe_load((Path(run_dir) / CONFIG_FILE).read_text(encoding="utf-8")) or {}
    age_edges = tuple(config.get("data", {}).get("age_edges", DEFAULT_AGE_EDGES))
    rows = []
    for path in paths:
        for row in relabel_rows(by_path[path], age_edges, person=person):
            if row not in rows:  # two photos of one person give the same folder row
                rows.append(row)
    if rows:
        append_relabels(data_dir, rows)
    return rows
