"""Train/validation split by person id: one person's images never sit on both sides.

Splitting images at random would leak: the model would see the same face in train and validation
and the validation score would flatter it. The unit is the person id, not the folder, so an id that
appears in two folders (a data-entry slip in the real set) stays on one side.

People are stratified by (gender, age band) on the competition's bands whatever edges a run trains
with: the validation set, and so its score, must not move when the edges do.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.errors import ConfigError, DataError
from core.labels import COMPETITION_AGE_EDGES, age_band

REQUIRED_COLUMNS = ("id", "gender_label", "age")


def split_by_profile(images: pd.DataFrame, val_ratio: float = 0.2, seed: int = 42) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train images, validation images); the same seed and data give the same split on any machine,
    whatever the order of the rows.

    Every (gender, age band) group of two people or more gives at least one to validation and keeps at
    least one for training, so even a small set validates its rare groups; people alone in their group
    are pooled by age band (one 60+ man and one 60+ woman: one of them is validated).
    """
    if not 0.0 <= val_ratio < 1.0:
        raise ConfigError.of("errors_data.val_ratio", val_ratio=val_ratio)
    missing = [column for column in REQUIRED_COLUMNS if column not in images.columns]
    if missing:
        raise DataError.of("errors_data.split_columns", columns=", ".join(missing))
    # Sorted first, so which row of a person is "first" never depends on file or row order.
    ordered = images.sort_values(["id", "path"] if "path" in images.columns else ["id"], kind="stable")
    people = ordered.groupby("id", sort=True)[["gender_label", "age"]].first()
    people["stratum_age"] = [age_band(int(age), COMPETITION_AGE_EDGES) for age in people["age"]]
    rng = np.random.default_rng(seed)
    val_ids = []
    lone = []
    for _, group in people.groupby(["gender_label", "stratum_age"], sort=True):
        if len(group) == 1:
            lone.append(group)
        else:
            val_ids.extend(pick_validation(group.index, val_ratio, rng))
    # A group of one cannot give a validation person and keep a training one; pooled by age band (the
    # one 60+ man with the one 60+ woman) the band is still validated.
    if lone:
        for _, group in pd.concat(lone).groupby("stratum_age", sort=True):
            val_ids.extend(pick_validation(group.index, val_ratio, rng))
    is_val = images["id"].isin(set(val_ids))
    return images[~is_val].reset_index(drop=True), images[is_val].reset_index(drop=True)


def pick_validation(ids, val_ratio: float, rng: np.random.Generator) -> list:
    """The ids of one group that go to validation: its share, but at least one and never all when the
    group has two or more."""
    ids = np.asarray(ids).copy()
    rng.shuffle(ids)
    count = int(round(len(ids) * val_ratio))
    if val_ratio > 0 and len(ids) >= 2:
        count = min(max(count, 1), len(ids) - 1)
    return ids[:count].tolist()
