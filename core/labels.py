"""The 18-class encoding (6*mask + 3*gender + age band), human names, and folder-name parsing.

The age band edges are a setting: top teams move the old-age edge from 60 to 58 or 55 because
60+ people are so few, so every function that turns an age into a band takes the edges.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import DataError

NUM_CLASSES = 18
# The competition's bands (<30, 30-59, 60+). The split and the score always use these, so the
# validation set and its score do not move when a run trains on other edges.
COMPETITION_AGE_EDGES: tuple[int, int] = (30, 60)
DEFAULT_AGE_EDGES: tuple[int, int] = COMPETITION_AGE_EDGES
# The rule every pair of edges obeys (check_age_edges): MIN_AGE_EDGE <= young < old <= MAX_AGE_EDGE.
# Widgets and config bounds are read from here.
MIN_AGE_EDGE = 1
MAX_AGE_EDGE = 150

MASK_NAMES = ("wear", "incorrect", "not wear")
GENDER_NAMES = ("male", "female")
ATTRIBUTE_SIZES = {"mask": 3, "gender": 2, "age": 3}

# The competition's image file stems; mask1..mask5 all mean "wear".
MASK_BY_STEM = {
    **{f"mask{i}": 0 for i in range(1, 6)},
    "incorrect_mask": 1,
    "normal": 2,
}
IMAGE_STEMS = tuple(MASK_BY_STEM)

_FOLDER_PATTERN = re.compile(r"^(?P<id>[^_]+)_(?P<gender>male|female)_(?P<race>[^_]+)_(?P<age>\d{1,3})$",
                             re.IGNORECASE)


@dataclass(frozen=True)
class Profile:
    """One person as encoded in a train/images folder name."""

    id: str
    gender: str
    race: str
    age: int
    folder: str


def check_age_edges(edges, name: str = "age_edges") -> tuple[int, int]:
    """Validate (young/middle edge, middle/old edge); returns them as a tuple of ints.

    `name` is what the error calls the setting where the user typed it (e.g. the CLI's --age-edges).
    """
    try:
        low, high = (int(e) for e in edges)
    except (TypeError, ValueError):
        raise DataError.of("errors_data.age_edges_not_numbers", name=name, young=DEFAULT_AGE_EDGES[0],
                           old=DEFAULT_AGE_EDGES[1], edges=edges) from None
    if not MIN_AGE_EDGE <= low < high <= MAX_AGE_EDGE:
        raise DataError.of("errors_data.age_edges_order", name=name, below=MIN_AGE_EDGE - 1, max=MAX_AGE_EDGE,
                           low=low, high=high)
    return low, high


def age_band(age: int, edges=DEFAULT_AGE_EDGES) -> int:
    """0 below the first edge, 1 from the first edge up to the second, 2 from the second edge on."""
    low, high = edges
    if age < low:
        return 0
    return 1 if age < high else 2


def age_band_names(edges=DEFAULT_AGE_EDGES) -> tuple[str, str, str]:
    low, high = edges
    return (f"<{low}", f"{low}-{high - 1}", f">={high}")


def encode(mask: int, gender: int, age: int) -> int:
    """Class index from the three attribute labels (age is the band, 0..2)."""
    for name, value in (("mask", mask), ("gender", gender), ("age", age)):
        if not 0 <= int(value) < ATTRIBUTE_SIZES[name]:
            raise ValueError(f"{name} label must be in 0..{ATTRIBUTE_SIZES[name] - 1}, got {value}")
    return 6 * int(mask) + 3 * int(gender) + int(age)


def decode(label: int) -> tuple[int, int, int]:
    """(mask, gender, age band) from a class index 0..17."""
    if not 0 <= int(label) < NUM_CLASSES:
        raise ValueError(f"class label must be in 0..17, got {label}")
    label = int(label)
    return label // 6, (label // 3) % 2, label % 3


def class_name(label: int, edges=DEFAULT_AGE_EDGES) -> str:
    mask, gender, age = decode(label)
    return f"{MASK_NAMES[mask]} / {GENDER_NAMES[gender]} / {age_band_names(edges)[age]}"


def class_names(edges=DEFAULT_AGE_EDGES) -> list[str]:
    return [class_name(label, edges) for label in range(NUM_CLASSES)]


def gender_label(gender: str) -> int:
    try:
        return GENDER_NAMES.index(gender.lower())
    except ValueError:
        raise DataError.of("errors_data.gender_value", gender=gender) from None


def mask_label(stem: str) -> int:
    """Mask label from an image file stem such as 'mask3', 'incorrect_mask' or 'normal'."""
    try:
        return MASK_BY_STEM[stem.lower()]
    except KeyError:
        raise DataError.of("errors_data.image_name", stem=stem, names=", ".join(IMAGE_STEMS)) from None


def parse_profile_folder(name: str) -> Profile:
    """Parse '<id>_<gender>_<race>_<age>'; a name that does not match raises DataError naming it."""
    match = _FOLDER_PATTERN.match(name)
    if not match:
        raise DataError.of("errors_data.folder_name", name=name)
    return Profile(id=match["id"], gender=match["gender"].lower(), race=match["race"],
                   age=int(match["age"]), folder=name)
