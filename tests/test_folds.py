"""K-fold by person (core/data/folds.py) on a scanned demo dataset."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from core.config import load_config
from core.data.demo import generate_demo_dataset
from core.data.folds import image_folds, person_folds, train_val_split
from core.data.layout import scan_train
from core.errors import ConfigError
from core.labels import age_band


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    out = tmp_path_factory.mktemp("folds") / "data"
    generate_demo_dataset(out, people=60, eval_people=2, seed=3)
    return scan_train(out).images


def test_every_person_in_one_fold_and_each_fold_validates_once(images):
    config = load_config(overrides=["data.folds=5"])
    seen = []
    for fold in range(5):
        config.data.fold = fold
        train, val = train_val_split(images, config.data)
        assert not set(train["person"]) & set(val["person"])
        assert len(train) + len(val) == len(images)
        seen.extend(val["path"])
    assert sorted(seen) == sorted(images["path"])  # every image validated exactly once over the folds


def test_folds_are_stratified_by_gender_and_competition_age_band(images):
    folds = person_folds(images, 4, seed=7)
    people = images.groupby("person").first()
    strata = people["gender"].astype(str) + people["age"].map(lambda a: age_band(int(a), (30, 60))).astype(str)
    for stratum in strata.unique():
        counts = np.bincount(folds[strata.index[strata == stratum]], minlength=4)
        assert counts.max() - counts.min() <= 1, (stratum, counts)
    sizes = np.bincount(folds, minlength=4)
    assert sizes.max() - sizes.min() <= 1


def test_folds_ignore_the_configured_age_edges(images):
    """An age-edge variant must be validated on the same people as the baseline (paired comparison)."""
    relabeled = images.assign(age_label=images["age"].map(lambda a: age_band(int(a), (25, 58))))
    assert (image_folds(images, 5, 1) == image_folds(relabeled, 5, 1)).all()


def test_same_seed_same_folds_in_another_process(images, tmp_path):
    images.to_csv(tmp_path / "images.csv", index=False)
    code = ("import pandas as pd; from core.data.folds import person_folds; "
            f"print(person_folds(pd.read_csv({str(tmp_path / 'images.csv')!r}), 5, 11).to_json())")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert other == person_folds(images, 5, 11).to_json()
    assert not person_folds(images, 5, 11).equals(person_folds(images, 5, 12))


def test_plain_split_when_folds_is_0_or_1(images):
    from core.data.split import split_by_profile

    config = load_config(overrides=["data.folds=1", "data.fold=0"])
    train, val = train_val_split(images, config.data)
    expected_train, expected_val = split_by_profile(images, config.data.val_ratio, config.data.split_seed)
    assert list(val["path"]) == list(expected_val["path"]) and list(train["path"]) == list(expected_train["path"])


def test_final_fit_trains_on_everyone(images):
    train, val = train_val_split(images, load_config(overrides=["data.folds=5"]).data, final=True)
    assert len(train) == len(images) and len(val) == 0


def test_fold_out_of_range_and_too_many_folds_are_one_line_errors(images):
    with pytest.raises(ConfigError, match=r"data.fold: 5 is out of range for data.folds=5; use 0..4"):
        train_val_split(images, load_config(overrides=["data.folds=5", "data.fold=5"]).data)
    with pytest.raises(ConfigError, match="data.folds: 20 folds but only 10 people"):
        person_folds(images[images["person"].isin(sorted(images["person"].unique())[:10])], 20)
