"""Reproduce the real competition set's quirks on a copy of the demo dataset.

- mixed extensions: one person's mask2 as .JPEG, normal as .png (a real PNG)
- macOS/Jupyter junk: ._mask1.jpg, .DS_Store, .ipynb_checkpoints/ with an image inside
- a truncated JPEG
- ages 29, 30, 59, 60 (folder names and train.csv agree)
- a folder whose name does not parse
- an info.csv row whose file is missing
and, on request (`add_name_quirks`, `write_oversized_png`): names that are not UTF-8, one person id in
two folders, an image over PIL's pixel limit.
"""
from __future__ import annotations

import os
import shutil
import struct
import zlib
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


# Name quirks, kept apart from make_quirky_dataset so its counts stay as they are.
NOT_UTF8_FOLDER = b"000901_female_Asian_4\xff5"          # as shown: 000901_female_Asian_4\xff5
NOT_UTF8_FILE = b"mask1\xfe.jpg"                          # in a good person's folder
SHARED_ID = "000902"                                      # two folders, two genders, one id


def add_name_quirks(data_dir: Path) -> dict[str, str]:
    """Add a folder and an image whose names are not UTF-8, and one person id used by two folders.
    Returns how each new path is shown (bad bytes as \\xNN) and the two shared-id folders."""
    images = Path(data_dir) / "train" / "images"
    source = sorted(p for p in images.iterdir() if p.is_dir() and p.name[0].isdigit())[0]
    twins = [f"{SHARED_ID}_female_Asian_45", f"{SHARED_ID}_male_Asian_45"]
    for twin in twins:
        shutil.copytree(source, images / twin)
    train_csv = Path(data_dir) / "train" / "train.csv"
    rows = [{"id": SHARED_ID, "gender": twin.split("_")[1], "race": "Asian", "age": "45", "path": twin} for twin in twins]
    pd.concat([pd.read_csv(train_csv, dtype=str), pd.DataFrame(rows)]).to_csv(train_csv, index=False)
    # os.fsdecode keeps the bad bytes (as surrogates), so the names on disk are exactly these bytes.
    shutil.copytree(source, images / os.fsdecode(NOT_UTF8_FOLDER))
    shutil.copy(source / "mask1.jpg", source / os.fsdecode(NOT_UTF8_FILE))
    return {"folder": "train/images/000901_female_Asian_4\\xff5",
            "file": f"train/images/{source.name}/mask1\\xfe.jpg",
            "twins": [f"train/images/{twin}" for twin in twins]}


def write_oversized_png(path: Path, width: int = 20000, height: int = 20000) -> Path:
    """A tiny PNG whose header says width x height: over PIL's pixel limit (Image.MAX_IMAGE_PIXELS,
    ~89M; PIL refuses twice that), so opening it raises DecompressionBombError without using memory."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    return Path(path)
