"""Pipeline files in Albumentations' own format (`A.to_dict` / `A.save`, YAML or JSON), plus a Python snippet.

A file we write is exactly `A.save(compose)` with one addition, the Compose's `seed`, which
`A.load` passes back to `A.Compose(seed=...)`: so `A.load(path)` alone reproduces our draws.
Reading accepts any file `A.load` accepts; transforms outside the catalogue are kept as written.
"""
from __future__ import annotations

import inspect
import json
import os
from pathlib import Path

import albumentations as A
import yaml

from albumentations.core.serialization import SERIALIZABLE_REGISTRY, register_additional_transforms

from core.augment.catalogue import catalogue, get_entry
from core.augment.library_errors import library_call
from core.augment.pipeline import GROUP_P, SEED, LibraryStep, OneOf, Pipeline, Step, build_pipeline, step_label
from core.augment.schema import simplify_value
from core.errors import ConfigError

FORMATS = ("yaml", "json")
_ONE_OF_KEYS = {"__class_fullname__", "p", "transforms"}  # a OneOf with more than these stays as written
_COMPOSE_KEYS = set(inspect.signature(A.Compose.__init__).parameters) - {"self", "transforms", "seed"}


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
    raise ConfigError.of("errors_augment.format", fmt=fmt, formats=", ".join(FORMATS))


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
    raise ConfigError.of("errors_augment.extension", path=path)


def read_pipeline(path) -> Pipeline:
    """The pipeline saved in `path` (JSON or YAML, by A.save or by us), checked step by step."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError.of("errors_augment.file_not_found", path=path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError.of("errors_augment.file_unreadable", path=path, error=error) from None
    return parse_pipeline(text, source=str(path))


def load_pipeline(path) -> A.Compose:
    """The `A.Compose` saved in `path` (any file A.load reads), each step checked; what the trainer calls."""
    pipeline = read_pipeline(path)
    try:
        return build_pipeline(pipeline)
    except ConfigError as error:
        raise ConfigError.of("errors_augment.in_file", path=path, error=error) from None


def parse_pipeline(text: str, source: str = "pipeline") -> Pipeline:
    """A Pipeline from the text of a JSON or YAML pipeline file; errors start with `source`."""
    try:
        data = yaml.safe_load(text)  # YAML is a superset of JSON: one parser reads both formats
    except yaml.YAMLError as error:
        raise ConfigError.of("errors_augment.not_json_or_yaml", source=source, error=_first_line(error)) from None
    try:
        return pipeline_from_dict(data)
    except ConfigError as error:
        raise ConfigError.of("errors_augment.in_file", path=source, error=error) from None


def pipeline_from_dict(data) -> Pipeline:
    """A Pipeline from anything A.from_dict reads (the Compose at data['transform']), checked step by step.

    Catalogue transforms become editable steps, a OneOf of them a group; any other transform the
    library knows (Blur, PadIfNeeded, SomeOf, Sequential...) is kept as written, as a LibraryStep.
    """
    if not isinstance(data, dict) or not isinstance(data.get("transform"), dict):
        raise ConfigError.of("errors_augment.not_a_pipeline")
    outer = data["transform"]
    if _short_name(outer.get("__class_fullname__")) != "Compose":  # A.save of a single transform or group
        return Pipeline(steps=[_step_from_dict(outer, "step 1")])
    compose_args = {key: value for key, value in outer.items() if key not in ("__class_fullname__", "transforms", "seed")}
    unknown = sorted(set(compose_args) - _COMPOSE_KEYS)
    if unknown:
        raise ConfigError.of("errors_augment.compose_key", unknown=", ".join(unknown), known=", ".join(sorted(_COMPOSE_KEYS)))
    library_call(lambda: A.Compose([], **compose_args), "Compose")
    steps = outer.get("transforms")
    if not isinstance(steps, list):
        raise ConfigError.of("errors_augment.transforms_list", where="Compose")
    seed = outer.get("seed")
    return Pipeline(steps=[_step_from_dict(step, f"step {number}") for number, step in enumerate(steps, start=1)],
                    seed=0 if seed is None else SEED.validate(seed, "seed"), compose_args=compose_args)


def _step_from_dict(data, where: str):
    """A Step, a OneOf group or a LibraryStep, whichever holds `data` exactly; errors start with `where`."""
    if not isinstance(data, dict) or "__class_fullname__" not in data:
        raise ConfigError.of("errors_augment.not_a_transform", where=where, data=data)
    name = _short_name(data["__class_fullname__"])
    where = f"{where} ({name})"
    register_additional_transforms()  # ToTensorV2 and friends join the registry only when asked
    if name not in SERIALIZABLE_REGISTRY and data["__class_fullname__"] not in SERIALIZABLE_REGISTRY:
        raise ConfigError.of("errors_augment.unknown_library_transform", where=where, name=name, version=A.__version__)
    children = data.get("transforms")
    if children is not None:
        if not isinstance(children, list):
            raise ConfigError.of("errors_augment.transforms_list", where=where)
        # Each child first, so that a bad one is named where it sits: "step 3 (SomeOf) > 2 (Blur): ..."
        members = [_step_from_dict(child, f"{where} > {index}") for index, child in enumerate(children, start=1)]
        if name == "OneOf" and members and all(isinstance(member, Step) for member in members) \
                and set(data) <= _ONE_OF_KEYS:
            return OneOf(steps=members, p=GROUP_P.validate(data.get("p", 0.5), f"{where}: p"))
    elif name in catalogue():
        step = _catalogue_step(name, data, where)
        if step is not None:
            return step
    library_call(lambda: A.from_dict({"transform": data}), where)
    return LibraryStep(data=json.loads(json.dumps(data)))


def _catalogue_step(name: str, data: dict, where: str) -> Step | None:
    """An editable step, or None where a widget could not hold what the file says (then kept as written)."""
    entry = get_entry(name)
    args = {key: value for key, value in data.items() if key not in ("__class_fullname__", "p")}
    if set(args) - set(entry.defaults):
        return None  # the library ignores unknown arguments; keeping the step as written keeps them too
    p = data.get("p", 0.5)  # as A.from_dict reads a step without p
    _, checked = entry.build(args, p, where)  # the library judges; `limit: 30` comes back as (-30.0, 30.0)
    for param in entry.params:
        try:
            param.validate(checked[param.name])
        except ConfigError:
            return None  # e.g. Affine scale different per axis: no widget shows that
    return Step(name=name, args=checked, p=float(p))


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
    extra = "".join(f", {key}={value!r}" for key, value in pipeline.compose_args.items())
    lines.append(f"], seed={pipeline.seed!r}{extra})")
    return "\n".join(lines) + "\n"


def _flatten(steps) -> list:
    return [child for step in steps for child in (step.steps if isinstance(step, OneOf) else [step])]


def _call(step) -> str:
    """'A.Rotate(limit=(-30.0, 30.0), p=0.5)': shown arguments always, hidden ones when not the default."""
    if isinstance(step, LibraryStep):  # as the file wrote it, so the code builds exactly that
        return f"A.from_dict({{'transform': {step.data!r}}})"
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
        raise ConfigError.of("errors_augment.format", fmt=fmt, formats=", ".join(FORMATS))
    stem = name.strip().removesuffix(f".{fmt}")
    if not stem or not all(ch.isalnum() or ch in "-_." for ch in stem) or stem.startswith("."):
        raise ConfigError.of("errors_augment.file_name", name=name)
    return Path(folder or export_dir()) / f"{stem}.{fmt}"
