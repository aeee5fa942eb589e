"""Label-noise finder: which training images does the model keep getting wrong, more than their class explains?

The trainer records every training image's loss and prediction each epoch (during the training pass,
so it costs no extra forward pass). Being wrong often is not enough: the rare classes (60+, incorrect
mask) are wrong often because they are hard. An image is a suspect when it is misclassified in more than
`min_fraction` of the counted epochs AND its mean loss is far above the typical loss of its own given class
(`class_evidence`: a robust z-score per class, at least EVIDENCE_MIN), so a hard class's images are measured
against each other. `suspects.csv` in the run lists every often-wrong image with its evidence, strongest
first (the Runs page shows the suspects and, on request, the weak ones); `write_suspects_to_relabel` turns the
values the user chose for some of them into rows of the data directory's relabel.csv, so the next run
trains on the corrected labels. `python bench/noise.py` measures precision and recall on planted noise.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.relabel import append_relabels
from core.errors import DataError
from core.labels import DEFAULT_AGE_EDGES, class_name, decode
from core.train.runs import SUSPECTS_FILE

SUSPECT_COLUMNS = ["path", "given_label", "given_name", "predicted_label", "predicted_name", "evidence",
                   "mean_loss", "wrong_fraction", "epochs"]
# A suspect's mean loss is at least this many class spreads above its class's median (a robust z-score: about
# 1 image in 700 of a normal class would pass by chance).
EVIDENCE_MIN = 3.0
# Classes with fewer training images than this are measured against all images: one or two images have no
# "typical" loss of their own. From three on the class's median counts (the demo's rarest classes have four).
MIN_CLASS_IMAGES = 3
MAD_TO_SD = 1.4826  # median absolute deviation -> standard deviation of a normal distribution
# The smallest class spread used (nats of loss): a class the model has learnt has almost no spread, and a
# tiny loss above it would otherwise count as strong evidence. Chosen on bench/noise.py (0.1-0.5 tried).
MIN_SPREAD = 0.25


def class_evidence(mean_loss, given) -> np.ndarray:
    """How far each image's mean loss is above the median of its given class, in the class's spread (1.4826 x
    median absolute deviation, at least MIN_SPREAD); NaN where an image has no loss.

    A class the model finds hard has a high median, so its images are not suspects just for being hard.
    """
    mean_loss = np.asarray(mean_loss, dtype=np.float64)
    given = np.asarray(given, dtype=np.int64)
    evidence = np.full(len(mean_loss), np.nan)
    valid = ~np.isnan(mean_loss)
    if not valid.any():
        return evidence

    def centre_spread(losses):
        centre = float(np.median(losses))
        return centre, MAD_TO_SD * float(np.median(np.abs(losses - centre)))

    overall = centre_spread(mean_loss[valid])
    for label in np.unique(given[valid]):
        members = valid & (given == label)
        centre, spread = overall if members.sum() < MIN_CLASS_IMAGES else centre_spread(mean_loss[members])
        evidence[members] = (mean_loss[members] - centre) / max(spread, MIN_SPREAD)
    return evidence


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
                 age_edges=DEFAULT_AGE_EDGES, evidence_min: float | None = None) -> pd.DataFrame:
        """Images wrong in more than `min_fraction` of the epochs after the first `skip_epochs` whose class
        evidence is at least `evidence_min` (None, what the trainer writes to suspects.csv: every often-wrong
        image, so a reader can choose the cut; the Runs page shows EVIDENCE_MIN and up), strongest evidence first.

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
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an image never drawn has no mean loss: NaN
            mean_loss = np.nanmean(losses, axis=0)
        evidence = class_evidence(mean_loss, given)
        flagged = (seen_count > 0) & (wrong_fraction > min_fraction)
        if evidence_min is not None:
            flagged &= np.nan_to_num(evidence, nan=-np.inf) >= evidence_min
        rows = []
        for item in np.flatnonzero(flagged):
            wrong_predictions = predictions[wrong[:, item], item]
            predicted = int(np.bincount(wrong_predictions).argmax())  # the most frequent wrong answer
            rows.append({"path": images["path"].iloc[item], "given_label": int(given[item]),
                         "given_name": class_name(int(given[item]), age_edges), "predicted_label": predicted,
                         "predicted_name": class_name(predicted, age_edges),
                         "evidence": round(float(evidence[item]), 3),
                         "mean_loss": round(float(mean_loss[item]), 5),
                         "wrong_fraction": round(float(wrong_fraction[item]), 3), "epochs": int(seen_count[item])})
        table = pd.DataFrame(rows, columns=SUSPECT_COLUMNS)
        return table.sort_values(["evidence", "mean_loss"], ascending=False, kind="stable").reset_index(drop=True)


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


# Attributes of the person rather than of one photo: a fix for one image is a fix for the whole folder.
PERSON_FIELDS = ("gender", "age")
FIELDS = ("mask", "gender", "age")


def relabel_rows(suspect: dict, age_edges=DEFAULT_AGE_EDGES, person: bool = False, values: dict | None = None) -> list[dict]:
    """relabel.csv rows for one suspect: the values the user chose (`values`: {field: mask 0..2, gender 0..1 or
    age in years; None = keep}), or without `values` the model's mask and gender where they differ from the given.

    An age is written only when chosen: the model names a band, and any year in it would be made up.
    person=True writes gender and age fixes for the image's person folder (relabel.csv accepts a folder
    path), so all seven photos of that person change together; mask fixes always name the image.
    """
    given = dict(zip(FIELDS, decode(int(suspect["given_label"]))))
    if values is None:
        values = dict(zip(FIELDS[:2], decode(int(suspect["predicted_label"]))[:2]))
    rows = []
    for field in FIELDS:
        value = values.get(field)
        if value is None or (field != "age" and int(value) == given[field]):
            continue
        path = suspect["path"].rsplit("/", 1)[0] if person and field in PERSON_FIELDS else suspect["path"]
        rows.append({"path": path, "field": field, "value": int(value)})
    return rows


def write_suspects_to_relabel(run_dir, data_dir, paths, person: bool = False, values: dict | None = None) -> list[dict]:
    """Fixes for the chosen suspect `paths` appended to data_dir/relabel.csv; returns the rows written.

    `values` maps a path to the values the user chose for it ({field: value or None}); a path without them
    takes the model's mask and gender (never an age: see relabel_rows). Mask fixes apply to the image; gender
    and age fixes to the image, or with person=True to its whole person folder.
    """
    suspects = read_suspects(run_dir)
    by_path = {row["path"]: row for row in suspects.to_dict("records")}
    missing = [p for p in paths if p not in by_path]
    if missing:
        raise DataError.of("errors_train.not_a_suspect", path=Path(run_dir) / SUSPECTS_FILE,
                           paths=", ".join(missing[:5]))
    rows = []
    for path in paths:
        chosen = None if values is None else values.get(path)
        for row in relabel_rows(by_path[path], person=person, values=chosen):
            if row not in rows:  # two photos of one person give the same folder row
                rows.append(row)
    if rows:
        append_relabels(data_dir, rows)
    return rows


def still_suspect(suspects: pd.DataFrame, images: pd.DataFrame) -> pd.Series:
    """Per suspect: True while the data (relabel.csv applied, `images` labelled with the run's age edges) still
    gives it the label the run saw; False once a fix changed it, or when the image is gone."""
    current = images.set_index("path")["label"]
    now = suspects["path"].map(current)
    return now.notna() & (now == suspects["given_label"])
