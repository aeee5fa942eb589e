"""The Training page's pipeline choices turned into augment.* settings."""
from __future__ import annotations

from core.train.compose import BUILTIN, PAGE_PIPELINE, default_option, pipeline_options, pipeline_setting


def test_each_choice_becomes_the_setting_the_trainer_reads(tmp_path):
    page_file = tmp_path / "run.train-pipeline.yaml"
    assert pipeline_setting(BUILTIN, page_file) == ""  # empty = Resize + Normalize in core.train.inputs
    assert pipeline_setting(PAGE_PIPELINE, page_file) == str(page_file)
    assert pipeline_setting("light", page_file) == "light"


def test_options_keep_the_starting_configs_file_and_offer_the_page_pipeline_only_when_there_is_one():
    assert pipeline_options(["light", "heavy"], False) == [BUILTIN, "light", "heavy"]
    assert pipeline_options(["light"], True, "/x/p.yaml") == [BUILTIN, PAGE_PIPELINE, "light", "/x/p.yaml"]
    assert pipeline_options(["light"], True, "light") == [BUILTIN, PAGE_PIPELINE, "light"]
    assert default_option("", True, prefer_page=True) == PAGE_PIPELINE
    assert default_option("", True, prefer_page=False) == BUILTIN
    assert default_option("/x/p.yaml", False, prefer_page=True) == "/x/p.yaml"
