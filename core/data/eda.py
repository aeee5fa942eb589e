"""Exploratory data analysis as tables: distributions, imbalance in numbers, cross tables, the age-edge
what-if, gallery picks, and the data spec summary. Plain DataFrames in, DataFrames/dicts out.

Every function takes the `images` table of a TrainScan (one row per usable image) so the Data page,
the CLI and tests compute the same numbers.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.data.layout import INFO_CSV_COLUMNS, TRAIN_CSV_COLUMNS, TrainScan, label_images
from core.i18n import t
from core.labels import (DEFAULT_AGE_EDGES, GENDER_NAMES, IMAGE_STEMS, MASK_NAMES, NUM_CLASSES, age_band_names,
                         check_age_edges, class_name, decode)

# Attribute name -> column of the images table holding its label.
ATTRIBUTE_COLUMNS = {"class": "label", "mask": "mask", "gender": "gender_label", "age": "age_label"}
UNITS = ("images", "people")


def value_names(attribute: str, age_edges=DEFAULT_AGE_EDGES) -> list[str]:
    """Human names of an attribute's values, in label order."""
    if attribute == "class":
        return [class_name(label, age_edges) for label in range(NUM_CLASSES)]
    if attribute == "mask":
        return list(MASK_NAMES)
    if attribute == "gender":
        return list(GENDER_NAMES)
    if attribute == "age":
        return list(age_band_names(age_edges))
    raise ValueError(f"attribute must be one of {', '.join(ATTRIBUTE_COLUMNS)}, got {attribute!r}")


