import pandas as pd
import pytest

from core.data.layout import scan_train
from core.data.split import split_by_profile
from core.errors import ConfigError


def synthetic_images(people: int) -> pd.DataFrame:
    rows = []
    for p in range(people):
        gender, age = p % 2, (p // 2) % 3
        rows += [{"person": f"p{p}", "gender_label": gender, "age_label": age, "path": f"p{p}/{i}"} for i in range(7)]
    return pd.DataFrame(rows)


def test_no_person_on_both_sides_and_nothing_lost():
    images = synthetic_images(300)
    train, val = split_by_profile(images, val_ratio=0.2, seed=1)
    assert set(train["person"]).isdisjoint(set(val["person"]))
    assert len(train) + len(val) == len(images)
    assert val["person"].nunique() == 60


def test_stratified_by_gender_and_age():
    images = synthetic_images(600)
    _, val = split_by_profile(images, val_ratio=0.2, seed=3)
    per_stratum = val.groupby(["gender_label", "age_label"])["person"].nunique()
    assert per_stratum.tolist() == [20] * 6


def test_reproducible_by_seed_and_seed_matters():
    images = synthetic_images(100)
    a = split_by_profile(images, 0.2, seed=7)[1]["person"].unique().tolist()
    b = split_by_profile(images, 0.2, seed=7)[1]["person"].unique().tolist()
    c = split_by_profile(images, 0.2, seed=8)[1]["person"].unique().tolist()
    assert a == b and a != c


def test_on_real_files(demo_data_dir):
    images = scan_train(demo_data_dir).images
    train, val = split_by_profile(images, 0.25, seed=0)
    assert set(train["person"]).isdisjoint(val["person"]) and len(val) > 0


def test_bad_ratio():
    with pytest.raises(ConfigError, match="val_ratio"):
        split_by_profile(synthetic_images(3), val_ratio=1.0)
