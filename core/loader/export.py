"""The loader settings (and the pipeline they feed) as trainer config sections: YAML text, or merged into a file.

A page updates only config files under configs/ or the exports folder: a typed path could otherwise rewrite a
finished run's config.yaml, or any file the server may write.
"""
from __future__ import annotations

import os
from pathlib import Path

import yaml

from core.augment.serialize import export_dir
from core.errors import ConfigError
from core.loader.config import LoaderConfig
from core.params import section_to_dict

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG_SUFFIXES = (".yaml", ".yml")
# Files a trainer writes: a folder holding one is a run directory, modified only by its own trainer.
RUN_MARKERS = ("status.json", "metrics.jsonl", "last.pt")


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
            raise ConfigError.of("errors_loader.export_bad_yaml", path=path, error=str(error)) from None
        if not isinstance(data, dict):
            raise ConfigError.of("errors_loader.export_not_mapping", path=path, kind=type(data).__name__)
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
        raise ConfigError.of("errors_loader.export_cannot_write", path=path, error=error.strerror) from None
    return path


def config_folders() -> list[Path]:
    """Where a page may update experiment configs: configs/ in the repository and the exports folder."""
    return [REPO_ROOT / "configs", export_dir()]


def config_export_path(typed) -> Path:
    """The config file a page may update for the path typed there (relative to the repository); ConfigError
    naming it when it is not a .yaml/.yml file under configs/ or the exports folder, or lies in a run directory."""
    from core.train.launch import runs_root

    text = str(typed or "").strip()
    folders = [folder.expanduser().resolve() for folder in config_folders()]
    where = " or ".join(map(str, folders))
    if not text:
        raise ConfigError.of("errors_loader.export_empty_path", where=where)
    path = Path(text).expanduser()
    path = (path if path.is_absolute() else REPO_ROOT / path).resolve()  # symlinks and '..' followed first
    if path.suffix not in CONFIG_SUFFIXES:
        raise ConfigError.of("errors_loader.export_suffix", path=text)
    folder = next((folder for folder in folders if path.is_relative_to(folder)), None)
    if folder is None:
        raise ConfigError.of("errors_loader.export_outside", path=text, where=where)
    in_run = path.is_relative_to(runs_root().resolve()) or any(
        (parent / marker).exists() for parent in [path.parent, *path.parent.parents]
        if parent.is_relative_to(folder) for marker in RUN_MARKERS)
    if in_run:
        raise ConfigError.of("errors_loader.export_in_run", path=text, where=where)
    return path
