"""Reading the real layout, with the real set's quirks (tests/quirks.py)."""
import json
import os
import shutil

import pandas as pd
import pytest

from core.data.cli import format_summary
from core.data.describe import describe, eval_corrupt_warning
from core.data.images import read_image
from core.data.layout import check_images, list_person_images, read_eval, scan_train
from core.data.split import split_by_profile
from core.errors import DataError
from tests.quirks import (BAD_FOLDER, MISSING_EVAL_ID, QUIRK_AGES, SHARED_ID, TRUNCATED, add_name_quirks,
                          write_oversized_png)


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
    assert scan.csv_rows == 13 and scan.images["person"].nunique() == 12  # the spec shows 13 rows


def test_eval_in_info_order(demo_data_dir):
    info = pd.read_csv(demo_data_dir / "eval" / "info.csv")
    table = read_eval(demo_data_dir)
    assert list(table["ImageID"]) == list(info["ImageID"])
    assert len(table) == 28


def test_eval_missing_file_named(quirky_data_dir):
    with pytest.raises(DataError, match=f"1 listed image\\(s\\) missing: eval/images/{MISSING_EVAL_ID}"):
        read_eval(quirky_data_dir)


def first_person(data_dir):
    return sorted((data_dir / "train" / "images").iterdir())[0]


def test_broken_symlink_is_skipped_not_a_crash(demo_copy):
    person = first_person(demo_copy)
    (person / "mask1.jpg").unlink()
    (person / "mask1.jpg").symlink_to(person / "gone.jpg")  # dangling, as after a partial copy
    scan = scan_train(demo_copy)
    rel = f"train/images/{person.name}/mask1.jpg"
    skipped = {item["path"]: item["reason"] for item in scan.skipped}
    assert list(skipped) == [rel] and "broken link" in skipped[rel]
    assert len(scan.images) == 83 and rel not in set(scan.images["path"])
    assert {"path": f"train/images/{person.name}", "reason": "no readable file for: mask1 (see skipped)"} in scan.warnings
    # Fixed on disk: it is checked again (an unreadable file is never cached as good or bad).
    (person / "mask1.jpg").unlink()
    shutil.copy(person / "mask2.jpg", person / "mask1.jpg")
    assert len(scan_train(demo_copy).images) == 84


def test_a_folder_that_cannot_be_listed_is_skipped(tmp_path):
    # Deleted between the listing of train/images and the reading of the folder (or unreadable).
    found, skipped = list_person_images(tmp_path / "000001_male_Asian_40", "train/images/000001_male_Asian_40")
    assert found is None
    assert skipped[0]["path"] == "train/images/000001_male_Asian_40"
    assert skipped[0]["reason"].startswith("cannot list the folder")


