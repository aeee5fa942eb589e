"""Reading the real layout, with the real set's quirks (tests/quirks.py)."""
import pandas as pd
import pytest

from core.data.layout import read_eval, scan_train
from core.errors import DataError
from tests.quirks import BAD_FOLDER, MISSING_EVAL_ID, QUIRK_AGES, TRUNCATED


def test_demo_scan_counts(demo_data_dir):
    scan = scan_train(demo_data_dir)
    assert len(scan.images) == 84
    assert scan.images["person"].nunique() == 12
    assert scan.skipped == []
    assert scan.images.groupby("person").size().eq(7).all()
    assert sorted(scan.images["mask"].value_counts().to_dict().items()) == [(0, 60), (1, 12), (2, 12)]
    assert len(scan.profiles) == 12


def test_quirks_survive(quirky_data_dir):
    scan = scan_train(quirky_data_dir)
    skipped = {item["path"]: item["reason"] for item in scan.skipped}
    # The truncated JPEG and the unparseable folder are reported and left out, nothing else.
    truncated = [p for p in skipped if p.endswith(TRUNCATED)]
    assert len(truncated) == 1 and "decode" in skipped[truncated[0]]
    assert skipped[f"train/images/{BAD_FOLDER}"].startswith("folder name must be")
    assert len(skipped) == 2
    assert len(scan.images) == 83
    # Mixed extensions are found; junk is not taken for images.
    paths = set(scan.images["path"])
    assert any(p.endswith("mask2.JPEG") for p in paths)
    assert any(p.endswith("normal.png") for p in paths)
    assert not any("/._" in p or "checkpoint" in p or "DS_Store" in p for p in paths)


def test_edge_ages_follow_configured_edges(quirky_data_dir):
    quirk_people = pd.read_csv(quirky_data_dir / "train" / "train.csv", dtype=str)["path"][:4].tolist()

    def bands(edges):
        profiles = scan_train(quirky_data_dir, age_edges=edges).profiles.set_index("person")
        return [int(profiles.loc[p, "age_label"]) for p in quirk_people]

    assert [int(p.rsplit("_", 1)[1]) for p in quirk_people] == list(QUIRK_AGES)
    assert bands((30, 60)) == [0, 1, 1, 2]
    assert bands((30, 58)) == [0, 1, 2, 2]


def test_labels_are_the_class_formula(demo_data_dir):
    images = scan_train(demo_data_dir).images
    assert (images["label"] == 6 * images["mask"] + 3 * images["gender_label"] + images["age_label"]).all()
    normal = images[images["path"].str.endswith("normal.jpg")]
    assert (normal["mask"] == 2).all()


def test_second_scan_uses_the_check_cache(demo_copy, monkeypatch):
    scan_train(demo_copy)
    calls = []
    import core.data.layout as layout
    monkeypatch.setattr(layout, "corruption_reason", lambda path: calls.append(path))
    scan_train(demo_copy)
    assert calls == []
    # A changed file is checked again, and found corrupt.
    victim = next((demo_copy / "train" / "images").iterdir()) / "mask1.jpg"
    victim.write_bytes(victim.read_bytes()[:500])
    monkeypatch.undo()
    scan = scan_train(demo_copy)
    assert [s["path"] for s in scan.skipped] == [str(victim.relative_to(demo_copy))]


def test_missing_train_dir_is_one_clear_error(tmp_path):
    with pytest.raises(DataError, match="train/images folder not found"):
        scan_train(tmp_path)
    with pytest.raises(DataError, match="data directory not found"):
        scan_train(tmp_path / "nope")


def test_train_csv_without_columns(demo_copy):
    (demo_copy / "train" / "train.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match=r"train\.csv: missing column\(s\) id, gender, race, age, path"):
        scan_train(demo_copy)


def test_folder_missing_on_disk_is_reported(demo_copy):
    csv = demo_copy / "train" / "train.csv"
    profiles = pd.read_csv(csv, dtype=str)
    extra = {"id": "999999", "gender": "male", "race": "Asian", "age": "40", "path": "999999_male_Asian_40"}
    pd.concat([profiles, pd.DataFrame([extra])]).to_csv(csv, index=False)
    scan = scan_train(demo_copy)
    assert {"path": "train/images/999999_male_Asian_40",
            "reason": "listed in train/train.csv but the folder is missing"} in scan.skipped


def test_eval_in_info_order(demo_data_dir):
    info = pd.read_csv(demo_data_dir / "eval" / "info.csv")
    table = read_eval(demo_data_dir)
    assert list(table["ImageID"]) == list(info["ImageID"])
    assert len(table) == 28


def test_eval_missing_file_named(quirky_data_dir):
    with pytest.raises(DataError, match=f"1 listed image\\(s\\) missing: eval/images/{MISSING_EVAL_ID}"):
        read_eval(quirky_data_dir)