def _rows_for(images: pd.DataFrame, unit: str) -> pd.DataFrame:
    """Images as they are, or one row per person (a person's gender and age are the same on all 7)."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {', '.join(UNITS)}, got {unit!r}")
    return images if unit == "images" else images.drop_duplicates("person")


def distribution(images: pd.DataFrame, attribute: str, age_edges=DEFAULT_AGE_EDGES,
                 unit: str = "images") -> pd.DataFrame:
    """One row per value (empty ones included): value, name, count, share (0..1).

    Counts the labels already in `images`; `age_edges` only names the age bands, so pass the edges
    the table was labelled with (a TrainScan's `age_edges`). `age_edge_whatif` relabels.
    """
    names = value_names(attribute, age_edges)
    rows = _rows_for(images, unit)
    counts = rows[ATTRIBUTE_COLUMNS[attribute]].value_counts().reindex(range(len(names)), fill_value=0)
    total = int(counts.sum())
    return pd.DataFrame({"value": range(len(names)), "name": names, "count": counts.to_numpy().astype(int),
                         "share": counts.to_numpy() / total if total else 0.0})


def imbalance(table: pd.DataFrame) -> dict:
    """Imbalance of a `distribution` table in numbers: largest vs smallest non-empty value, empty values."""
    present = table[table["count"] > 0]
    if present.empty:
        return {"largest": None, "largest_count": 0, "smallest": None, "smallest_count": 0,
                "ratio": float("nan"), "smallest_share": 0.0, "empty": table["name"].tolist()}
    largest = present.loc[present["count"].idxmax()]
    smallest = present.loc[present["count"].idxmin()]
    return {"largest": largest["name"], "largest_count": int(largest["count"]),
            "smallest": smallest["name"], "smallest_count": int(smallest["count"]),
            "ratio": float(largest["count"] / smallest["count"]),
            "smallest_share": float(smallest["share"]),
            "empty": table.loc[table["count"] == 0, "name"].tolist()}


def imbalance_sentence(table: pd.DataFrame, what: str) -> str:
    """The imbalance stated in words, e.g. for the page under a chart."""
    numbers = imbalance(table)
    if numbers["largest"] is None:
        return t("data.imbalance_none", what=what)
    sentence = t("data.imbalance", what=what, **{key: numbers[key] for key in (
        "largest", "largest_count", "smallest", "smallest_count", "smallest_share", "ratio")})
    if numbers["empty"]:
        sentence += t("data.imbalance_empty", names=", ".join(numbers["empty"]))
    return sentence


def cross_table(images: pd.DataFrame, rows: str = "gender", columns: str = "age", age_edges=DEFAULT_AGE_EDGES,
                unit: str = "people", totals: bool = True) -> pd.DataFrame:
    """Counts of `rows` × `columns` (attribute names), every value present, with named index/columns."""
    if rows == columns:
        raise ValueError("rows and columns must be different attributes")
    data = _rows_for(images, unit)
    row_names, column_names = value_names(rows, age_edges), value_names(columns, age_edges)
    table = pd.crosstab(data[ATTRIBUTE_COLUMNS[rows]], data[ATTRIBUTE_COLUMNS[columns]])
    table = table.reindex(index=range(len(row_names)), columns=range(len(column_names)), fill_value=0)
    table.index, table.columns = pd.Index(row_names, name=rows), pd.Index(column_names, name=columns)
    table = table.astype(int)
    if totals:
        table["total"] = table.sum(axis=1)
        table.loc["total"] = table.sum(axis=0)
    return table


def age_counts(images: pd.DataFrame) -> pd.DataFrame:
    """People per age (one row per age present): the data behind the age histogram."""
    people = images.drop_duplicates("person")
    counts = people["age"].value_counts().sort_index()
    return pd.DataFrame({"age": counts.index.astype(int), "people": counts.to_numpy().astype(int)})


def people_near_edges(images: pd.DataFrame, age_edges=DEFAULT_AGE_EDGES, window: int = 2) -> pd.DataFrame:
    """People within `window` years below each edge: the ones a small edge shift moves to another band."""
    people = images.drop_duplicates("person")
    rows = []
    for edge in check_age_edges(age_edges):
        near = people[(people["age"] >= edge - window) & (people["age"] < edge)]
        rows.append({"edge": edge, "ages": f"{edge - window}-{edge - 1}", "people": int(len(near))})
    return pd.DataFrame(rows)


def age_edge_whatif(images: pd.DataFrame, old_edges, young_edge: int = DEFAULT_AGE_EDGES[0]) -> pd.DataFrame:
    """18-class counts for each old-age edge, long format: edge, setting, label, class, count."""
    frames = []
    for old_edge in old_edges:
        edges = check_age_edges((young_edge, old_edge))
        labelled = label_images(images, edges)
        counts = labelled["label"].value_counts().reindex(range(NUM_CLASSES), fill_value=0)
        frames.append(pd.DataFrame({"edge": old_edge, "setting": f"{edges[0]}/{edges[1]}",
                                    "label": range(NUM_CLASSES),
                                    "class": [class_name(label, edges) for label in range(NUM_CLASSES)],
                                    "count": counts.to_numpy().astype(int)}))
    columns = ["edge", "setting", "label", "class", "count"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def whatif_summary(whatif: pd.DataFrame, images: pd.DataFrame, young_edge: int = DEFAULT_AGE_EDGES[0],
                   rarest: int = 3) -> pd.DataFrame:
    """Per old-age edge: people and images in the old band, the rarest classes and the imbalance ratio."""
    people = images.drop_duplicates("person")
    rows = []
    for edge, group in whatif.groupby("edge", sort=False):
        counts = group.set_index("label")["count"]
        ordered = counts.sort_values(kind="stable")
        present = counts[counts > 0]
        rows.append({
            "old-age edge": int(edge),
            "people in old band": int((people["age"] >= edge).sum()),
            "images in old band": int(group.loc[group["label"] % 3 == 2, "count"].sum()),
            "rarest class": int(ordered.iloc[0]),
            t("data.rarest_classes", count=rarest): ", ".join(f"{label} ({count})" for label, count in ordered.iloc[:rarest].items()),
            "largest / rarest": float(present.max() / present.min()) if len(present) else float("nan"),
            "empty classes": int((counts == 0).sum()),
        })
    return pd.DataFrame(rows)


METADATA_COLUMNS = {
    "images": ["path", "person", "id", "gender", "race", "age", "mask", "gender_label", "age_label", "label",
               "class name", "relabeled"],
    "people": ["person", "id", "gender", "race", "age", "gender_label", "age_label", "images"],
}


def metadata_table(images: pd.DataFrame, unit: str = "images", age_edges=DEFAULT_AGE_EDGES,
                   sort_by: str | None = None, ascending: bool = True) -> pd.DataFrame:
    """The metadata as a table: one row per image (with its class name) or per person, sorted on request."""
    if unit == "images":
        table = images.assign(**{"class name": [class_name(label, age_edges) for label in images["label"]]})
    elif unit == "people":
        grouped = images.groupby("person", sort=True)
        table = grouped[["id", "gender", "race", "age", "gender_label", "age_label"]].first()
        table["images"] = grouped.size()
        table = table.reset_index()
    else:
        raise ValueError(f"unit must be one of {', '.join(UNITS)}, got {unit!r}")
    table = table[METADATA_COLUMNS[unit]]
    if sort_by is not None:
        if sort_by not in table.columns:
            raise ValueError(f"sort_by must be one of {', '.join(table.columns)}, got {sort_by!r}")
        table = table.sort_values(sort_by, ascending=ascending, kind="stable")
    return table.reset_index(drop=True)


def whatif_wide(whatif: pd.DataFrame, age_edges=DEFAULT_AGE_EDGES) -> pd.DataFrame:
    """The what-if counts one row per class, one column per setting (class names use `age_edges`)."""
    wide = whatif.pivot(index="label", columns="setting", values="count")
    wide = wide[list(dict.fromkeys(whatif["setting"]))]  # the order the user picked, not alphabetical
    wide.insert(0, "class", [class_name(label, age_edges) for label in wide.index])
    wide.columns.name = None
    return wide.reset_index()


def class_grid(age_edges=DEFAULT_AGE_EDGES) -> pd.DataFrame:
    """The 18 classes laid out like the competition overview: rows mask × gender, columns age bands."""
    ages = age_band_names(age_edges)
    rows = []
    for mask, mask_name in enumerate(MASK_NAMES):
        for gender, gender_name in enumerate(GENDER_NAMES):
            row = {"mask": mask_name, "gender": gender_name}
            row.update({f"age {ages[age]}": 6 * mask + 3 * gender + age for age in range(3)})
            rows.append(row)
    return pd.DataFrame(rows)


def class_table(age_edges=DEFAULT_AGE_EDGES, images: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per class: class, mask, gender, age band (and its image count when `images` is given)."""
    ages = age_band_names(age_edges)
    table = pd.DataFrame([{"class": label, "mask": MASK_NAMES[m], "gender": GENDER_NAMES[g], "age": ages[a]}
                          for label, (m, g, a) in ((label, decode(label)) for label in range(NUM_CLASSES))])
    if images is not None:
        table["images"] = distribution(images, "class", age_edges)["count"].to_numpy()
    return table


def filter_images(images: pd.DataFrame, label: int | None = None, mask: int | None = None,
                  gender: int | None = None, age: int | None = None, race: str | None = None) -> pd.DataFrame:
    """Rows matching every given filter (None = any); `age` is the age band."""
    keep = pd.Series(True, index=images.index)
    for column, value in (("label", label), ("mask", mask), ("gender_label", gender), ("age_label", age),
                          ("race", race)):
        if value is not None:
            keep &= images[column] == value
    return images[keep]


def gallery_sample(images: pd.DataFrame, count: int, seed: int = 0) -> pd.DataFrame:
    """Up to `count` rows, a reproducible random pick, in path order."""
    if count >= len(images):
        return images.sort_values("path")
    return images.sample(n=count, random_state=seed).sort_values("path")


def person_images(images: pd.DataFrame, person: str) -> pd.DataFrame:
    """One person's images in the competition's order: mask1..mask5, incorrect_mask, normal."""
    rows = images[images["person"] == person].copy()
    stems = rows["path"].map(lambda path: path.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower())
    rows["stem"] = stems
    rows["order"] = stems.map({stem: i for i, stem in enumerate(IMAGE_STEMS)})
    return rows.sort_values("order").drop(columns="order").reset_index(drop=True)


def image_caption(row, age_edges=DEFAULT_AGE_EDGES) -> str:
    """Short caption: class number and name, age, and the file."""
    return f"{int(row['label'])}: {class_name(int(row['label']), age_edges)} · {int(row['age'])}y · {row['path'].rsplit('/', 1)[-1]}"


def extension_counts(paths) -> pd.DataFrame:
    """File extensions (lower-cased) and how many files have each."""
    extensions = pd.Series([Path(p).suffix.lower() or "(none)" for p in paths], dtype=str)
    counts = extensions.value_counts()
    return pd.DataFrame({"extension": counts.index, "files": counts.to_numpy().astype(int)})


# (file, field); what each field means is in locales/*/data.yaml under data.field_meanings.<field>.
FIELD_MEANINGS = [
    ("train/train.csv", "id"),
    ("train/train.csv", "gender"),
    ("train/train.csv", "race"),
    ("train/train.csv", "age"),
    ("train/train.csv", "path"),
    ("train/images/<folder>/", "mask1..mask5"),
    ("train/images/<folder>/", "incorrect_mask"),
    ("train/images/<folder>/", "normal"),
    ("eval/info.csv", "ImageID"),
    ("eval/info.csv", "ans"),
]


def field_examples(scan: TrainScan) -> dict[str, str]:
    """Values seen in the data for each train.csv field (what the page shows beside the meaning)."""
    profiles = scan.profiles
    if profiles.empty:
        return {}
    gender = profiles["gender"].value_counts()
    race = profiles["race"].value_counts()
    return {
        "id": f"{profiles['id'].iloc[0]} … ({profiles['id'].nunique()} distinct)",
        "gender": ", ".join(f"{name} {count}" for name, count in gender.items()),
        "race": ", ".join(f"{name} {count}" for name, count in race.head(5).items()),
        "age": f"{int(profiles['age'].min())} to {int(profiles['age'].max())} (median {profiles['age'].median():g})",
        "path": profiles["person"].iloc[0],
    }


def data_spec(scan: TrainScan, eval_table: pd.DataFrame | None = None, eval_error: str | None = None) -> dict:
    """The "data spec summary" (lecture 1): files, fields, counts and formats, from one scan.

    Image sizes need decoded headers, so they come from `core.data.stats` on a sample instead.
    """
    images = scan.images
    per_person = images.groupby("person").size()
    counts = {
        "people": int(images["person"].nunique()),
        "train images": int(len(images)),
        "images per person": f"{int(per_person.min())}-{int(per_person.max())}" if len(per_person) else "0",
        "people with fewer than 7": int((per_person < len(IMAGE_STEMS)).sum()),
        "eval images": int(len(eval_table)) if eval_table is not None else 0,
        "skipped files": len(scan.skipped),
        "warnings": len(scan.warnings),
        "relabeled images": int(images["relabeled"].sum()) if "relabeled" in images else 0,
    }
    eval_rows = t("data.spec_unreadable") if eval_table is None else str(len(eval_table))
    files = pd.DataFrame([
        {"file": "train/train.csv", "holds": t("data.spec_files.train_csv"),
         "columns": ", ".join(TRAIN_CSV_COLUMNS), "rows / files": str(scan.csv_rows)},
        {"file": "train/images/<id>_<gender>_<race>_<age>/", "holds": t("data.spec_files.train_images"),
         "columns": ", ".join(IMAGE_STEMS), "rows / files": str(counts["train images"])},
        {"file": "eval/info.csv", "holds": t("data.spec_files.eval_csv"),
         "columns": ", ".join(INFO_CSV_COLUMNS), "rows / files": eval_rows},
        {"file": "eval/images/<ImageID>", "holds": t("data.spec_files.eval_images"),
         "columns": "", "rows / files": eval_rows},
    ])
    examples = field_examples(scan)
    fields = pd.DataFrame([{"file": file, "field": name, "meaning": t(f"data.field_meanings.{name}"),
                            "in this data": examples.get(name, "")} for file, name in FIELD_MEANINGS])
    paths = list(images["path"]) + (list(eval_table["path"]) if eval_table is not None else [])
    return {"data_dir": str(scan.data_dir), "files": files, "fields": fields, "counts": counts,
            "formats": extension_counts(paths), "eval_error": eval_error, "age_edges": tuple(scan.age_edges)}