def test_a_corrupt_duplicate_never_hides_a_good_image(demo_copy):
    person = first_person(demo_copy)
    rel = f"train/images/{person.name}"
    # normal.jpeg sorts before normal.jpg: the first name is corrupt, the second decodes.
    (person / "normal.jpeg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    scan = scan_train(demo_copy)
    assert f"{rel}/normal.jpg" in set(scan.images["path"]) and len(scan.images) == 84
    assert [item["path"] for item in scan.skipped] == [f"{rel}/normal.jpeg"]
    assert "decode" in scan.skipped[0]["reason"]
    assert not [w for w in scan.warnings if w["path"] == rel]


def test_two_good_duplicates_keep_the_first_name(demo_copy):
    person = first_person(demo_copy)
    rel = f"train/images/{person.name}"
    shutil.copy(person / "normal.jpg", person / "normal.jpeg")
    scan = scan_train(demo_copy)
    assert f"{rel}/normal.jpeg" in set(scan.images["path"]) and len(scan.images) == 84
    assert scan.skipped == [{"path": f"{rel}/normal.jpg", "reason": f"duplicate of {rel}/normal.jpeg"}]


def test_only_corrupt_copies_warn_that_the_image_is_missing(demo_copy):
    person = first_person(demo_copy)
    rel = f"train/images/{person.name}"
    (person / "normal.jpg").write_bytes(b"garbage")
    (person / "normal.png").write_bytes(b"garbage too")
    scan = scan_train(demo_copy)
    assert len(scan.images) == 83
    assert sorted(item["path"] for item in scan.skipped) == [f"{rel}/normal.jpg", f"{rel}/normal.png"]
    assert {"path": rel, "reason": "no readable file for: normal (see skipped)"} in scan.warnings


def test_missing_and_unexpected_images(demo_copy):
    person = first_person(demo_copy)
    rel = f"train/images/{person.name}"
    (person / "mask3.jpg").unlink()
    shutil.copy(person / "mask1.jpg", person / "mask6.jpg")
    scan = scan_train(demo_copy)
    assert len(scan.images) == 83
    assert {"path": rel, "reason": "missing image(s): mask3"} in scan.warnings
    assert len(scan.skipped) == 1 and scan.skipped[0]["path"] == f"{rel}/mask6.jpg"
    assert scan.skipped[0]["reason"].startswith("unexpected image name; expected mask1, mask2")


def test_train_csv_is_cross_checked_with_the_folders(demo_copy):
    csv_path = demo_copy / "train" / "train.csv"
    profiles = pd.read_csv(csv_path, dtype=str)
    disagreeing = profiles.loc[0, "path"]
    other_gender = "male" if profiles.loc[0, "gender"] == "female" else "female"
    profiles.loc[0, ["gender", "age"]] = [other_gender, "99"]
    unlisted = profiles.loc[1, "path"]
    profiles.drop(index=1).to_csv(csv_path, index=False)
    scan = scan_train(demo_copy)
    warnings = {item["path"]: item["reason"] for item in scan.warnings}
    assert warnings == {
        f"train/images/{disagreeing}": f"train.csv says {other_gender} 99; the folder name is used",
        f"train/images/{unlisted}": "folder not listed in train/train.csv; labels taken from its name"}
    # The folder name wins: labels are unchanged, and the unlisted person is still used.
    assert len(scan.images) == 84 and scan.csv_rows == 11
    assert scan.profiles.set_index("person").loc[disagreeing, "age"] != 99


def test_check_progress_ends_once(demo_copy):
    rels = list(scan_train(demo_copy, check=False).images["path"])
    for _ in ("cold", "cached"):
        calls = []
        check_images(demo_copy, rels, progress=lambda done, total: calls.append((done, total)))
        assert calls.count((84, 84)) == 1 and calls[-1] == (84, 84)
        assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_eval_lists_every_missing_file(demo_copy):
    eval_images = sorted((demo_copy / "eval" / "images").iterdir())
    for path in eval_images[:25]:
        path.unlink()
    with pytest.raises(DataError) as raised:
        read_eval(demo_copy)
    message = str(raised.value)
    assert "25 listed image(s) missing" in message and "\n" not in message
    assert all(f"eval/images/{path.name}" in message for path in eval_images[:25])
    assert "more" not in message


def test_describe_checks_eval_images(demo_copy):
    victim = sorted((demo_copy / "eval" / "images").iterdir())[3]
    victim.write_bytes(victim.read_bytes()[:300])
    summary = describe(demo_copy)
    assert summary["eval_images"] == 28 and summary["skipped"] == []
    assert [item["path"] for item in summary["eval_corrupt"]] == [f"eval/images/{victim.name}"]
    assert "decode" in summary["eval_corrupt"][0]["reason"]
    warning = eval_corrupt_warning(summary)
    assert warning.startswith("1 eval image(s) do not decode, so predict will stop on them")
    assert f"eval/images/{victim.name}" in warning



def test_describe_checks_eval_images_through_the_cache(demo_copy, monkeypatch):
    describe(demo_copy)
    import core.data.layout as layout
    calls = []
    monkeypatch.setattr(layout, "corruption_reason", lambda path: calls.append(path))
    assert describe(demo_copy)["eval_corrupt"] == [] and calls == []


def test_names_that_are_not_utf8_are_skipped_and_shown_escaped(demo_copy):
    added = add_name_quirks(demo_copy)
    scan = scan_train(demo_copy)
    skipped = {item["path"]: item["reason"] for item in scan.skipped}
    assert set(skipped) == {added["folder"], added["file"]}
    assert all("not valid UTF-8" in reason for reason in skipped.values())
    # Everything else is read: 12 people + the two shared-id folders, nothing with a bad name.
    assert len(scan.images) == 84 + 14 and scan.images["person"].nunique() == 14
    summary = describe(demo_copy)
    json.dumps(summary).encode("utf-8")  # the CLI's --json and the pages need every string encodable
    assert added["folder"] + ": name is not valid UTF-8" in format_summary(summary)


def test_one_person_id_in_two_folders_is_a_warning_naming_both(demo_copy):
    added = add_name_quirks(demo_copy)
    shared = [w for w in scan_train(demo_copy).warnings if SHARED_ID in w["reason"]]
    assert len(shared) == 1
    first, second = added["twins"]
    assert shared[0]["path"] == first and second in shared[0]["reason"]
    assert "split keeps them on the same side" in shared[0]["reason"]
    assert [w["reason"] for w in describe(demo_copy)["warnings"] if w["path"] == first] == [shared[0]["reason"]]
    images = scan_train(demo_copy).images
    for seed in range(8):
        train, val = split_by_profile(images, 0.3, seed=seed)
        assert (SHARED_ID in set(train["id"])) != (SHARED_ID in set(val["id"]))


def test_eval_folder_with_names_that_are_not_utf8(demo_copy):
    eval_images = demo_copy / "eval" / "images"
    listed = sorted(eval_images.iterdir())[0]
    os.rename(listed, os.fsencode(eval_images) + b"/x\xff.jpg")  # renamed in another encoding
    with pytest.raises(DataError) as raised:
        read_eval(demo_copy)
    message = str(raised.value)
    assert f"1 listed image(s) missing: eval/images/{listed.name}" in message
    assert "not valid UTF-8, perhaps these: x\\xff.jpg" in message
    message.encode("utf-8")  # printable as it is
    # A stray file with such a name, not listed in info.csv, changes nothing.
    os.rename(os.fsencode(eval_images) + b"/x\xff.jpg", listed)
    shutil.copy(listed, os.fsencode(eval_images) + b"/y\xfe.jpg")
    assert len(read_eval(demo_copy)) == 28


def test_a_symlink_loop_as_data_directory_is_one_clear_error(tmp_path):
    loop = tmp_path / "data"
    loop.symlink_to(loop)
    for read in (scan_train, read_eval, describe):
        with pytest.raises(DataError, match=r"data: a symbolic link loop .*point the data directory at the real folder"):
            read(loop)
    # One level down: train/images itself loops.
    data = tmp_path / "real"
    (data / "train").mkdir(parents=True)
    (data / "train" / "images").symlink_to(data / "train" / "images")
    with pytest.raises(DataError, match=r"train/images: the train/images folder is a link that leads nowhere"):
        scan_train(data)


def test_an_image_over_the_pixel_limit_is_corrupt_with_the_reason(demo_copy):
    eval_victim = sorted((demo_copy / "eval" / "images").iterdir())[2]
    write_oversized_png(eval_victim)
    train_victim = first_person(demo_copy) / "mask3.jpg"
    write_oversized_png(train_victim)
    summary = describe(demo_copy)
    assert [item["path"] for item in summary["eval_corrupt"]] == [f"eval/images/{eval_victim.name}"]
    assert summary["eval_corrupt"][0]["reason"].startswith("too large to decode (Image size (400000000 pixels)")
    skipped = {item["path"]: item["reason"] for item in summary["skipped"]}
    assert list(skipped) == [str(train_victim.relative_to(demo_copy))]
    assert "exceeds limit" in skipped[str(train_victim.relative_to(demo_copy))]
    with pytest.raises(DataError, match=f"{eval_victim.name}: too large to decode .*shrink or replace the file$"):
        read_image(eval_victim)
