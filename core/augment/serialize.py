"""Pipeline files in Albumentations' own format (`A.to_dict` / `A.save`, YAML or JSON), plus a Python snippet.

A file we write is exactly `A.save(compose)` with one addition, the Compose's `seed`, which
`A.load` passes back to `A.Compose(seed=...)`: so `A.load(path)` alone reproduces our draws, and
`load_pipeline(path)` does the same after checking every step against the catalogue.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import albumentations as A
import yaml

from core.augment.catalogue import get_entry
from core.augment.pipeline import (GROUP_P, SEED, OneOf, Pipeline, Step, build_pipeline, library_call,
                                   step_label)
from core.augment.schema import library_defaults, simplify_value
from core.errors import ConfigError

FORMATS = ("yaml", "json")
# Compose-level keys A.save writes; the pipeline model keeps only the seed.
_COMPOSE_KEYS = {"__class_fullname__", "p", "transforms", "bbox_params", "keypoint_params", "additional_targets",
                 "is_check_shapes", "seed", "strict", "mask_interpolation", "save_applied_params"}


def pipeline_to_dict(pipeline: Pipeline) -> dict:
    """`A.to_dict` of the built Compose (enabled steps only), with the seed; plain lists, YAML/JSON-safe."""
    data = A.to_dict(build_pipeline(pipeline))
    data["transform"]["seed"] = pipeline.seed
    return json.loads(json.dumps(data))


def pipeline_to_text(pipeline: Pipeline, fmt: str = "yaml") -> str:
    """The file contents, formatted as `A.save(..., data_format=fmt)` formats them."""
    data = pipeline_to_dict(pipeline)
    if fmt == "yaml":
        return yaml.safe_dump(data, default_flow_style=False, sort_keys=True)
    if fmt == "json":
        return json.dumps(data, indent=2)
    raise ConfigError(f"format: {fmt!r} is not one of {', '.join(FORMATS)}")


def save_pipeline(pipeline: Pipeline, path) -> Path:
    """Write the pipeline as YAML (.yaml/.yml) or JSON (.json); the folder is created if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(pipeline_to_text(pipeline, format_of(path)))
    return path


