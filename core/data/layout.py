"""Read the competition layout: train/train.csv + train/images/<person>/<7 images>, eval/info.csv + eval/images.

Labels come from folder and file names (train.csv is the profile list, cross-checked); junk files
are ignored; corrupt images are reported with the reason and left out. The corrupt-image check is
the only slow part, so its results are cached on disk per file (keyed by size and mtime).
"""
from __future__ import annotations

import errno
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
from core.machine import available_cores
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
    csv_rows: int = 0  # rows of train/train.csv, which need not match the folders found


# Linux hands back a name that is not valid UTF-8 with its bad bytes as lone surrogates: they open
# fine but break every table, JSON dump and terminal, so such files are skipped and shown escaped.
NOT_UTF8_REASON = "name is not valid UTF-8 (bad bytes shown as \\xNN); rename it in UTF-8"


def is_utf8_name(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown_name(name: str) -> str:
    """`name` with the bytes that are not UTF-8 written as \\xNN: printable in a table, JSON or terminal."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def resolve_data_dir(path) -> Path:
    """The absolute data directory; DataError (not a crash) for a symlink loop or an unreadable path."""
    try:
        return Path(path).expanduser().resolve()
    except (RuntimeError, OSError) as error:
        # Python 3.11 reports a symlink loop as RuntimeError, later versions as OSError(ELOOP).
        if isinstance(error, RuntimeError) or error.errno == errno.ELOOP:
            raise DataError.of("errors_data.link_loop", path=path) from None
        raise DataError.of("errors_data.path_unreadable", path=path, reason=error.strerror or error) from None


def require_dir(path: Path, what: str) -> Path:
    if path.is_symlink() and not path.exists():
        raise DataError.of("errors_data.broken_link", path=path, what=what)
    if not path.is_dir():
        raise DataError.of("errors_data.folder_not_found", path=path, what=what)
    return path


def read_csv_checked(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    if not path.is_file():
        raise DataError.of("errors_data.csv_not_found", path=path, columns=", ".join(columns))
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as error:
        raise DataError.of("errors_data.csv_unreadable", path=path, error=error) from None
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DataError.of("errors_data.csv_missing_columns", path=path, missing=", ".join(missing),
                           found=", ".join(table.columns))
    return table


def list_person_images(folder: Path, rel_folder: str) -> tuple[dict[str, list[str]] | None, list[dict]]:
    """{stem: [relative paths]} of the person's images, whatever their extension, and skipped entries;
    None (and the folder skipped) when the folder cannot be listed.

    A stem may have several files (normal.jpg and normal.jpeg): which one is kept is decided after the
    corrupt check (`pick_images`), so a corrupt duplicate never hides a good one.
    """
    try:
        names = sorted(os.listdir(folder))
    except OSError as error:
        return None, [{"path": rel_folder, "reason": f"cannot list the folder ({error.strerror or error}); "
                     "check its permissions"}]
    found: dict[str, list[str]] = {}
    skipped = []
    for name in names:
        if not is_image_name(name) or (folder / name).is_dir():
            continue  # ._* companions, .DS_Store, .ipynb_checkpoints, notes...
        stem = name.rsplit(".", 1)[0].lower()
        rel = f"{rel_folder}/{name}"
        if not is_utf8_name(name):
            skipped.append({"path": f"{rel_folder}/{shown_name(name)}", "reason": NOT_UTF8_REASON})
        elif stem not in IMAGE_STEMS:
            skipped.append({"path": rel, "reason": f"unexpected image name; expected {', '.join(IMAGE_STEMS)}"})
        else:
            found.setdefault(stem, []).append(rel)
    return found, skipped


def pick_images(found: dict[str, list[str]], bad: dict[str, str]) -> tuple[dict[str, str], list[dict], list[str]]:
    """One file per stem: the first (in name order) that decodes. Returns (kept, skipped, stems left with
    only corrupt files); every other file is skipped with its own reason."""
    kept, skipped, unusable = {}, [], []
    for stem, paths in found.items():
        good = [rel for rel in paths if rel not in bad]
        if good:
            kept[stem] = good[0]
        else:
            unusable.append(stem)
        for rel in paths:
            if rel in bad:
                skipped.append({"path": rel, "reason": bad[rel]})
            elif rel != kept[stem]:
                skipped.append({"path": rel, "reason": f"duplicate of {kept[stem]}"})
    return kept, skipped, unusable


def _file_key(path: Path) -> str | None:
    """Cache key of a file (size and mtime), or None when it cannot be read (broken link, vanished)."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def check_images(data_dir: Path, rel_paths: list[str], progress=None, workers: int | None = None) -> dict[str, str]:
    """{relative path: reason} for the images that do not decode; cached per file on disk.

    A file that cannot even be stat'ed (a broken symlink, one deleted since the listing) is reported
    as such and never cached, so it is looked at again once it is fixed.
    """
    data_dir = Path(data_dir)
    cache = scan_cache.load(data_dir)
    keys = {rel: _file_key(data_dir / rel) for rel in rel_paths}
    unreadable = {rel: "cannot read the file (a broken link, or deleted while scanning); replace or remove it"
                  for rel, key in keys.items() if key is None}
    todo = [rel for rel in rel_paths if rel not in unreadable and cache.get(rel, {}).get("key") != keys[rel]]
    total = len(rel_paths)
    shown = [-1]

    def tick(done: int, force: bool = False) -> None:
        # Every count at most once: the last "N/N" line must not print twice.
        if done != shown[0] and (force or done == total or done % 64 == 0):
            shown[0] = done
            report(progress, done, total)

    done = total - len(todo)
    tick(done, force=True)
    if todo:
        workers = workers or min(available_cores(), 8)
        absolute = [str(data_dir / rel) for rel in todo]
        reasons = []
        if workers > 1 and len(todo) > 200:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for reason in pool.map(corruption_reason, absolute, chunksize=64):
                    reasons.append(reason)
                    done += 1
                    tick(done)
        else:
            for path in absolute:
                reasons.append(corruption_reason(path))
                done += 1
                tick(done, force=True)
        for rel, reason in zip(todo, reasons):
            cache[rel] = {"key": keys[rel], "reason": reason}
        scan_cache.save(data_dir, cache)
    bad = dict(unreadable)
    bad.update({rel: cache[rel]["reason"] for rel in rel_paths if rel not in unreadable and cache[rel]["reason"]})
    return bad


def list_person_folders(images_dir: Path) -> list[str]:
    try:
        names = os.listdir(images_dir)
    except OSError as error:
        raise DataError.of("errors_data.cannot_list", path=images_dir, reason=error.strerror or error) from None
    return sorted(name for name in names if (images_dir / name).is_dir() and not name.startswith("."))


def missing_images_warning(rel_folder: str, found: dict, unusable: list[str]) -> dict | None:
    missing = [stem for stem in IMAGE_STEMS if stem not in found]
    parts = []
    if missing:
        parts.append(f"missing image(s): {', '.join(missing)}")
    if unusable:
        parts.append(f"no readable file for: {', '.join(s for s in IMAGE_STEMS if s in unusable)} (see skipped)")
    return {"path": rel_folder, "reason": "; ".join(parts)} if parts else None


def scan_train(data_dir, age_edges=DEFAULT_AGE_EDGES, check=True, progress=None) -> TrainScan:
    """Scan train/ into one row per usable image; raise DataError only when train/ itself is unusable."""
    data_dir = resolve_data_dir(data_dir)
    age_edges = check_age_edges(age_edges)
    require_dir(data_dir, "data directory")
    images_dir = require_dir(data_dir / "train" / "images", "train/images folder")
    profiles_csv = read_csv_checked(data_dir / "train" / "train.csv", TRAIN_CSV_COLUMNS)

    skipped, warnings, people = [], [], []
    csv_by_folder = {row["path"]: row for row in profiles_csv.to_dict("records")}
    folders = list_person_folders(images_dir)
    for folder_name in folders:
        rel_folder = f"train/images/{folder_name}"
        if not is_utf8_name(folder_name):
            skipped.append({"path": f"train/images/{shown_name(folder_name)}", "reason": NOT_UTF8_REASON})
            continue
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
        if found is not None:
            people.append((folder_name, rel_folder, profile, found))
    warnings.extend(shared_id_warnings(people))
    on_disk = set(folders)
    for folder_name in csv_by_folder:
        if folder_name not in on_disk:
            skipped.append({"path": f"train/images/{folder_name}", "reason": "listed in train/train.csv but the folder is missing"})

    candidates = [rel for *_, found in people for paths in found.values() for rel in paths]
    bad = check_images(data_dir, candidates, progress=progress) if check and candidates else {}
    rows = []
    for folder_name, rel_folder, profile, found in people:
        kept, folder_skipped, unusable = pick_images(found, bad)
        skipped.extend(folder_skipped)
        warning = missing_images_warning(rel_folder, found, unusable)
        if warning:
            warnings.append(warning)
        for stem, rel in kept.items():
            rows.append({"path": rel, "person": folder_name, "id": profile.id, "gender": profile.gender,
                         "race": profile.race, "age": profile.age, "mask": MASK_BY_STEM[stem],
                         "gender_label": gender_label(profile.gender)})

    images = pd.DataFrame(rows, columns=[c for c in IMAGE_COLUMNS if c not in ("age_label", "label", "relabeled")])
    images, relabel_warnings = apply_relabels(images, load_relabels(data_dir))
    warnings.extend(relabel_warnings)
    images = label_images(images, age_edges)
    return TrainScan(data_dir=data_dir, images=images, profiles=profiles_of(images), skipped=skipped,
                     warnings=warnings, age_edges=age_edges, csv_rows=len(profiles_csv))


def shared_id_warnings(people: list) -> list[dict]:
    """One warning per person id found in several folders (000001_female_Asian_45 and
    000001_male_Asian_45), naming them all: one of them is likely mislabelled."""
    folders_by_id: dict[str, list[str]] = {}
    for _, rel_folder, profile, _ in people:
        folders_by_id.setdefault(profile.id, []).append(rel_folder)
    return [{"path": folders[0], "reason": f"person id {person_id} is also the id of {', '.join(folders[1:])}; "
             f"the {len(folders)} folders are all used and the split keeps them on the same side; fix the wrong "
             "folder name or relabel it"}
            for person_id, folders in sorted(folders_by_id.items()) if len(folders) > 1]


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
    data_dir = resolve_data_dir(data_dir)
    eval_images = require_dir(data_dir / "eval" / "images", "eval/images folder")
    info_path = data_dir / "eval" / "info.csv"
    info = read_csv_checked(info_path, INFO_CSV_COLUMNS)
    try:
        present = set(os.listdir(eval_images))
    except OSError as error:
        raise DataError.of("errors_data.cannot_list", path=eval_images, reason=error.strerror or error) from None
    missing = [image_id for image_id in info["ImageID"] if image_id not in present]
    if missing:
        # Every one is named (the issue asks for it): one long line beats a second round trip.
        shown = ", ".join(f"eval/images/{m}" for m in missing)
        not_utf8 = sorted(shown_name(name) for name in present if not is_utf8_name(name))
        hint = (f"; eval/images has {len(not_utf8)} file name(s) that are not valid UTF-8, perhaps these: "
                f"{', '.join(not_utf8)} (rename them as info.csv spells them)") if not_utf8 else ""
        raise DataError.of("errors_data.eval_missing", path=info_path, count=len(missing), shown=shown, hint=hint)
    duplicated = info["ImageID"][info["ImageID"].duplicated()].tolist()
    if duplicated:
        raise DataError.of("errors_data.eval_duplicate", path=info_path, ids=", ".join(duplicated[:10]))
    return pd.DataFrame({"ImageID": info["ImageID"], "path": "eval/images/" + info["ImageID"]})
