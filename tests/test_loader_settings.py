"""The Loader page's settings between pages, the recommendation merge, and pipeline choice + export."""
from __future__ import annotations

import albumentations as A
import pytest
import yaml

from core.errors import ConfigError
from core.loader import LoaderConfig
from core.loader.export import loader_yaml, write_loader_section
from core.loader.preview import (BENCHMARK_PIPELINE, TYPED_PIPELINE, load_pipeline_source, pipeline_choices,
                                 pipeline_source)
from core.loader.settings import LOADER_CONFIG_KEY, apply_recommended, loader_config_from_session, store_loader_config
from core.params import section_to_dict


def test_the_session_helper_round_trips_what_the_page_stores():
    state = {}
    assert loader_config_from_session(state) is None
    config = LoaderConfig(batch_size=32, num_workers=1, sampler="weighted_random", shuffle=False)
    store_loader_config(state, config)
    assert LOADER_CONFIG_KEY == "loader_config" and isinstance(state[LOADER_CONFIG_KEY], dict)
    assert loader_config_from_session(state) == config
    state[LOADER_CONFIG_KEY] = {"batch_size": 0}  # a broken value: the reader falls back, it does not crash
    assert loader_config_from_session(state) is None


def test_apply_recommended_takes_the_measured_settings_including_batch_size():
    mine = section_to_dict(LoaderConfig(batch_size=64, num_workers=2, prefetch_factor=4, timeout=5.0,
                                        persistent_workers=True, sampler="weighted_random", shuffle=False,
                                        drop_last=True))
    recommended = section_to_dict(LoaderConfig(batch_size=16, num_workers=1, cache="memmap", pin_memory=False,
                                               persistent_workers=False))
    merged = apply_recommended(mine, recommended)
    assert (merged["batch_size"], merged["num_workers"], merged["cache"]) == (16, 1, "memmap")
    assert merged["pin_memory"] is False and merged["persistent_workers"] is False
    assert merged["sampler"] == "weighted_random" and merged["drop_last"] is True  # not measured: kept
    assert merged["prefetch_factor"] == 4 and merged["timeout"] == 5.0  # still meaningful with 1 worker
    no_workers = apply_recommended(mine, {**recommended, "num_workers": 0})
    assert no_workers["prefetch_factor"] is None and no_workers["timeout"] == 0.0
    assert no_workers["persistent_workers"] is False
    assert mine["batch_size"] == 64  # the input is not modified


@pytest.fixture
def export_dir(tmp_path, monkeypatch):
    folder = tmp_path / "exports"
    folder.mkdir()
    monkeypatch.setenv("MASKLAB_EXPORT_DIR", str(folder))
    return folder


def test_choices_list_the_augmentation_pages_saved_files(export_dir):
    saved = export_dir / "mine.yaml"  # the page saves in Albumentations' own format
    A.save(A.Compose([A.Resize(64, 48), A.HorizontalFlip()]), str(saved), data_format="yaml")
    (export_dir / "notes.txt").write_text("not a pipeline")
    choices = pipeline_choices()
    assert choices[0] == BENCHMARK_PIPELINE and choices[-1] == TYPED_PIPELINE
    assert str(saved) in choices and not any("notes.txt" in c for c in choices)
    assert pipeline_source(str(saved)) == str(saved)
    assert isinstance(load_pipeline_source(pipeline_source(str(saved))), A.Compose)
    assert pipeline_source(BENCHMARK_PIPELINE) is None


def test_a_typed_path_loads_or_names_the_file(tmp_path):
    good = tmp_path / "typed.json"
    A.save(A.Compose([A.Resize(32, 24), A.Normalize()]), str(good), data_format="json")
    source = pipeline_source(TYPED_PIPELINE, str(good))
    assert source == str(good.resolve()) and isinstance(load_pipeline_source(source), A.Compose)
    with pytest.raises(ConfigError, match="type the path"):
        pipeline_source(TYPED_PIPELINE, "  ")
    missing = tmp_path / "nowhere.yaml"
    with pytest.raises(ConfigError, match=f"^pipeline {missing}: .*Augmentation page"):
        load_pipeline_source(pipeline_source(TYPED_PIPELINE, str(missing)))
    broken = tmp_path / "broken.yaml"
    broken.write_text("transform: [1, 2")
    with pytest.raises(ConfigError, match=f"pipeline {broken}"):
        load_pipeline_source(str(broken))


def test_export_writes_augment_train_beside_the_loader_section(tmp_path):
    target = tmp_path / "exp.yaml"
    target.write_text(yaml.safe_dump({"augment": {"train": "old", "val": "baseline"}, "train": {"epochs": 3}}))
    write_loader_section(LoaderConfig(batch_size=8), target, pipeline="/data/pipes/mine.yaml")
    written = yaml.safe_load(target.read_text())
    assert written["augment"] == {"train": "/data/pipes/mine.yaml", "val": "baseline"}
    assert written["loader"]["batch_size"] == 8 and written["train"] == {"epochs": 3}
    write_loader_section(LoaderConfig(batch_size=4), target)  # benchmark pipeline: augment left alone
    assert yaml.safe_load(target.read_text())["augment"]["train"] == "/data/pipes/mine.yaml"
    assert yaml.safe_load(loader_yaml(LoaderConfig(), "competition"))["augment"] == {"train": "competition"}
    assert "augment" not in yaml.safe_load(loader_yaml(LoaderConfig()))
