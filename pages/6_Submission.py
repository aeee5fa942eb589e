"""Submission: a run's checkpoint (raw or EMA weights, or the averaged weights) over the eval set with a TTA
choice (each choice's val F1 one click away), a validated submission.csv saved in the run directory with what
made it (submission.json), its score on the demo data (whose eval answers the generator keeps), its class
distribution beside the training one, and the download."""
import streamlit as st

from core.access import require_access
from core.errors import MaskLabError
from core.i18n import t
from core.train import charts, follow, leaderboard
from core.train.launch import runs_root
from core.train.runs import AVERAGED_CHECKPOINT, BEST_CHECKPOINT, LAST_CHECKPOINT, SUBMISSION_FILE
from core.train.submission import describe_tta, read_submission_record, score_on_demo, validate_submission
from core.train.tta import TTA_CHOICES, TTA_VIEWS, read_tta_val_f1
from core.ui import (current_data_dir, load_train_scan, page_header, show_checkpoint_error, show_error,
                     st_progress_callback)

require_access()  # first: a URL can reach a page without app.py (see core/access.py)

CHECKPOINT_FILES = {"best": BEST_CHECKPOINT, "last": LAST_CHECKPOINT, "averaged": AVERAGED_CHECKPOINT}
WEIGHTS = ("auto", "raw", "ema")

page_header("submission")

root = runs_root()
runs = leaderboard.submission_runs(root)
if not runs:
    st.info(t("submission.no_runs", root=root))
    st.stop()
board = leaderboard.leaderboard(root).set_index("run")


def describe_run(name: str) -> str:
    f1 = board.loc[name, "best val F1"] if name in board.index else None
    state = board.loc[name, "state"] if name in board.index else "?"
    if f1 is None or f1 != f1:
        return t("submission.run_option", name=name, state=state)
    return t("submission.run_option_f1", name=name, state=state, f1=f1)


# Option names are made here, in the session's language, and looked up later: Streamlit (and AppTest) may call a
# format_func again outside this script run, where t() would not know the session's language.
run_names = {run.name: describe_run(run.name) for run in runs}
run_name = st.selectbox(t("submission.run"), list(run_names), key="sub_run", format_func=run_names.get)
run_dir = root / run_name
checkpoints = [name for name, file in CHECKPOINT_FILES.items() if name != "averaged" or (run_dir / file).exists()]
left, middle, right = st.columns(3)
checkpoint = left.radio(t("submission.checkpoint"), checkpoints, key="sub_checkpoint", horizontal=True,
                        help=t("submission.checkpoint_help"))
weights = middle.radio(t("submission.weights"), WEIGHTS, key="sub_weights", horizontal=True,
                       help=t("submission.weights_help"))


def scored(record: dict | None) -> dict:
    """The val F1 of each TTA choice when they were scored with this checkpoint and these weights."""
    if not record or record.get("checkpoint") != checkpoint or \
            (weights != "auto" and record.get("weights") != weights):
        return {}
    return record["val_f1"]


tta_f1 = scored(read_tta_val_f1(run_dir))
tta_names = {name: t("submission.tta_option_f1", name=name, f1=tta_f1[name]) if name in tta_f1 else name
             for name in TTA_CHOICES}
tta = right.selectbox(t("submission.tta"), TTA_CHOICES, key="sub_tta", format_func=tta_names.get,
                      help=t("submission.tta_help", views="; ".join(t("submission.tta_passes", name=n, count=len(v))
                                                                    for n, v in TTA_VIEWS.items())))

data_dir = current_data_dir()
has_eval = (data_dir / "eval" / "info.csv").exists()
ready = has_eval
if not has_eval:  # the one thing to fix first: every other check needs the eval set
    st.error(t("submission.no_eval", data_dir=data_dir))
elif not (run_dir / CHECKPOINT_FILES[checkpoint]).exists():
    st.error(t("submission.no_checkpoint", run=run_name, file=CHECKPOINT_FILES[checkpoint]))
    ready = False
progress = follow.run_progress(run_dir)
if progress.alive:
    st.warning(t("submission.still_training", run=run_name, epoch_text=progress.epoch_text))
    ready = ready and st.checkbox(t("submission.predict_while_running"), key="sub_while_running")

