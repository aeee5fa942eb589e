"""submission.csv: one row per eval/info.csv row, same order, columns ImageID, ans (an integer 0..17, digits only).

`validate_submission` is run on every file this app writes, and can check a file from elsewhere.
No torch here: the Submission page imports it.
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from core.data.layout import read_csv_checked
from core.errors import DataError
from core.labels import NUM_CLASSES

SUBMISSION_COLUMNS = ("ImageID", "ans")


def read_info(data_dir) -> pd.DataFrame:
    """eval/info.csv (columns ImageID, ans) in file order."""
    return read_csv_checked(Path(data_dir) / "eval" / "info.csv", SUBMISSION_COLUMNS)


def validate_submission(submission, data_dir=None, info: pd.DataFrame | None = None, where: str = "submission") -> pd.DataFrame:
    """Check a submission (a path or a DataFrame) against info.csv; DataError naming the first problem.

    Checks: the two columns, the row count, every ImageID in info.csv's order, ans integers 0..17 as digits.
    Returns the submission as a DataFrame with integer ans.
    """
    if not isinstance(submission, pd.DataFrame):
        where = str(submission)
        try:
            submission = pd.read_csv(submission, dtype=str, keep_default_na=False)
        except (OSError, ValueError) as error:
            raise DataError.of("errors_submission.cannot_read", where=where, error=error) from None
    if info is None:
        info = read_info(data_dir)
    if list(submission.columns) != list(SUBMISSION_COLUMNS):
        raise DataError.of("errors_submission.columns", where=where, found=",".join(map(str, submission.columns)))
    if len(submission) != len(info):
        raise DataError.of("errors_submission.rows", where=where, rows=len(submission), expected=len(info))
    ids, expected = submission["ImageID"].astype(str).to_numpy(), info["ImageID"].astype(str).to_numpy()
    mismatch = (ids != expected).nonzero()[0]
    if len(mismatch):
        row = int(mismatch[0])
        raise DataError.of("errors_submission.image_id", where=where, row=row + 2, found=ids[row],
                           expected=expected[row])
    # Digits only, as the grader parses them: "3.0", "1e1" and " 4 " are not integers written as text.
    text = submission["ans"].astype(str)
    digits = text.str.fullmatch(r"[0-9]+").fillna(False).astype(bool)
    answers = pd.to_numeric(text.where(digits), errors="coerce")
    bad = ~digits | (answers >= NUM_CLASSES)
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise DataError.of("errors_submission.ans", where=where, row=row + 2, found=text.iloc[row],
                           last=NUM_CLASSES - 1)
    return submission.assign(ans=answers.astype(int))


def write_submission(info: pd.DataFrame, answers, path) -> Path:
    """Write ImageID (info.csv order) + ans, validated before it replaces any existing file."""
    path = Path(path)
    frame = pd.DataFrame({"ImageID": info["ImageID"].astype(str).to_numpy(), "ans": list(answers)})
    validate_submission(frame, info=info, where=str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame.to_csv(tmp, index=False)
    validate_submission(tmp, info=info)  # the file as written, not just the frame
    os.replace(tmp, path)
    return path


# ---------------------------------------------------------------- what made a file, and its score on the demo
def record_path(submission_path) -> Path:
    """The record beside a submission: submission.csv -> submission.json (never the submission itself)."""
    path = Path(submission_path)
    return path.with_suffix(".json") if path.suffix.lower() != ".json" else path.with_name(path.name + ".record.json")


def _digest(path) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_submission_record(submission_path, record: dict) -> Path:
    """Write `record` (checkpoint, epoch, TTA, run...) beside the file it describes, with the file's hash so a
    later file at the same path is never credited to this record."""
    import json
    from datetime import datetime, timezone

    path = record_path(submission_path)
    record = {**record, "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "sha256": _digest(submission_path)}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_submission_record(submission_path) -> dict | None:
    """The record of how this very file was made; None when there is none, it is unreadable, or it describes
    an earlier file (the hash differs)."""
    import json

    try:
        record = json.loads(record_path(submission_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("sha256") != _digest(submission_path):
        return None
    return record


def describe_tta(tta) -> str:
    """Words for a record's TTA: a choice's name (core.train.tta), or the on/off flag of older records."""
    from core.i18n import t

    if tta is True:
        return t("submission.tta_flip")
    if not tta or tta == "none":
        return t("submission.tta_none")
    return t("submission.tta_named", tta=tta)


def score_on_demo(submission: pd.DataFrame, data_dir) -> dict | None:
    """{f1 (the grader's macro F1 over all 18 classes), accuracy, images} of a validated submission against the
    eval answers the demo generator keeps beside its data; None for data without them (the real answers are hidden)."""
    from core.data.demo import EVAL_TRUTH_NAME
    from core.train.metrics import classification_metrics

    truth_path = Path(data_dir) / EVAL_TRUTH_NAME
    if not truth_path.exists():
        return None
    truth = read_csv_checked(truth_path, SUBMISSION_COLUMNS).set_index("ImageID")["ans"]
    answers = truth.reindex(submission["ImageID"].astype(str))
    if answers.isna().any():
        raise DataError.of("errors_submission.truth_missing", path=truth_path,
                           image_id=answers[answers.isna()].index[0])
    scores = classification_metrics(answers.astype(int).to_numpy(), submission["ans"].astype(int).to_numpy())
    return {"f1": scores["f1"], "accuracy": scores["accuracy"], "images": int(len(submission))}
