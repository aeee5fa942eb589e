"""The submission validator accepts only what the grader parses as a class: digits 0..17, nothing else."""
from __future__ import annotations

import pandas as pd
import pytest

from core.errors import DataError
from core.train.submission import validate_submission, write_submission

INFO = pd.DataFrame({"ImageID": ["a.jpg", "b.jpg", "c.jpg"], "ans": ["0", "0", "0"]})


@pytest.mark.parametrize("answer", ["3.0", "1e1", " 4 ", "4 ", "+4", "-1", "0x3", ""])
def test_an_answer_that_is_not_digits_is_rejected_naming_the_file_and_row(tmp_path, answer):
    path = tmp_path / "submission.csv"
    path.write_text(f"ImageID,ans\na.jpg,0\nb.jpg,{answer}\nc.jpg,2\n")
    with pytest.raises(DataError) as caught:
        validate_submission(path, info=INFO)
    message = str(caught.value)
    assert message.startswith(f"{path}: row 3 has ans {answer!r};") and "\n" not in message


def test_digit_answers_pass_and_come_back_as_integers(tmp_path):
    path = tmp_path / "submission.csv"
    path.write_text("ImageID,ans\na.jpg,0\nb.jpg,17\nc.jpg,09\n")
    assert validate_submission(path, info=INFO)["ans"].tolist() == [0, 17, 9]


def test_write_submission_refuses_float_answers_and_keeps_no_file(tmp_path):
    with pytest.raises(DataError, match="row 2 has ans '1.0'"):
        write_submission(INFO, [1.0, 2.0, 3.0], tmp_path / "s.csv")
    assert not (tmp_path / "s.csv").exists()
    assert write_submission(INFO, [1, 2, 3], tmp_path / "s.csv").read_text() == "ImageID,ans\na.jpg,1\nb.jpg,2\nc.jpg,3\n"
