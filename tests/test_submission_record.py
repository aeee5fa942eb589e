"""submission.json: the record of what made a submission file, credited only to that very file; the demo score."""
from __future__ import annotations

import pandas as pd
import pytest

from core.data.demo import EVAL_TRUTH_NAME
from core.errors import DataError
from core.train.submission import (read_info, read_submission_record, record_path, score_on_demo,
                                   write_submission, write_submission_record)


def test_the_record_describes_only_the_file_it_was_written_for(demo_copy):
    info = read_info(demo_copy)
    path = write_submission(info, [3] * len(info), demo_copy / "out" / "submission.csv")
    write_submission_record(path, {"checkpoint": "last", "tta": True, "epoch": 2})
    assert record_path(path).name == "submission.json"
    assert read_submission_record(path)["checkpoint"] == "last"
    write_submission(info, [4] * len(info), path)  # another file at the same path
    assert read_submission_record(path) is None
    assert record_path(demo_copy / "odd.json").name == "odd.json.record.json"  # never the submission itself


def test_the_demo_score_is_the_graders_macro_f1_and_other_answers_are_refused(demo_copy):
    info = read_info(demo_copy)
    truth = pd.read_csv(demo_copy / EVAL_TRUTH_NAME).set_index("ImageID").loc[info["ImageID"], "ans"].tolist()
    perfect = pd.DataFrame({"ImageID": info["ImageID"], "ans": truth})
    score = score_on_demo(perfect, demo_copy)
    present = len(set(truth))
    assert score["accuracy"] == 1.0 and score["f1"] == pytest.approx(present / 18)  # absent classes count 0
    assert score_on_demo(perfect, demo_copy / "train") is None  # no answers beside real data
    (demo_copy / EVAL_TRUTH_NAME).write_text("ImageID,ans\nother.jpg,1\n")
    with pytest.raises(DataError, match="another demo dataset"):
        score_on_demo(perfect, demo_copy)
