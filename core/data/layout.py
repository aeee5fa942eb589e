"""Read the competition layout: train/train.csv + train/images/<person>/<7 images>, eval/info.csv + eval/images.

Labels come from folder and file names (train.csv is the profile list, cross-checked); junk files
are ignored; corrupt images are reported with the reason and left out. The corrupt-image check is
the only slow part, so its results are cached on disk per file (keyed by size and mtime).
"""
from __future__ import annotations

import csv
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from core.data import scan_cache
from core.data.images import corruption_reason, is_image_name
from core.data.relabel import apply_relabels, load_relabels
from core.errors import DataError
from core.labels import (DEFAULT_AGE_EDGES, IMAGE_STEMS, MASK_BY_STEM, age_band, check_age_edges, encode,
                         gender_label, parse_profile_folder)
from core.progress import report

TRAIN_CSV_COLUMNS = ("id", "gender", "race", "age", "path")
INFO_CSV_COLUMNS = ("ImageID", "ans")
IMAGE_COLUMNS = ("path", "person", "id", "gender", "race", "age", "mask", "gender_label",
                 "age_label", "label", "relabeled")


@dataclass
class TrainScan:
    """What was found under train/: one row per usable image, plus what was left out and why."""

    data_dir: Path
    images: pd.DataFrame
    profiles: pd.DataFrame
    skipped: list[dict] = field(default_factory=list)   # {path, reason}: left out
    warnings: list[dict] = field(default_factory=list)  # {path, reason}: used, but worth a look
    age_edges: tuple[int, int] = DEFAULT_AGE_EDGES


def require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise DataError(f"{path}: {what} not found; point the data directory at the folder that "
                        "holds train/ and eval/ (or generate the demo data: python -m core demo-data)")
    return path


def read_csv_checked(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"{path}: file not found (expected columns {', '.join(columns)})")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as error:
        raise DataError(f"{path}: not a readable CSV ({error})") from None
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(table.columns)}")
    return table


def list_person_images(folder: Path, rel_folder: str) -> tuple[dict[str, str], list[dict]]:
    """{stem: relative path} of the person's images, whatever their extension, and skipped entries."""
    found: dict[str, str] = {}
    skipped = []
    for name in sorted(os.listdir(folder)):
        if not is_image_name(name) or (folder / name).is_dir():
            continue  # ._* companions, .DS_Store, .ipynb_checkpoints, notes...
        stem = name.rsplit(".", 1)[0].lower()
        rel = f"{rel_folder}/{name}"
        if stem not in IMAGE_STEMS:
            skipped.append({"path": rel, "reason": f"unexpected image name; expected {', '.join(IMAGE_STEMS)}"})
        elif stem in found:
            skipped.append({"path": rel, "reason": f"duplicate of {found[stem]}"})
        else:
            found[stem] = rel
    return found, skipped


def check_images(data_dir: Path, rel_paths: list[str], progress=None, workers: int | None = None) -> dict[str, str]:
    """{relative path: reason} for the images that do not decode; cached per file on disk."""
    cache = scan_cache.load(data_dir)
    stats = {rel: os.stat(data_dir / rel) for rel in rel_paths}
    keys = {rel: f"{st.st_size}:{st.st_mtime_ns}" for rel, st in stats.items()}
    todo = [rel for rel in rel_paths if cache.get(rel, {}).get("key") != keys[rel]]
    total, done = len(rel_paths), len(rel_paths) - len(todo)
    report(progress, done, total)
    if todo:
        workers = workers or min(os.cpu_count() or 1, 8)
        absolute = [str(data_dir / rel) for rel in todo]
        if workers > 1 and len(todo) > 200:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                reasons = []
                for reason in pool.map(corruption_reason, absolute, chunksize=64):
                    reasons.append(reason)
                    done += 1
                    if done % 64 == 0:
                        report(progress, done, total)
        else:
            reasons = []
            for path in absolute:
                reasons.append(corruption_reason(path))
                done += 1
                report(progress, done, total)
        for rel, reason in zip(todo, reasons):
            cache[rel] = {"key": keys[rel], "reason": reason}
        scan_cache.save(data_dir, cache)
    report(progress, total, total)
    return {rel: cache[rel]["reason"] for rel in rel_paths if cache[rel]["reason"]}


