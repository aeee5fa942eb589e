"""The loader settings (and the pipeline they feed) as trainer config sections: YAML text, or merged into a file."""
from __future__ import annotations

import os
from pathlib import Path

import yaml

from core.errors import ConfigError
from core.loader.config import LoaderConfig
from core.params import section_to_dict


def config_sections(config: LoaderConfig, pipeline: str | None = None) -> dict:
    """{'loader': ..., 'augment': {'train': pipeline}}; the augment part only when a pipeline file/preset is given."""
    sections = {"loader": section_to_dict(config)}
    if pipeline:
        sections["augment"] = {"train": str(pipeline)}
    return sections


def loader_yaml(config: LoaderConfig, pipeline: str | None = None) -> str:
    """The sections as YAML, ready to paste into an experiment config."""
    return yaml.safe_dump(config_sections(config, pipeline), sort_keys=False)


def write_loader_section(config: LoaderConfig, path, pipeline: str | None = None) -> Path:
    """Set `loader` (and `augment.train` when `pipeline` is given) in a YAML config file, created if missing.

    Every other section and key is kept, including `augment.val`.
    """
    path = Path(path).expanduser()
    data = {}
    if path.exists():
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as error:
            raise ConfigError(f"{path}: not valid YAML ({error}); fix or choose another file") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of config sections, not {type(data).__name__}")
    sections = config_sections(config, pipeline)
    data["loader"] = sections["loader"]
    if "augment" in sections:
        augment = data.get("augment") if isinstance(data.get("augment"), dict) else {}
        data["augment"] = {**augment, **sections["augment"]}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(yaml.safe_dump(data, sort_keys=False))
        tmp.replace(path)
    except OSError as error:
        raise ConfigError(f"{path}: cannot write ({error.strerror}); choose another file") from None
    return path
