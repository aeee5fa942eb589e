"""Errors of core/ that a page shows: English in str() (CLI, logs, other tests), Korean on a Korean page."""
import pytest

from core import i18n
from core.errors import ConfigError


def korean(error: BaseException, monkeypatch) -> str:
    monkeypatch.setenv("MASKLAB_LANG", "ko")
    return i18n.localized_error(error)


def test_train_errors_keep_their_english_and_show_in_korean(tmp_path, monkeypatch):
    from core.train.checkpoints import load_checkpoint
    from core.train.models import check_model_name
    from core.train.runs import check_run_name

    with pytest.raises(ConfigError) as raised:
        check_run_name("../up")
    assert str(raised.value) == ("run.name: '../up' must be letters, digits, '-', '_' or '.', not starting with "
                                 "'.' (no folders)")
    assert korean(raised.value, monkeypatch) == ("run.name: '../up'은(는) 글자, 숫자, '-', '_', '.'만 쓸 수 있고 "
                                                 "'.'으로 시작할 수 없습니다 (폴더 불가)")
    monkeypatch.delenv("MASKLAB_LANG")
    with pytest.raises(ConfigError) as raised:
        load_checkpoint(tmp_path / "last.pt")
    assert str(raised.value) == f"{tmp_path / 'last.pt'}: no checkpoint; this run cannot be resumed (start a new one)"
    assert korean(raised.value, monkeypatch) == (f"{tmp_path / 'last.pt'}: 체크포인트가 없어 이 실행은 이어서 "
                                                 f"학습할 수 없습니다 (새 실행을 시작하세요)")
    monkeypatch.delenv("MASKLAB_LANG")
    with pytest.raises(ConfigError) as raised:
        check_model_name("zzzz_not_a_model_qqq")
    assert str(raised.value).startswith("model.name: 'zzzz_not_a_model_qqq' is not a model here (ours: ")
    assert korean(raised.value, monkeypatch).startswith("model.name: 'zzzz_not_a_model_qqq'은(는) 여기 있는 모델이 "
                                                        "아닙니다 (우리 모델: ")


def test_loader_errors_keep_their_english_and_show_in_korean(tmp_path, monkeypatch):
    from core.loader.config import LoaderConfig
    from core.loader.samplers import build_sampler
    from core.loader.validate import validate_loader_config

    with pytest.raises(ConfigError) as raised:
        validate_loader_config(LoaderConfig(shuffle=True, sampler="random"))
    assert str(raised.value) == ("loader.shuffle: shuffle and sampler=random cannot both be set: the sampler already "
                                 "decides the order. Turn shuffle off, or set sampler to none.")
    assert korean(raised.value, monkeypatch) == ("loader.shuffle: shuffle과 sampler=random를 함께 설정할 수 "
                                                 "없습니다. 순서는 이미 샘플러가 정합니다. shuffle을 끄거나 "
                                                 "sampler를 none으로 두세요.")
    monkeypatch.delenv("MASKLAB_LANG")
    with pytest.raises(ConfigError) as raised:
        build_sampler("weighted_random", 10)
    assert str(raised.value) == ("loader.sampler: weighted_random needs the class label of every image; this dataset "
                                 "has none (use it with a training dataset)")
    assert korean(raised.value, monkeypatch).startswith("loader.sampler: weighted_random은 모든 이미지의 클래스 라벨이")


def test_data_and_config_errors_keep_their_english_and_show_in_korean(tmp_path, monkeypatch):
    from core.config import LossConfig
    from core.data import create_dataset
    from core.params import section_from_dict

    with pytest.raises(ConfigError) as raised:
        create_dataset(tmp_path, split="test")
    assert str(raised.value) == "split: must be one of train, val, all, eval, got 'test'"
    assert korean(raised.value, monkeypatch) == "split: train, val, all, eval 중 하나여야 하는데 'test'입니다"
    monkeypatch.delenv("MASKLAB_LANG")
    with pytest.raises(ConfigError) as raised:
        section_from_dict(LossConfig, {"nope": 1}, prefix="loss.")
    assert str(raised.value).startswith("unknown key loss.nope (known keys here: ")
    assert korean(raised.value, monkeypatch).startswith("알 수 없는 키 loss.nope (여기서 쓸 수 있는 키: ")


def test_a_pipeline_files_error_names_the_file_and_shows_the_inner_error_in_korean(monkeypatch):
    from core.augment.serialize import parse_pipeline

    with pytest.raises(ConfigError) as raised:
        parse_pipeline("steps: []", source="mine.yaml")
    assert str(raised.value) == ("mine.yaml: not an Albumentations pipeline: expected a 'transform' mapping as "
                                 "A.save writes")
    assert korean(raised.value, monkeypatch) == ("mine.yaml: Albumentations 파이프라인이 아닙니다: A.save가 쓰는 "
                                                 "것처럼 'transform' 매핑이 있어야 합니다")
