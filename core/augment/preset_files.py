"""Pipeline presets shipped with Mask Lab: Albumentations files in core/augment/presets/."""
from __future__ import annotations

from pathlib import Path

from core.augment.pipeline import Pipeline
from core.augment.serialize import read_pipeline
from core.errors import ConfigError

PRESET_DIR = Path(__file__).resolve().parent / "presets"


def preset_names() -> list[str]:
    """'baseline' first (Resize + Normalize), then the others alphabetically."""
    names = sorted(path.stem for path in PRESET_DIR.glob("*.yaml"))
    return sorted(names, key=lambda name: name != "baseline")


def preset_path(name: str) -> Path:
    path = PRESET_DIR / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError.of("errors_augment.preset", name=name, presets=", ".join(preset_names()))
    return path


def load_preset(name: str) -> Pipeline:
    return read_pipeline(preset_path(name))


def resolve_pipeline(name_or_path) -> Path:
    """A preset name ('competition') or a pipeline file path, as a config value may give either."""
    text = str(name_or_path)
    if text in preset_names():
        return preset_path(text)
    path = Path(text).expanduser()
    if not path.is_file():
        raise ConfigError.of("errors_augment.not_file_or_preset", text=text, presets=", ".join(preset_names()))
    return path
