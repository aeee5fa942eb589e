"""The Training page's model picker: timm's models found by search, the choice in the run's config, and a
name timm does not know stopped on the page with close names, before any process starts."""
from __future__ import annotations

import pytest
import yaml

from tests.pages.conftest import open_page

pytestmark = pytest.mark.usefixtures("runs_dir")


def _config_shown(at) -> dict:
    return yaml.safe_load(next(code.value for code in at.code if "model:" in code.value))


def test_searching_timm_puts_the_chosen_model_in_the_config(demo_data_dir):
    at = open_page("4_Training.py", demo_data_dir)
    at.selectbox(key="cfg_model.name").select("timm/… (search timm's models)").run()
    at.text_input(key="train_timm_search").input("convnext atto").run()
    assert not at.exception, at.exception
    matches = at.selectbox(key="train_timm_model").options
    assert "timm/convnext_atto" in matches and all("convnext" in m and "atto" in m for m in matches)
    at.selectbox(key="train_timm_model").select("timm/convnext_atto").run()
    assert _config_shown(at)["model"]["name"] == "timm/convnext_atto"
    assert "timm-convnext_atto" in at.text_input(key="train_run_name").placeholder


def test_a_name_timm_does_not_know_is_refused_before_a_run_starts(demo_data_dir, runs_dir):
    at = open_page("4_Training.py", demo_data_dir)
    at.selectbox(key="cfg_model.name").select("timm/… (search timm's models)").run()
    at.text_input(key="train_timm_search").input("efficientnet_b00").run()
    assert any("No timm model name contains" in w.value for w in at.warning)
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    assert any("close names" in e.value and "timm/efficientnet_b0" in e.value for e in at.error)
    assert not any(p.is_dir() and not p.name.startswith(".") for p in runs_dir.iterdir())


def test_the_picker_in_korean_names_the_timm_search_and_says_what_it_did_not_find(demo_data_dir, monkeypatch):
    from core.i18n import text
    from tests.pages.conftest import run_page

    monkeypatch.setenv("MASKLAB_LANG", "ko")  # AppTest formats chosen values in the test's thread (see test_training_page)
    at = run_page("4_Training.py", demo_data_dir, state={"lang": "ko"})
    picker = at.selectbox(key="cfg_model.name")
    assert text("ko", "training.timm_option") in picker.options and picker.help == text("ko", "training.model_help")
    picker.select("timm/… (search timm's models)").run()
    at.text_input(key="train_timm_search").input("efficientnet_b00").run()
    assert not at.exception, at.exception
    assert at.text_input(key="train_timm_search").label == text("ko", "training.timm_search")
    assert text("ko", "training.timm_none", query="efficientnet_b00") in [w.value for w in at.warning]
    assert _config_shown(at)["model"]["name"] == "timm/efficientnet_b00"  # the page's choice, whatever the language
