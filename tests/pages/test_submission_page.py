"""The Submission page: predict the eval set with a run, validate and save submission.csv, compare class
distributions, download; and the clear messages for no runs, no eval/, a damaged checkpoint, a running run."""
from __future__ import annotations

import json
import os
import shutil

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.pages.conftest import REPO_ROOT
from tests.pages.conftest import open_page as open_checked_page
from tests.pages.tiny_run import finished_run


pytestmark = pytest.mark.usefixtures("runs_dir")


def open_page(data_dir) -> AppTest:
    return open_checked_page("6_Submission.py", data_dir)


def submit_with_last_checkpoint_and_flip_tta(demo_data_dir, tmp_path) -> tuple:
    """(run directory, page) after making a submission from a tiny run's last checkpoint with flip TTA."""
    run_dir = finished_run(demo_data_dir, tmp_path / "runs", "tiny")
    at = open_page(demo_data_dir)
    at.radio(key="sub_checkpoint").set_value("last")
    at.selectbox(key="sub_tta").select("flip")
    at.button(key="sub_make").click().run()
    assert not at.exception, at.exception
    return run_dir, at


def test_no_runs_yet(demo_data_dir):
    at = open_page(demo_data_dir)
    assert any("No run with a checkpoint" in info.value for info in at.info)


def test_make_a_submission_with_tta_and_check_the_file(demo_data_dir, tmp_path):
    run_dir, at = submit_with_last_checkpoint_and_flip_tta(demo_data_dir, tmp_path)
    assert any("last checkpoint" in s.value and "raw weights, flip TTA" in s.value for s in at.success)
    submission = pd.read_csv(run_dir / "submission.csv")
    info = pd.read_csv(demo_data_dir / "eval" / "info.csv")
    assert submission["ImageID"].tolist() == info["ImageID"].tolist()
    assert submission["ans"].between(0, 17).all()
    assert any("Valid" in s.value for s in at.success)
    assert at.get("download_button")[0].proto.label == "Download submission.csv"
    chart = at.get("vega_lite_chart")[0]
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
    data = convert_arrow_bytes_to_pandas_df(chart.proto.datasets[0].data.data)
    assert set(data["set"]) == {"submission", "training"}
    assert data[data["set"] == "submission"]["count"].sum() == len(info)


def test_the_val_f1_of_each_tta_choice_is_shown_and_labels_the_choices(demo_data_dir, tmp_path):
    from core.train.tta import TTA_CHOICES

    run_dir = finished_run(demo_data_dir, tmp_path / "runs", "tiny")
    at = open_page(demo_data_dir)
    assert at.selectbox(key="sub_tta").options == list(TTA_CHOICES)  # not scored yet: plain names
    at.button(key="sub_tta_score").click().run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table["TTA"]) == list(TTA_CHOICES) and table["val F1"].between(0, 1).all()
    record = json.loads((run_dir / "tta_val_f1.json").read_text())
    assert record["checkpoint"] == "best" and list(record["val_f1"].values()) == list(table["val F1"])
    at = open_page(demo_data_dir)  # a new session reads the scores back into the choices' labels
    flip = record["val_f1"]["flip"]
    assert f"flip · val F1 {flip:.4f}" in at.selectbox(key="sub_tta").options
    at.radio(key="sub_checkpoint").set_value("last").run()  # scored with best: last's labels stay plain
    assert at.selectbox(key="sub_tta").options == list(TTA_CHOICES)


def test_clear_messages_for_missing_eval_damaged_checkpoint_and_running_run(demo_data_dir, tmp_path):
    run_dir = finished_run(demo_data_dir, tmp_path / "runs", "tiny")
    no_eval = tmp_path / "no-eval"
    shutil.copytree(demo_data_dir / "train", no_eval / "train")
    at = open_page(no_eval)
    assert any("no eval/info.csv" in e.value and "home page" in e.value for e in at.error)
    assert at.button(key="sub_make").disabled

    (run_dir / "best.pt").write_bytes(b"not a checkpoint")
    at = open_page(demo_data_dir)
    at.button(key="sub_make").click().run()
    assert not at.exception, at.exception
    assert any("tiny/best.pt: cannot be read as a checkpoint" in e.value and "damaged" in e.value and "other checkpoint" in e.value
               for e in at.error)
    assert not any("weights_only" in e.value for e in at.error)  # torch's advice about its flag does not apply
    assert not (run_dir / "submission.csv").exists()

    status = json.loads((run_dir / "status.json").read_text())
    (run_dir / "status.json").write_text(json.dumps({**status, "state": "running", "pid": os.getpid()}))
    at = open_page(demo_data_dir)
    assert any("still training" in w.value for w in at.warning)
    assert at.button(key="sub_make").disabled
    at.checkbox(key="sub_while_running").check().run()
    assert not at.button(key="sub_make").disabled


def grader_macro_f1(truth, predicted, classes: int = 18) -> float:
    """The competition's macro F1 written out: F1 per class over all 18 classes (0 where a class has neither
    true nor predicted images), averaged without weights."""
    scores = []
    for label in range(classes):
        hits = sum(t == label and p == label for t, p in zip(truth, predicted))
        wrong = sum((t == label) != (p == label) for t, p in zip(truth, predicted))
        scores.append(2 * hits / (2 * hits + wrong) if hits + wrong else 0.0)
    return sum(scores) / classes


