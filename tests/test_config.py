"""The experiment config: defaults, YAML round trip, --set overrides, rejection naming the key."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.config import (ExperimentConfig, apply_override, config_params, config_to_yaml, load_config,
                         save_config)
from core.errors import ConfigError
from core.loader.config import LoaderConfig

REPO = Path(__file__).resolve().parents[1]


def test_defaults_have_every_section_and_the_design_keys():
    config = load_config()
    assert isinstance(config.loader, LoaderConfig)
    keys = {key for key, _ in config_params()}
    assert {"data.dir", "train.epochs", "run.root", "loader.batch_size", "model.name", "loss.name",
            "optim.lr", "sched.name", "augment.train", "augment.val"} <= keys


def test_yaml_round_trip_keeps_every_value(tmp_path):
    config = load_config(overrides=["train.epochs=7", "data.image_size=[128, 96]", "model.heads=multi",
                                    "loader.num_samples=100", "loss.label_smoothing=0.1", "run.name=abc"])
    path = save_config(config, tmp_path / "c.yaml")
    again = load_config(path)
    assert again == config
    assert again.data.image_size == (128, 96)
    assert config_to_yaml(again) == path.read_text()


def test_overrides_parse_the_declared_type():
    config = load_config(overrides=["train.epochs=3", "train.amp=false", "optim.lr=1e-2", "loader.pin_memory=none"])
    assert config.train.epochs == 3 and config.train.amp is False
    assert config.optim.lr == pytest.approx(0.01)
    assert config.loader.pin_memory is None
    assert apply_override(config, "data.dir=/x/y").data.dir == "/x/y"


@pytest.mark.parametrize("override, named", [
    ("train.epochs=0", "train.epochs"),
    ("train.epochz=3", "train.epochz"),
    ("trian.epochs=3", "trian.epochs"),
    ("model.name=resnet999", "resnet999"),
    ("loader.batch_size=abc", "loader.batch_size"),
    ("train.epochs", "train.epochs"),
])
def test_bad_overrides_name_the_key(override, named):
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_config(overrides=[override])


def test_bad_yaml_values_and_unknown_keys_name_the_file_and_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("train:\n  epochs: -1\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: train\.epochs: -1 is below the minimum"):
        load_config(path)
    path.write_text("optim:\n  learning_rate: 0.1\n")
    with pytest.raises(ConfigError, match=r"optim\.learning_rate"):
        load_config(path)
    path.write_text("- just a list\n")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_config(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")


def test_demo_config_trains_the_small_cnn_on_the_demo_data():
    config = load_config(REPO / "configs" / "demo.yaml")
    assert config.model.name == "small_cnn"
    assert config.data.dir == "data/demo"
    assert max(config.data.image_size) <= 128  # CPU-sized
    assert config != ExperimentConfig()
