"""The Experiments page driven like a user: compose an A/B experiment, start it, watch it finish in the
background, read the comparison, turn the winner into a Training config. Real runs on tiny demo data."""
from __future__ import annotations

import time

import pytest

from core.config import load_config
from core.experiments.queue import experiments_root, read_queue
from tests.pages.conftest import all_text, assert_no_exception, dataframe_with, open_page, run_page

LIMIT_S = 600
TINY = "model.name=small_cnn\nmodel.width=8\ndata.image_size=[48, 36]\nloader.batch_size=16\nloader.num_workers=0"

pytestmark = pytest.mark.usefixtures("runs_dir")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    from core.data.demo import generate_demo_dataset

    out = tmp_path_factory.mktemp("exppage") / "data"
    generate_demo_dataset(out, people=16, eval_people=2, seed=4)
    return out


def compose(at, name: str, b_extra: str):
    at.text_input(key="exp_name").input(name)
    at.number_input(key="exp_folds").set_value(2)
    at.number_input(key="exp_epochs").set_value(1)
    at.text_area(key="exp_extra_0").input(TINY)
    at.text_area(key="exp_extra_1").input(TINY + "\n" + b_extra)
    return at.run()


def test_empty_page_says_how_to_start(data_dir):
    at = open_page("7_Experiments.py", data_dir)
    assert "No experiments yet" in all_text(at)
    assert at.button(key="exp_start").disabled  # not named yet


def test_a_bad_setting_is_named_and_nothing_is_queued(data_dir, runs_dir):
    at = compose(open_page("7_Experiments.py", data_dir), "bad", "loss.nam=focal")
    assert_no_exception(at)
    assert any("variant B: unknown key loss.nam" in str(error.value) for error in at.error)
    assert not (experiments_root(runs_dir) / "bad").exists()


def test_ab_experiment_from_the_page(data_dir, runs_dir, tmp_path, monkeypatch):
    import core.experiments.queue as queue

    monkeypatch.setattr(queue, "CONFIGS_DIR", tmp_path / "configs")  # not the repository's configs/
    at = compose(open_page("7_Experiments.py", data_dir), "page-ab", "loss.label_smoothing=0.1")
    assert_no_exception(at)
    at.button(key="exp_start").click().run()
    assert_no_exception(at)
    folder = experiments_root(runs_dir) / "page-ab"
    assert len(read_queue(folder)) == 4
    deadline = time.monotonic() + LIMIT_S
    while not all(item["state"] in ("finished", "failed") for item in read_queue(folder)):
        assert time.monotonic() < deadline, read_queue(folder)
        time.sleep(1)
    time.sleep(1)  # the runner removes its pid file as it exits
    at.run()
    assert_no_exception(at)
    assert {item["state"] for item in read_queue(folder)} == {"finished"}
    table = dataframe_with(at, "variant", "runs", "oof_f1")
    assert list(table["variant"]) == ["A", "B"] and list(table["runs"]) == [2, 2]
    assert table["oof_f1"].notna().all()
    assert "A vs B: within noise" in all_text(at) or " beats " in all_text(at)

    promote = at.button(key="exp_promote")
    winner = promote.label.split()[1]
    promote.click().run()
    assert_no_exception(at)
    config = load_config(tmp_path / "configs" / f"page-ab-{winner}.yaml")
    assert (config.data.folds, config.model.width) == (0, 8)
    assert config.loss.label_smoothing == (0.1 if winner == "B" else 0.0)
    assert at.session_state["train_base"] == f"configs/page-ab-{winner}.yaml"


# ----- in Korean (issue #16) ------------------------------------------------------------------------------
def korean(key: str, **values) -> str:
    from core.i18n import text
    return text("ko", key, **values)


def test_the_page_and_its_errors_in_korean(data_dir, runs_dir):
    at = run_page("7_Experiments.py", data_dir, state={"lang": "ko"})
    assert_no_exception(at)
    assert [title.value for title in at.title] == [korean("experiments.title")]
    assert korean("experiments.caption") in [caption.value for caption in at.caption]
    assert korean("experiments.none_yet", root=experiments_root(runs_dir)) in [info.value for info in at.info]
    assert at.number_input(key="exp_folds").label == korean("experiments.folds")
    assert at.number_input(key="exp_folds").help == korean("experiments.folds_help")
    assert at.selectbox(key="exp_pipeline_0").options[0] == korean("experiments.builtin")
    assert at.button(key="exp_start").help == korean("experiments.start_help_unnamed")

    # A bad value in a variant: the experiment's words and the parameter's own, both in Korean.
    at = compose(at, "bad-ko", "loss.label_smoothing=0.9")
    assert_no_exception(at)
    assert [error.value for error in at.error] == [
        "변형 B: loss.label_smoothing: 0.9은(는) 최댓값 0.5보다 큽니다\n\n" + korean("experiments.fix_above")]
    at.text_input(key="exp_seeds").input("0, one").run()
    assert [error.value for error in at.error] == [korean("errors_experiments.seeds_text", text="0, one")]
    assert not (experiments_root(runs_dir) / "bad-ko").exists()

    at.session_state["lang"] = "en"  # the same mistake in English
    at.text_input(key="exp_seeds").input("0").run()
    assert [title.value for title in at.title] == ["Experiments"]
    assert [error.value for error in at.error] == [
        "variant B: loss.label_smoothing: 0.9 is above the maximum 0.5 (Label smoothing of ce/focal)\n\n"
        "Fix it above; nothing is queued until the experiment is valid."]


def test_a_queued_experiment_is_watched_in_korean(data_dir, runs_dir):
    from core.config import config_from_dict
    from core.experiments.queue import create_experiment
    from core.experiments.spec import make_spec

    base = config_from_dict({"data": {"dir": str(data_dir)}, "model": {"name": "small_cnn"}})
    create_experiment(make_spec("queued-ko", base, {"A": {}, "B": {"loss.label_smoothing": "0.1"}}, folds=2), runs_dir)
    at = run_page("7_Experiments.py", data_dir, state={"lang": "ko"})
    assert_no_exception(at)
    assert "**queued-ko** — 대기 (대기 4)" in all_text(at)
    items = dataframe_with(at, "이름", "상태")
    assert list(items.columns)[:5] == ["이름", "변형", "폴드", "시드", "상태"] and list(items["상태"]) == ["queued"] * 4
    assert list(dataframe_with(at, "변형", "실행 수", "OOF F1")["변형"]) == ["A", "B"]
    assert at.button(key="exp_resume").label == korean("experiments.resume")