def test_without_eval_one_error_and_nothing_asks_for_the_disabled_button(demo_data_dir, tmp_path):
    run_dir = finished_run(demo_data_dir, tmp_path / "runs", "tiny")
    info = pd.read_csv(demo_data_dir / "eval" / "info.csv")
    info.assign(ans=3).to_csv(run_dir / "submission.csv", index=False)  # a file made earlier, elsewhere
    no_eval = tmp_path / "no-eval"
    shutil.copytree(demo_data_dir / "train", no_eval / "train")
    at = open_page(no_eval)
    assert at.button(key="sub_make").disabled
    assert len(at.error) == 1 and "no eval/info.csv" in at.error[0].value
    shown = " ".join(e.value for e in [*at.error, *at.warning, *at.info]).lower()
    assert "make the submission again" not in shown  # the button for that is disabled here
    assert any("without the eval set" in i.value for i in at.info)


def test_the_file_says_which_checkpoint_and_tta_made_it_and_its_score_on_the_demo(demo_data_dir, tmp_path):
    run_dir, at = submit_with_last_checkpoint_and_flip_tta(demo_data_dir, tmp_path)
    record = json.loads((run_dir / "submission.json").read_text())
    assert (record["checkpoint"], record["tta"], record["epoch"]) == ("last", "flip", 2)

    at = open_page(demo_data_dir)  # a later visit, with the default choices (best, no TTA) in the widgets
    made = " ".join(m.value for m in at.markdown)
    assert "**last** checkpoint (epoch 2)" in made and "**flip TTA**" in made
    truth = pd.read_csv(demo_data_dir / ".masklab-demo-eval-truth.csv")
    submission = pd.read_csv(run_dir / "submission.csv").merge(truth, on="ImageID", suffixes=("", "_true"))
    expected = grader_macro_f1(submission["ans_true"].tolist(), submission["ans"].tolist())
    score = next(m for m in at.metric if "macro F1" in m.label)
    assert float(score.value) == pytest.approx(expected, abs=5e-5)

    # Another file at the same path is not credited to that record, and is scored as itself.
    pd.read_csv(run_dir / "submission.csv").assign(ans=truth["ans"].iloc[0]).to_csv(run_dir / "submission.csv",
                                                                                     index=False)
    at = open_page(demo_data_dir)
    assert not any("**last** checkpoint" in m.value for m in at.markdown)
    assert any("not recorded" in c.value for c in at.caption)
    constant = [int(truth["ans"].iloc[0])] * len(truth)
    score = next(m for m in at.metric if "macro F1" in m.label)
    assert float(score.value) == pytest.approx(grader_macro_f1(truth["ans"].tolist(), constant), abs=5e-5)

    real = tmp_path / "real"  # no answers beside the data: nothing to score against
    shutil.copytree(demo_data_dir / "train", real / "train")
    shutil.copytree(demo_data_dir / "eval", real / "eval")
    at = open_page(real)
    assert not any("macro F1" in m.label for m in at.metric)
    assert any("hidden" in c.value for c in at.caption)


# ----- in Korean (issue #16) ------------------------------------------------------------------------------
def korean(key: str, **values) -> str:
    from core.i18n import text
    return text("ko", key, **values)


def test_the_page_and_its_messages_in_korean(demo_data_dir, tmp_path):
    run_dir = finished_run(demo_data_dir, tmp_path / "runs", "tiny")
    at = AppTest.from_file(str(REPO_ROOT / "pages" / "6_Submission.py"), default_timeout=60)
    at.session_state["data_dir"], at.session_state["lang"] = str(demo_data_dir), "ko"
    at.run()
    assert not at.exception, at.exception
    assert [title.value for title in at.title] == [korean("submission.title")]
    assert korean("submission.caption") in [caption.value for caption in at.caption]
    assert at.radio(key="sub_checkpoint").label == korean("submission.checkpoint")
    assert at.radio(key="sub_checkpoint").help == korean("submission.checkpoint_help")
    assert at.selectbox(key="sub_tta").help.startswith("테스트 시 증강") and "flip: 2회 추론" in at.selectbox(key="sub_tta").help
    assert at.button(key="sub_make").label == korean("submission.make")

    at.radio(key="sub_checkpoint").set_value("last")
    at.selectbox(key="sub_tta").select("flip")
    at.button(key="sub_make").click().run()
    assert not at.exception, at.exception
    made = [success.value for success in at.success]
    assert any(value.startswith("last 체크포인트(에폭 2, raw 가중치, flip TTA)로 예측") for value in made), made
    assert korean("submission.valid", rows=28, path=run_dir / "submission.csv") in made
    assert {metric.label for metric in at.metric} == {korean("submission.score"), korean("submission.accuracy")}
    assert [subheader.value for subheader in at.subheader] == [korean("submission.distribution")]

    # A file that is not for this eval set: the validator's error and the next step, both in Korean.
    info = pd.read_csv(demo_data_dir / "eval" / "info.csv")
    info.assign(ans=3).iloc[:-1].to_csv(run_dir / "submission.csv", index=False)
    at.run()
    assert not at.exception, at.exception
    assert [error.value for error in at.error] == [
        korean("errors_submission.rows", where=run_dir / "submission.csv", rows=len(info) - 1, expected=len(info))
        + "\n\n" + korean("submission.other_eval_set")]
    assert at.error[0].value.startswith(f"{run_dir / 'submission.csv'}: 27행이지만 eval/info.csv는 28행입니다")
    assert korean("submission.not_recorded") in [caption.value for caption in at.caption]

    at.session_state["lang"] = "en"  # the same page and file in English
    at.run()
    assert [title.value for title in at.title] == ["Submission"]
    assert [error.value for error in at.error] == [
        f"{run_dir / 'submission.csv'}: 27 rows but eval/info.csv has 28; one row per eval image\n\n"
        "This file was made for another eval set: make the submission again above, or choose the data directory it "
        "was made for on the home page."]
