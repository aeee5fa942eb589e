"""K-fold split by person: each person's 7 images sit in exactly one fold, and every fold gets its share of
each (gender, age band) stratum.

Strata use the competition's bands (30 and 60) whatever `data.age_edges` says, so that an age-edge
variant of an experiment is validated on the same people as the baseline: a paired comparison needs the
same validation images on both sides. The assignment depends only on the sorted person names and the seed
(numpy's PCG64), so the same data and seed give the same folds on any machine.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.split import split_by_profile
from core.errors import ConfigError
from core.labels import DEFAULT_AGE_EDGES, age_band


def person_folds(images: pd.DataFrame, folds: int, seed: int = 42) -> pd.Series:
    """Fold number (0..folds-1) of each person, indexed by person name."""
    if folds < 2:
        raise ConfigError.of("errors_data.folds_too_few", folds=folds)
    people = images.groupby("person", sort=True).agg(gender=("gender", "first"), age=("age", "first"))
    if len(people) < folds:
        raise ConfigError.of("errors_data.folds_too_many", folds=folds, people=len(people))
    strata = people["gender"].astype(str) + "/" + people["age"].astype(int).map(
        lambda age: age_band(age, DEFAULT_AGE_EDGES)).astype(str)
    rng = np.random.default_rng(seed)
    assigned = {}
    sizes = np.zeros(folds, dtype=np.int64)
    # Deal each stratum's shuffled people round-robin, starting at the folds that are smallest so far:
    # every fold gets floor or ceil of each stratum's share, and the folds' totals stay within one person.
    for stratum in sorted(strata.unique()):
        names = strata.index[strata == stratum].to_numpy()
        rng.shuffle(names)
        order = np.lexsort((rng.permutation(folds), sizes))  # smallest folds first, ties broken by the seed
        for position, name in enumerate(names):
            fold = int(order[position % folds])
            assigned[name] = fold
            sizes[fold] += 1
    return pd.Series(assigned, name="fold").sort_index()


def image_folds(images: pd.DataFrame, folds: int, seed: int = 42) -> np.ndarray:
    """Fold number of each image row (its person's fold)."""
    return images["person"].map(person_folds(images, folds, seed)).to_numpy(dtype=np.int64)


def check_fold(folds: int, fold: int) -> None:
    if folds > 1 and not 0 <= fold < folds:
        raise ConfigError.of("errors_data.fold_range", fold=fold, folds=folds, last=folds - 1)


def train_val_split(images: pd.DataFrame, data_config, final: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train images, validation images) of a run: fold `data.fold` of `data.folds` held out when folds > 1,
    else split_by_profile's plain split. `final=True`: every person trains, the validation set is empty."""
    if final:
        return images.reset_index(drop=True), images.iloc[0:0].reset_index(drop=True)
    folds, fold = int(getattr(data_config, "folds", 0) or 0), int(getattr(data_config, "fold", 0) or 0)
    if folds <= 1:
        return split_by_profile(images, data_config.val_ratio, data_config.split_seed)
    check_fold(folds, fold)
    is_val = image_folds(images, folds, data_config.split_seed) == fold
    return images[~is_val].reset_index(drop=True), images[is_val].reset_index(drop=True)
