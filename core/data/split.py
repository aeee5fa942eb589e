"""Train/validation split by person: one person's 7 images never sit on both sides.

Splitting images at random would leak: the model would see the same face in train and validation
and the validation score would flatter it. People are stratified by (gender, age band).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.errors import ConfigError


def split_by_profile(images: pd.DataFrame, val_ratio: float = 0.2, seed: int = 42) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train images, validation images); same seed and data give the same split."""
    if not 0.0 <= val_ratio < 1.0:
        raise ConfigError(f"data.val_ratio: must be in [0, 1), got {val_ratio}")
    people = images.groupby("person", sort=True)[["gender_label", "age_label"]].first()
    rng = np.random.default_rng(seed)
    val_people = []
    for _, group in people.groupby(["gender_label", "age_label"], sort=True):
        names = group.index.to_numpy()
        rng.shuffle(names)
        # Round per stratum so that even rare strata (60+ men) get validation people when large enough.
        count = int(round(len(names) * val_ratio))
        if val_ratio > 0 and count == 0 and len(names) >= 3:
            count = 1
        val_people.extend(names[:count])
    is_val = images["person"].isin(set(val_people))
    return images[~is_val].reset_index(drop=True), images[is_val].reset_index(drop=True)
