"""Turn an Albumentations transform's own parameter schema into Mask Lab `Param`s.

Albumentations 2 declares every transform's arguments in a pydantic `InitSchema`: the type in the
annotation, bounds in `Ge`/`Le` metadata or in `check_range_bounds` validators, the default in
`__init__`, and a description in the class docstring. Reading them here means the catalogue cannot
drift from the library; the catalogue only adds what a widget needs (slider bounds, step, wording).
"""
from __future__ import annotations

import inspect
import re
import types
import typing
import warnings

import annotated_types

from core.params import Param

# Validators Albumentations attaches to range fields, and the lower bound each enforces. (Its
# convert_to_0plus_range / convert_to_1plus_range only turn one number into a range: no bound.)
_LOWER_BOUND_OF_VALIDATOR = {
    "process_non_negative_range": 0,
}
_HELP_MAX_CHARS = 160


def library_defaults(transform_cls, required: dict) -> dict:
    """The transform's arguments after the library normalised them (e.g. limit=30 -> (-30.0, 30.0)).

    Built from a real instance, so the defaults are exactly what `A.to_dict` would write.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ShiftScaleRotate's "use Affine instead" is not news here
        transform = transform_cls(**required)
    args = dict(transform.get_transform_init_args())
    args.pop("p", None)
    return {name: simplify_value(value) for name, value in args.items()}


def simplify_value(value):
    """Albumentations stores Affine ranges as {'x': r, 'y': r}; one range when both axes agree."""
    if isinstance(value, dict) and set(value) == {"x", "y"} and _same(value["x"], value["y"]):
        value = value["x"]
    if isinstance(value, (list, tuple)):
        return tuple(_tidy(v) for v in value)
    return _tidy(value)


def _tidy(number):
    """1 + 0.1 - 1 is stored as 0.10000000000000009; show and save 0.1 (well below any pixel effect)."""
    return round(number, 10) if isinstance(number, float) else number


def _same(a, b) -> bool:
    return tuple(a) == tuple(b) if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) else a == b


def param_from_field(transform_cls, name: str, default, docs: dict[str, str]) -> Param:
    """One Param from a field of `transform_cls.InitSchema`: kind, bounds and help as the library declares."""
    field = transform_cls.InitSchema.model_fields[name]
    kind, choices, optional = _kind_of(field.annotation)
    low, high = _bounds_of(field.metadata)
    if kind in ("choice",) and None in choices:
        optional = True
    return Param(name=name, kind=kind, default=default, help=docs.get(name, ""), min=low, max=high,
                 choices=choices, optional=optional or default is None)


def _kind_of(annotation) -> tuple[str, tuple | None, bool]:
    """(kind, choices, optional) for a pydantic annotation such as `tuple[float, float] | float | None`."""
    options = _union_members(annotation)
    optional = type(None) in options
    options = [option for option in options if option is not type(None)]
    literals = [option for option in options if typing.get_origin(option) is typing.Literal]
    if literals:
        choices = tuple(value for literal in literals for value in typing.get_args(literal))
        if all(isinstance(choice, int) for choice in choices):
            choices = tuple(sorted(choices))  # OpenCV flags: 0, 1, 2... not the library's listing order
        return "choice", choices, optional or None in choices
    pairs = [option for option in options if _is_two_tuple(option)]
    if pairs:
        element = typing.get_args(pairs[0])[0]
        return ("int_range" if element is int else "float_range"), None, optional
    if any(typing.get_origin(option) is tuple for option in options):
        return "list", None, optional  # tuple[float, ...]: one number per channel
    for python_type, kind in ((bool, "bool"), (int, "int"), (float, "float")):
        if python_type in options:
            return kind, None, optional
    return "str", None, optional


def _union_members(annotation) -> list:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [member for arg in typing.get_args(annotation) for member in _union_members(arg)]
    return [annotation]


def _is_two_tuple(annotation) -> bool:
    args = typing.get_args(annotation)
    return typing.get_origin(annotation) is tuple and len(args) == 2 and Ellipsis not in args


def _bounds_of(metadata) -> tuple[float | None, float | None]:
    low = high = None
    for item in metadata:
        if isinstance(item, annotated_types.Ge):
            low = item.ge
        elif isinstance(item, annotated_types.Gt):
            low = item.gt  # strictness is the library's to enforce; the widget only needs the edge
        elif isinstance(item, annotated_types.Le):
            high = item.le
        elif isinstance(item, annotated_types.Lt):
            high = item.lt
        func = getattr(item, "func", None)
        if func is None:
            continue
        if func.__name__ in _LOWER_BOUND_OF_VALIDATOR:
            low = _LOWER_BOUND_OF_VALIDATOR[func.__name__]
        closure = dict(zip(func.__code__.co_freevars, (cell.cell_contents for cell in func.__closure__ or ())))
        if "min_val" in closure:  # check_range_bounds(min_val, max_val)
            low = closure["min_val"] if closure["min_val"] is not None else low
            high = closure.get("max_val") if closure.get("max_val") is not None else high
    return low, high


def docstring_args(transform_cls) -> dict[str, str]:
    """{argument: first sentence of its description} from the class docstring's `Args:` section."""
    doc = inspect.getdoc(transform_cls) or ""
    section = re.search(r"^Args:\n(.*?)(?=^\S|\Z)", doc, re.S | re.M)
    if not section:
        return {}
    described: dict[str, str] = {}
    current = None
    for line in section.group(1).splitlines():
        start = re.match(r"^\s{4}(\w+)\s*(?:\(.*?\))?\s*:\s*(.*)$", line)
        if start and not line.startswith(" " * 5):
            current = start.group(1)
            described[current] = start.group(2)
        elif current and line.strip():
            described[current] += " " + line.strip()
    return {name: _first_sentence(text) for name, text in described.items()}


def _first_sentence(text: str) -> str:
    text = re.sub(r"``?([^`]*)``?", r"\1", text).strip()
    text = re.split(r"(?<=[.:])\s+(?=[A-Z*-])|\s+[-*]\s+", text, maxsplit=1)[0].rstrip(":")
    return text if len(text) <= _HELP_MAX_CHARS else text[:_HELP_MAX_CHARS - 1].rsplit(" ", 1)[0] + "…"
