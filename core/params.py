"""Parameters declared once — type, default, range, help — and read by widgets, CLI, YAML and validation.

A config section is a dataclass whose fields are made with `setting(...)`; `params_of(Section)` turns
its fields into `Param`s, and `section_from_dict` builds a validated section from YAML/CLI values,
naming the key of any bad value. The Augmentation lab turns Albumentations' own schemas into the same
`Param`s, so one widget function (`core.widgets.param_widget`) serves every page.
"""
from __future__ import annotations

import dataclasses
import json
import math
import typing
from dataclasses import dataclass
from typing import Any

import yaml

from core.errors import ConfigError

KINDS = ("bool", "int", "float", "choice", "str", "list", "int_range", "float_range", "int_pair")
# Two-number kinds (Albumentations' `limit=(-30, 30)`, `size=(256, 192)`): a range needs low <= high,
# a pair's numbers are independent. `min`/`max` bound each number.
TWO_NUMBER_KINDS = {"int_range": int, "float_range": float, "int_pair": int}
SCALES = ("linear", "log")


@dataclass(frozen=True)
class Param:
    """One user-settable parameter: what it is, its default and where its valid values lie."""

    name: str
    kind: str
    default: Any
    help: str = ""
    min: float | None = None
    max: float | None = None
    step: float | None = None
    choices: tuple | None = None
    optional: bool = False  # None is a valid value ("not set")
    # Where a slider starts and ends when that differs from the valid range (e.g. an unbounded rotation
    # shown as -180..180). Widgets only: validation never reads them, and a value outside still shows.
    slider_min: float | None = None
    slider_max: float | None = None
    # "log": values span decades (a learning rate of 3e-4, a decay of 1e-5), so the widget is a typed
    # number shown in %g, never a linear slider whose 0.01 steps cannot reach them. Widgets only.
    scale: str = "linear"

    def validate(self, value, where: str | None = None):
        """Coerce `value` to this parameter's type and check its range; raise ConfigError naming it."""
        label = where or self.name
        if value is None:
            if self.optional:
                return None
            raise ConfigError.of("errors.params.required", label=label, describe=self.describe())
        try:
            value = _coerce(self.kind, value)
        except (TypeError, ValueError):
            raise ConfigError.of("errors.params.not_kind", label=label, value=value, kind=self.kind,
                                  describe=self.describe()) from None
        if self.kind == "choice" and value not in self.choices:
            raise ConfigError.of("errors.params.not_choice", label=label, value=value,
                                  choices=", ".join(map(str, self.choices)))
        if self.kind == "float" and not math.isfinite(value):
            raise ConfigError.of("errors.params.not_finite", label=label, value=value, describe=self.describe())
        if self.kind in ("int", "float"):
            if self.min is not None and value < self.min:
                raise ConfigError.of("errors.params.below_min", label=label, value=value, min=self.min, help=self.help)
            if self.max is not None and value > self.max:
                raise ConfigError.of("errors.params.above_max", label=label, value=value, max=self.max, help=self.help)
        if self.kind in TWO_NUMBER_KINDS:
            self._check_two_numbers(value, label)
        return value

    def _check_two_numbers(self, value: tuple, label: str) -> None:
        for number in value:
            if self.min is not None and number < self.min:
                raise ConfigError.of("errors.params.below_min", label=label, value=number, min=self.min, help=self.help)
            if self.max is not None and number > self.max:
                raise ConfigError.of("errors.params.above_max", label=label, value=number, max=self.max, help=self.help)
        if self.kind != "int_pair" and value[0] > value[1]:
            raise ConfigError.of("errors.params.low_above_high", label=label, low=value[0], high=value[1])

    def parse(self, text: str, where: str | None = None):
        """Parse a CLI/text value ('64', 'true', 'none', '[1, 2]') and validate it."""
        text = text.strip()
        if self.optional and text.lower() in ("none", "null", ""):
            return None
        if self.kind == "str" or (self.kind == "choice" and all(isinstance(c, str) for c in self.choices)):
            return self.validate(text, where)
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            value = text
        return self.validate(value, where)

    def describe(self) -> str:
        bits = [{"int_range": "two whole numbers low, high", "float_range": "two numbers low, high",
                 "int_pair": "two whole numbers"}.get(self.kind, self.kind)]
        if self.choices:
            bits.append("one of " + "/".join(map(str, self.choices)))
        if self.min is not None or self.max is not None:
            bits.append(f"range {self.min if self.min is not None else '-inf'}.."
                        f"{self.max if self.max is not None else 'inf'}")
        return ", ".join(bits)


