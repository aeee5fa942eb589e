"""Reproduce the real competition set's quirks on a copy of the demo dataset.

- mixed extensions: one person's mask2 as .JPEG, normal as .png (a real PNG)
- macOS/Jupyter junk: ._mask1.jpg, .DS_Store, .ipynb_checkpoints/ with an image inside
- a truncated JPEG
- ages 29, 30, 59, 60 (folder names and train.csv agree)
- a folder whose name does not parse
- an info.csv row whose file is missing
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from PIL import Image

QUIRK_AGES = (29, 30, 59, 60)
TRUNCATED = "mask4.jpg"
BAD_FOLDER = "not_a_person_folder"
MISSING_EVAL_ID = "0000000000missing.jpg"


def make_quirky_dataset(source: Path, out: Path) -> Path:
    shutil.copytree(source, out)
    train_csv = out / "train" / "train.csv"
    profiles = pd.read_csv(train_csv, dtype=str)
    images = out / "train" / "images"

    # Re-age the first four people to the band edges, renaming folder and CSV row together.
    for row_index, age in zip(range(4), QUIRK_AGES):
        row = profiles.iloc[row_index]
        new_name = f"{row['id']}_{row['gender']}_{row['race']}_{age}"
        (images / row["path"]).rename(images / new_name)
        profiles.loc[row_index, ["age", "path"]] = [str(age), new_name]
    profiles.to_csv(train_csv, index=False)

    person = images / profiles.loc[0, "path"]
    (person / "mask2.jpg").rename(person / "mask2.JPEG")
    Image.open(person / "normal.jpg").save(person / "normal.png")
    (person / "normal.jpg").unlink()
    (person / "._mask1.jpg").write_bytes(b"\x00\x05\x16\x07 macOS resource fork")
    (person / ".DS_Store").write_bytes(b"Bud1")
    (person / ".ipynb_checkpoints").mkdir()
    shutil.copy(person / "mask1.jpg", person / ".ipynb_checkpoints" / "mask1-checkpoint.jpg")
    (images / ".DS_Store").write_bytes(b"Bud1")

    victim = images / profiles.loc[1, "path"] / TRUNCATED
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])

    bad = images / BAD_FOLDER
    bad.mkdir()
    shutil.copy(person / "mask1.jpg", bad / "mask1.jpg")

    info_csv = out / "eval" / "info.csv"
    info = pd.read_csv(info_csv, dtype=str)
    info = pd.concat([info, pd.DataFrame([{"ImageID": MISSING_EVAL_ID, "ans": "0"}])], ignore_index=True)
    info.to_csv(info_csv, index=False)
    return out