def scan_train(data_dir, age_edges=DEFAULT_AGE_EDGES, check=True, progress=None) -> TrainScan:
    """Scan train/ into one row per usable image; raise DataError only when train/ itself is unusable."""
    data_dir = Path(data_dir).expanduser().resolve()
    age_edges = check_age_edges(age_edges)
    require_dir(data_dir, "data directory")
    images_dir = require_dir(data_dir / "train" / "images", "train/images folder")
    profiles_csv = read_csv_checked(data_dir / "train" / "train.csv", TRAIN_CSV_COLUMNS)

    skipped, warnings, rows = [], [], []
    csv_by_folder = {row["path"]: row for row in profiles_csv.to_dict("records")}
    folders = sorted(name for name in os.listdir(images_dir)
                     if (images_dir / name).is_dir() and not name.startswith("."))
    for folder_name in folders:
        rel_folder = f"train/images/{folder_name}"
        try:
            profile = parse_profile_folder(folder_name)
        except DataError as error:
            skipped.append({"path": rel_folder, "reason": str(error).split(": ", 1)[1]})
            continue
        listed = csv_by_folder.get(folder_name)
        if listed is None:
            warnings.append({"path": rel_folder, "reason": "folder not listed in train/train.csv; labels taken from its name"})
        elif (str(listed["gender"]).lower(), str(listed["age"]).strip()) != (profile.gender, str(profile.age)):
            warnings.append({"path": rel_folder, "reason": f"train.csv says {listed['gender']} {listed['age']}; "
                             "the folder name is used"})
        found, folder_skipped = list_person_images(images_dir / folder_name, rel_folder)
        skipped.extend(folder_skipped)
        missing = [stem for stem in IMAGE_STEMS if stem not in found]
        if missing:
            warnings.append({"path": rel_folder, "reason": f"missing image(s): {', '.join(missing)}"})
        for stem, rel in found.items():
            rows.append({"path": rel, "person": folder_name, "id": profile.id, "gender": profile.gender,
                         "race": profile.race, "age": profile.age, "mask": MASK_BY_STEM[stem],
                         "gender_label": gender_label(profile.gender)})
    on_disk = set(folders)
    for folder_name in csv_by_folder:
        if folder_name not in on_disk:
            skipped.append({"path": f"train/images/{folder_name}", "reason": "listed in train/train.csv but the folder is missing"})

    if check and rows:
        bad = check_images(data_dir, [row["path"] for row in rows], progress=progress)
        skipped.extend({"path": rel, "reason": reason} for rel, reason in bad.items())
        rows = [row for row in rows if row["path"] not in bad]

    images = pd.DataFrame(rows, columns=[c for c in IMAGE_COLUMNS if c not in ("age_label", "label", "relabeled")])
    images, relabel_warnings = apply_relabels(images, load_relabels(data_dir))
    warnings.extend(relabel_warnings)
    images = label_images(images, age_edges)
    return TrainScan(data_dir=data_dir, images=images, profiles=profiles_of(images), skipped=skipped,
                     warnings=warnings, age_edges=age_edges)


def label_images(images: pd.DataFrame, age_edges) -> pd.DataFrame:
    """(Re)compute age bands and class labels for the given edges; raw labels are untouched."""
    images = images.copy()
    images["age"] = images["age"].astype(int)
    images["mask"] = images["mask"].astype(int)
    images["gender_label"] = images["gender_label"].astype(int)
    images["age_label"] = images["age"].map(lambda age: age_band(age, age_edges)).astype(int)
    images["label"] = [encode(m, g, a) for m, g, a in
                       zip(images["mask"], images["gender_label"], images["age_label"])]
    images["label"] = images["label"].astype(int)
    return images[list(IMAGE_COLUMNS)].reset_index(drop=True)


def profiles_of(images: pd.DataFrame) -> pd.DataFrame:
    """One row per person (gender and age after relabels; the first image's values)."""
    grouped = images.groupby("person", sort=True)
    profiles = grouped[["id", "gender", "race", "age", "gender_label", "age_label"]].first()
    profiles["images"] = grouped.size()
    return profiles.reset_index()


def read_eval(data_dir) -> pd.DataFrame:
    """eval/info.csv rows in file order with `path` (relative); DataError naming every missing file."""
    data_dir = Path(data_dir).expanduser().resolve()
    eval_images = require_dir(data_dir / "eval" / "images", "eval/images folder")
    info_path = data_dir / "eval" / "info.csv"
    info = read_csv_checked(info_path, INFO_CSV_COLUMNS)
    present = set(os.listdir(eval_images))
    missing = [image_id for image_id in info["ImageID"] if image_id not in present]
    if missing:
        shown = ", ".join(f"eval/images/{m}" for m in missing[:20])
        more = f" and {len(missing) - 20} more" if len(missing) > 20 else ""
        raise DataError(f"{info_path}: {len(missing)} listed image(s) missing: {shown}{more}")
    duplicated = info["ImageID"][info["ImageID"].duplicated()].tolist()
    if duplicated:
        raise DataError(f"{info_path}: ImageID listed twice: {', '.join(duplicated[:10])}")
    return pd.DataFrame({"ImageID": info["ImageID"], "path": "eval/images/" + info["ImageID"]})
