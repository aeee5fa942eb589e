"""The loader settings as the trainer's config section: YAML text, or merged into a config file."""
from __future__ import annotations

import os
from pathlib import Path

import yaml

from core.errors import ConfigError
from core.loader.config import LoaderConfig
from core.params import section_to_dict


def loader_yaml(config: LoaderConfig) -> str:
    """`loader:` section YAML, ready to paste into an experiment config."""
    return yaml.safe_dump({"loader": section_to_dict(config)}, sort_keys=False)


def write_loader_section(config: LoaderConfig, path) -> Path:
    """Set the `loader` section of a YAML config file (created if missing); other sections are kept."""
    path = Path(path).expanduser()
    data = {}
    if path.exists():
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as error:
            raise ConfigError(f"{path}: not valid YAML ({error}); fix or choose another file") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of config sections, not {type(data).__name__}")
    data["loader"] = section_to_dict(config)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(yaml.safe_dump(data, sort_keys=False))
        tmp.replace(path)
    except OSError as error:
        raise ConfigError(f"{path}: cannot write ({error.strerror}); choose another file") from None
    return path