def format_of(path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix in (".yaml", ".yml"):
        return "yaml"
    if suffix == ".json":
        return "json"
    raise ConfigError(f"{path}: a pipeline file ends in .yaml, .yml or .json")


def read_pipeline(path) -> Pipeline:
    """The pipeline saved in `path` (JSON or YAML, by A.save or by us), checked step by step."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: pipeline file not found")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read the pipeline file ({error})") from None
    return parse_pipeline(text, source=str(path))


def load_pipeline(path) -> A.Compose:
    """The `A.Compose` saved in `path`, validated against the catalogue; what the trainer calls."""
    pipeline = read_pipeline(path)
    try:
        return build_pipeline(pipeline)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


def parse_pipeline(text: str, source: str = "pipeline") -> Pipeline:
    """A Pipeline from the text of a JSON or YAML pipeline file; errors start with `source`."""
    try:
        data = yaml.safe_load(text)  # YAML is a superset of JSON: one parser reads both formats
    except yaml.YAMLError as error:
        raise ConfigError(f"{source}: neither JSON nor YAML ({_first_line(error)})") from None
    try:
        return pipeline_from_dict(data)
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None


def pipeline_from_dict(data) -> Pipeline:
    """A Pipeline from `A.to_dict` output (the Compose at data['transform']), checked step by step."""
    if not isinstance(data, dict) or not isinstance(data.get("transform"), dict):
        raise ConfigError("not an Albumentations pipeline: expected a 'transform' mapping as A.save writes")
    compose = data["transform"]
    name = _short_name(compose.get("__class_fullname__"))
    if name != "Compose":
        raise ConfigError(f"the outer transform must be Compose, got {name!r}")
    unknown = sorted(set(compose) - _COMPOSE_KEYS)
    if unknown:
        raise ConfigError(f"Compose: unknown key {', '.join(unknown)}")
    steps = compose.get("transforms")
    if not isinstance(steps, list):
        raise ConfigError("Compose: 'transforms' must be a list of steps")
    seed = compose.get("seed")
    pipeline = Pipeline(steps=[], seed=0 if seed is None else SEED.validate(seed, "seed"))
    for number, step in enumerate(steps, start=1):
        pipeline.steps.append(_step_from_dict(step, number))
    return pipeline


def _step_from_dict(data, number: int, group_number: int | None = None):
    where = f"step {number}" if group_number is None else f"step {group_number} (OneOf) > {number}"
    if not isinstance(data, dict) or "__class_fullname__" not in data:
        raise ConfigError(f"{where}: expected a transform mapping with __class_fullname__, got {data!r}")
    name = _short_name(data["__class_fullname__"])
    args = {key: value for key, value in data.items() if key not in ("__class_fullname__", "p")}
    if name == "OneOf":
        if group_number is not None:
            raise ConfigError(f"{where}: a OneOf inside a OneOf is not supported")
        children = args.pop("transforms", None)
        if not isinstance(children, list) or not children:
            raise ConfigError(f"{where} (OneOf): 'transforms' must be a non-empty list")
        p = GROUP_P.validate(data.get("p", 0.5), f"{where} (OneOf): p")
        return OneOf(steps=[_step_from_dict(child, index, number) for index, child in enumerate(children, 1)], p=p)
    where = f"{where} ({name})"
    entry = get_entry_for(name, where)
    p = entry.p.validate(data.get("p", entry.p.default), f"{where}: p")
    accepted = set(entry.transform_cls.InitSchema.model_fields) | set(entry.defaults)
    unknown = sorted(set(args) - accepted)
    if unknown:
        raise ConfigError(f"{where}: unknown parameter {', '.join(unknown)} "
                          f"(known: {', '.join(sorted(entry.defaults))})")
    # Let the library read what it wrote (or what a person typed: `limit: 30`), then keep its normal form.
    canonical = library_call(lambda: library_defaults(entry.transform_cls, args), where)
    entry.check_args(canonical, where)
    return Step(name=name, args=canonical, p=p)


def get_entry_for(name: str, where: str):
    try:
        return get_entry(name)
    except ConfigError as error:
        raise ConfigError(f"{where}: {error}") from None


def _short_name(name) -> str:
    return str(name).rsplit(".", 1)[-1]


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]


def python_snippet(pipeline: Pipeline) -> str:
    """Copy-paste Python that builds the same Compose (same arguments, same seed, same draws)."""
    build_pipeline(pipeline)  # refuse to print code for an invalid pipeline
    steps = pipeline.enabled_steps()
    needs_tensor = any(s.name == "ToTensorV2" for s in _flatten(steps))
    lines = ["import albumentations as A"]
    if needs_tensor:
        lines.append("from albumentations.pytorch import ToTensorV2")
    lines += ["", "transform = A.Compose(["]
    for step in steps:
        if isinstance(step, OneOf):
            lines.append("    A.OneOf([")
            lines += [f"        {_call(child)}," for child in step.steps if child.enabled]
            lines.append(f"    ], p={step.p!r}),")
        else:
            lines.append(f"    {_call(step)},")
    lines.append(f"], seed={pipeline.seed!r})")
    return "\n".join(lines) + "\n"


def _flatten(steps) -> list[Step]:
    return [child for step in steps for child in (step.steps if isinstance(step, OneOf) else [step])]


def _call(step: Step) -> str:
    """'A.Rotate(limit=(-30.0, 30.0), p=0.5)': shown arguments always, hidden ones when not the default."""
    entry = get_entry(step.name)
    args = entry.check_args(step.args, step_label(step))
    if entry.spec.prepare is not None:
        args = entry.spec.prepare(args)
    shown = [param.name for param in entry.params]
    hidden = [name for name in args if name not in shown and args[name] != entry.defaults.get(name)]
    written = [f"{name}={simplify_value(args[name])!r}" for name in shown + hidden]
    prefix = "" if step.name == "ToTensorV2" else "A."
    return f"{prefix}{step.name}(" + ", ".join(written + [f"p={step.p!r}"]) + ")"


def export_dir() -> Path:
    """Where the page saves pipeline files: $MASKLAB_EXPORT_DIR, else exports/ in the repository."""
    configured = os.environ.get("MASKLAB_EXPORT_DIR")
    return Path(configured).expanduser() if configured else Path(__file__).resolve().parents[2] / "exports"


def export_path(name: str, fmt: str, folder=None) -> Path:
    """folder/name.fmt for a file name typed on the page; ConfigError for names that are not plain."""
    if fmt not in FORMATS:
        raise ConfigError(f"format: {fmt!r} is not one of {', '.join(FORMATS)}")
    stem = name.strip().removesuffix(f".{fmt}")
    if not stem or not all(ch.isalnum() or ch in "-_." for ch in stem) or stem.startswith("."):
        raise ConfigError(f"file name: {name!r} must be letters, digits, '-', '_' or '.' (no folders)")
    return Path(folder or export_dir()) / f"{stem}.{fmt}"