if st.button(t("submission.make"), key="sub_make", type="primary", disabled=not ready):
    from core.train.predict import predict  # imports torch: only when asked

    try:
        result = predict(run_dir, data_dir=data_dir, checkpoint=checkpoint, tta=tta, weights=weights,
                         progress=st_progress_callback(t("submission.predicting")))
    except Exception as error:  # noqa: BLE001 — a damaged checkpoint fails inside torch.load in many ways
        show_checkpoint_error(error, CHECKPOINT_FILES[checkpoint], run_name, t("submission.checkpoint_next_step"))
    else:
        tta_text = t("submission.wrote_tta", tta=result["tta"]) if result["tta"] != "none" else ""
        st.success(t("submission.wrote", rows=result["rows"], checkpoint=result["checkpoint"], epoch=result["epoch"],
                     weights=result["weights"], tta_text=tta_text, path=result["path"]))

# ---------------------------------------------------------------- TTA choices on the validation set
with st.expander(t("submission.tta_expander"), expanded=bool(tta_f1)):
    st.caption(t("submission.tta_caption"))
    if st.button(t("submission.tta_score"), key="sub_tta_score",
                 disabled=not (run_dir / CHECKPOINT_FILES[checkpoint]).exists()):
        from core.train.predict import tta_val_f1

        try:
            record = tta_val_f1(run_dir, checkpoint, weights,
                                progress=st_progress_callback(t("submission.tta_scoring")))
            tta_f1 = record["val_f1"]
        except Exception as error:  # noqa: BLE001 — as above: a damaged checkpoint fails inside torch
            show_checkpoint_error(error, CHECKPOINT_FILES[checkpoint], run_name, t("submission.checkpoint_next_step"))
    if tta_f1:
        st.dataframe([{t("submission.column_tta"): name, t("submission.column_passes"): len(TTA_VIEWS[name]),
                       t("submission.column_val_f1"): value, t("submission.column_vs_none"): value - tta_f1["none"]}
                      for name, value in tta_f1.items()],
                     hide_index=True, key="sub_tta_table")

# ---------------------------------------------------------------- the run's submission file
submission_path = run_dir / SUBMISSION_FILE
if submission_path.exists():
    st.header("submission.csv")
    record = read_submission_record(submission_path)
    if record is None:
        st.caption(t("submission.not_recorded"))
    else:
        st.markdown(t("submission.made_with", checkpoint=record.get("checkpoint", "?"), epoch=record.get("epoch", "?"),
                      weights=record.get("weights", "raw"), tta=describe_tta(record.get("tta")),
                      written_at=record.get("written_at", "?"), data_dir=record.get("data_dir", "?")))
    if not has_eval:
        st.info(t("submission.unchecked_info"))
        st.download_button(t("submission.download_unchecked"), data=submission_path.read_bytes(),
                           file_name="submission.csv", mime="text/csv", key="sub_download")
        st.stop()
    try:
        submission = validate_submission(submission_path, data_dir)
    except MaskLabError as error:
        show_error(error, t("submission.other_eval_set"))
        st.stop()
    st.success(t("submission.valid", rows=len(submission), path=submission_path))
    try:
        score = score_on_demo(submission, data_dir)
    except MaskLabError as error:
        show_error(error, t("submission.score_not_shown"))
        score = None
    if score is not None:
        f1_column, accuracy_column, _ = st.columns(3)
        f1_column.metric(t("submission.score"), f"{score['f1']:.4f}")
        accuracy_column.metric(t("submission.accuracy"), f"{score['accuracy']:.1%}")
        st.caption(t("submission.demo_score_caption", images=score["images"]))
    else:
        st.caption(t("submission.hidden_caption"))
    try:
        training_labels = load_train_scan(data_dir).images["label"]
    except MaskLabError as error:
        show_error(error, t("submission.training_not_shown"))
        training_labels = []
    distribution = leaderboard.distributions({"submission": submission["ans"], "training": training_labels})
    st.subheader(t("submission.distribution"))
    st.altair_chart(charts.distribution_chart(distribution), width="stretch")
    st.caption(t("submission.distribution_caption"))
    st.download_button(t("submission.download"), data=submission_path.read_bytes(), file_name="submission.csv",
                       mime="text/csv", key="sub_download", type="primary")
    st.dataframe(submission.head(20), hide_index=True)