def _coerce(kind: str, value):
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise ValueError(value)
    if kind == "int":
        if isinstance(value, bool):
            raise ValueError(value)
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
        return int(value)
    if kind == "float":
        if isinstance(value, bool):
            raise ValueError(value)
        return float(value)
    if kind == "list":
        if isinstance(value, str):
            value = json.loads(value)
        if not isinstance(value, (list, tuple)):
            raise ValueError(value)
        return list(value)
    if kind == "str":
        if not isinstance(value, (str, int, float)):
            raise ValueError(value)
        return str(value)
    if kind in TWO_NUMBER_KINDS:
        return _coerce_two_numbers(TWO_NUMBER_KINDS[kind], value)
    return value  # choice: checked against the choices by the caller


def _coerce_two_numbers(cast, value) -> tuple:
    """(a, b) from a list/tuple or the text '[a, b]' / 'a, b'."""
    if isinstance(value, str):
        try:
            value = yaml.safe_load("[" + value.strip().strip("()[]") + "]")
        except yaml.YAMLError:
            raise ValueError(value) from None
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ValueError(value)
    return tuple(_coerce("int" if cast is int else "float", number) for number in value)


def setting(default, help: str, *, kind: str | None = None, min=None, max=None, step=None,
            choices=None, optional: bool = False, scale: str = "linear", slider_max=None):
    """A dataclass field that carries its Param declaration (name and kind filled in by params_of).

    `scale="log"` and `slider_max` shape the widget only; validation reads min/max.
    """
    if kind is None:
        kind = _infer_kind(default, choices)
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, not {scale!r}")
    meta = {"param": dict(kind=kind, default=default, help=help, min=min, max=max, step=step,
                          choices=tuple(choices) if choices is not None else None, optional=optional,
                          scale=scale, slider_max=slider_max)}
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: json.loads(json.dumps(default)), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _infer_kind(default, choices) -> str:
    if choices is not None:
        return "choice"
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "float"
    if isinstance(default, (list, tuple)):
        return "list"
    return "str"


def params_of(section_cls) -> list[Param]:
    """The Params declared on a dataclass section, in field order (nested sections are skipped)."""
    params = []
    for field in dataclasses.fields(section_cls):
        meta = field.metadata.get("param")
        if meta is not None:
            params.append(Param(name=field.name, **meta))
    return params


def section_from_dict(section_cls, data: dict | None, prefix: str = ""):
    """Build a validated dataclass section; unknown keys and bad values raise ConfigError naming the key.

    Fields declared with `setting` are validated by their Param; fields without one must be nested
    dataclass sections and are built recursively.
    """
    if data is not None and not isinstance(data, dict):
        raise ConfigError.of("errors.params.not_mapping", where=prefix.rstrip(".") or "config", data=data)
    data = dict(data or {})
    hints = typing.get_type_hints(section_cls)
    values = {}
    for field in dataclasses.fields(section_cls):
        key = f"{prefix}{field.name}"
        meta = field.metadata.get("param")
        if meta is None:
            values[field.name] = section_from_dict(hints[field.name], data.pop(field.name, None), key + ".")
        elif field.name in data:
            values[field.name] = Param(name=field.name, **meta).validate(data.pop(field.name), key)
    if data:
        unknown = ", ".join(f"{prefix}{k}" for k in data)
        known = ", ".join(f.name for f in dataclasses.fields(section_cls))
        raise ConfigError.of("errors.params.unknown_key", unknown=unknown, known=known)
    return section_cls(**values)


def section_to_dict(section) -> dict:
    """Plain dict (YAML-safe) of a dataclass section, nested sections included."""
    return json.loads(json.dumps(dataclasses.asdict(section)))
