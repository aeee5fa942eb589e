import pandas as pd
import pytest

from core.data.layout import scan_train
from core.data.split import split_by_profile
from core.errors import ConfigError, DataError
from core.labels import age_band

AGES = (20, 45, 70)  # one per competition band: <30, 30-59, >=60


def synthetic_images(people: int, ages=AGES) -> pd.DataFrame:
    rows = []
    for p in range(people):
        gender, age = p % 2, ages[(p // 2) % len(ages)]
        rows += [{"person": f"{p:06d}_x_{gender}_{age}", "id": f"{p:06d}", "gender_label": gender, "age": age,
                  "age_label": age_band(age), "path": f"p{p}/{i}"} for i in range(7)]
    return pd.DataFrame(rows)


def val_ids(images, ratio=0.2, seed=0) -> list[str]:
    return sorted(split_by_profile(images, ratio, seed=seed)[1]["id"].unique())


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


def test_row_order_does_not_change_the_split():
    images = synthetic_images(120)
    shuffled = images.sample(frac=1.0, random_state=5).reset_index(drop=True)
    assert val_ids(shuffled, seed=11) == val_ids(images, seed=11)


def test_every_group_of_two_people_is_validated():
    # 2 people per (gender, band): 20% of 2 rounds to 0, yet each group must give one and keep one.
    _, val = split_by_profile(synthetic_images(12), val_ratio=0.2, seed=0)
    assert val.groupby(["gender_label", "age_label"])["id"].nunique().tolist() == [1] * 6


def test_lone_people_are_pooled_by_age_band():
    # One 60+ man and one 60+ woman (the 30-person demo's case): one of them is validated.
    images = synthetic_images(10, ages=(20, 45))
    images = pd.concat([images, synthetic_images(2, ages=(70,)).assign(
        id=lambda t: "old" + t["id"], person=lambda t: "old" + t["person"])], ignore_index=True)
    _, val = split_by_profile(images, val_ratio=0.2, seed=0)
    assert val[val["age"] >= 60]["id"].nunique() == 1
    assert split_by_profile(images, val_ratio=0.0, seed=0)[1].empty


def test_split_uses_competition_bands_whatever_the_edges():
    # A run on edges 30/50 relabels the 50-59 year olds; the validation people must stay the same.
    images = synthetic_images(60, ages=(20, 45, 52, 56, 70))
    moved = images.assign(age_label=[age_band(age, (30, 50)) for age in images["age"]])
    for seed in range(5):
        assert val_ids(moved, seed=seed) == val_ids(images, seed=seed)


def test_one_id_in_two_folders_stays_on_one_side():
    images = synthetic_images(40)
    twin = images[images["id"] == "000003"].assign(person="000003_other_folder", gender_label=0,
                                                     path=lambda t: "twin/" + t["path"])
    images = pd.concat([images, twin], ignore_index=True)
    for seed in range(10):
        train, val = split_by_profile(images, 0.3, seed=seed)
        assert set(train["id"]).isdisjoint(val["id"])
        assert len(train) + len(val) == len(images)


def test_on_real_files(demo_data_dir):
    images = scan_train(demo_data_dir).images
    train, val = split_by_profile(images, 0.25, seed=0)
    assert set(train["person"]).isdisjoint(val["person"]) and len(val) > 0
    # The 12-person demo has one 60+ man and one 60+ woman: one of them is validated, on any edges.
    assert val[val["age"] >= 60]["id"].nunique() == 1
    moved = scan_train(demo_data_dir, age_edges=(30, 45)).images
    for seed in range(4):
        assert val_ids(moved, 0.25, seed) == val_ids(images, 0.25, seed)


def test_bad_ratio_and_missing_columns():
    with pytest.raises(ConfigError, match="val_ratio"):
        split_by_profile(synthetic_images(3), val_ratio=1.0)
    with pytest.raises(DataError, match="lacks column.*id"):
        split_by_profile(synthetic_images(3).drop(columns="id"))
