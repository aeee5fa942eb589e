"""Submission: a run's checkpoint (raw or EMA weights, or the averaged weights) over the eval set with a TTA
choice (each choice's val F1 one click away), a validated submission.csv saved in the run directory with what
made it (submission.json), its score on the demo data (whose eval answers the generator keeps), its class
distribution beside the training one, and the download."""
import streamlit as st

from core.access import require_access
from core.errors import MaskLabError
from core.train import charts, follow, leaderboard
from core.train.launch import runs_root
from core.train.runs import AVERAGED_CHECKPOINT, BEST_CHECKPOINT, LAST_CHECKPOINT, SUBMISSION_FILE
from core.train.submission import describe_tta, read_submission_record, score_on_demo, validate_submission
from core.train.tta import TTA_CHOICES, TTA_VIEWS, read_tta_val_f1
from core.ui import current_data_dir, load_train_scan, show_checkpoint_error, show_error, st_progress_callback

require_access()  # first: a URL can reach a page without app.py (see core/access.py)

CHECKPOINT_FILES = {"best": BEST_CHECKPOINT, "last": LAST_CHECKPOINT, "averaged": AVERAGED_CHECKPOINT}
WEIGHTS = ("auto", "raw", "ema")

st.title("Submission")
st.caption("Predict the eval set with a trained run and download submission.csv (ImageID, ans in info.csv's order).")

root = runs_root()
runs = leaderboard.submission_runs(root)
if not runs:
    st.info(f"No run with a checkpoint yet in {root}. Train one on the Training page: a checkpoint is saved "
            "after every epoch.")
    st.stop()
board = leaderboard.leaderboard(root).set_index("run")


def describe_run(name: str) -> str:
    f1 = board.loc[name, "best val F1"] if name in board.index else None
    state = board.loc[name, "state"] if name in board.index else "?"
    return f"{name} · {state}" + ("" if f1 is None or f1 != f1 else f" · best val F1 {f1:.4f}")


run_name = st.selectbox("Run", [run.name for run in runs], key="sub_run", format_func=describe_run)
run_dir = root / run_name
checkpoints = [name for name, file in CHECKPOINT_FILES.items() if name != "averaged" or (run_dir / file).exists()]
left, middle, right = st.columns(3)
checkpoint = left.radio("Checkpoint", checkpoints, key="sub_checkpoint", horizontal=True,
                        help="best = the epoch with the highest val macro F1; last = the latest epoch; averaged = "
                             "the run's averaged weights (train.average: SWA or the best checkpoints)")
weights = middle.radio("Weights", WEIGHTS, key="sub_weights", horizontal=True,
                       help="For a run trained with train.ema: raw or EMA weights; auto = the one with the higher "
                            "val F1 in that checkpoint (raw when the run has no EMA)")


def scored(record: dict | None) -> dict:
    """The val F1 of each TTA choice when they were scored with this checkpoint and these weights."""
    if not record or record.get("checkpoint") != checkpoint or \
            (weights != "auto" and record.get("weights") != weights):
        return {}
    return record["val_f1"]


tta_f1 = scored(read_tta_val_f1(run_dir))
tta = right.selectbox("TTA", TTA_CHOICES, key="sub_tta",
                      format_func=lambda name: name + (f" · val F1 {tta_f1[name]:.4f}" if name in tta_f1 else ""),
                      help="Test-time augmentation: the model's probabilities averaged over views of each image "
                           "(" + "; ".join(f"{n}: {len(v)} passes" for n, v in TTA_VIEWS.items()) + ")")

data_dir = current_data_dir()
has_eval = (data_dir / "eval" / "info.csv").exists()
ready = has_eval
if not has_eval:  # the one thing to fix first: every other check needs the eval set
    st.error(f"{data_dir} has no eval/info.csv, so there is nothing to predict.\n\n"
             "Choose the competition data directory (with train/ and eval/) on the home page.")
elif not (run_dir / CHECKPOINT_FILES[checkpoint]).exists():
    st.error(f"{run_name} has no {CHECKPOINT_FILES[checkpoint]} yet. Pick the other checkpoint, or wait for the "
             "run's first epoch to finish.")
    ready = False
progress = follow.run_progress(run_dir)
if progress.alive:
    st.warning(f"{run_name} is still training ({progress.epoch_text}). Its checkpoint will still change: wait for "
               "it to finish on the Training page, or predict with the checkpoint saved so far.")
    ready = ready and st.checkbox("Predict with the checkpoint saved so far", key="sub_while_running")

if st.button("Make submission", key="sub_make", type="primary", disabled=not ready):
    from core.train.predict import predict  # imports torch: only when asked

    try:
        result = predict(run_dir, data_dir=data_dir, checkpoint=checkpoint, tta=tta, weights=weights,
                         progress=st_progress_callback("Predicting the eval set"))
    except Exception as error:  # noqa: BLE001 — a damaged checkpoint fails inside torch.load in many ways
        show_checkpoint_error(error, CHECKPOINT_FILES[checkpoint], run_name,
                              "Pick the other checkpoint, resume the run, or train it again.")
    else:
        tta_text = f", {result['tta']} TTA" if result["tta"] != "none" else ""
        st.success(f"Wrote {result['rows']} predictions with the {result['checkpoint']} checkpoint (epoch "
                   f"{result['epoch']}, {result['weights']} weights{tta_text}) to {result['path']}.")

# ---------------------------------------------------------------- TTA choices on the validation set
with st.expander("Which TTA? Each choice's val F1 on this run's validation set", expanded=bool(tta_f1)):
    st.caption("The run's own validation people, through the checkpoint and weights chosen above: a TTA choice "
               "worth its extra passes raises this F1. It takes one pass of the validation set per view.")
    if st.button("Score each TTA choice", key="sub_tta_score", disabled=not (run_dir / CHECKPOINT_FILES[checkpoint]).exists()):
        from core.train.predict import tta_val_f1

        try:
            record = tta_val_f1(run_dir, checkpoint, weights, progress=st_progress_callback("Scoring TTA choices"))
            tta_f1 = record["val_f1"]
        except Exception as error:  # noqa: BLE001 — as above: a damaged checkpoint fails inside torch
            show_checkpoint_error(error, CHECKPOINT_FILES[checkpoint], run_name,
                                  "Pick the other checkpoint, resume the run, or train it again.")
    if tta_f1:
        st.dataframe([{"TTA": name, "forward passes": len(TTA_VIEWS[name]), "val F1": value,
                       "vs none": value - tta_f1["none"]} for name, value in tta_f1.items()],
                     hide_index=True, key="sub_tta_table")

# ---------------------------------------------------------------- the run's submission file
submission_path = run_dir / SUBMISSION_FILE
if submission_path.exists():
    st.header("submission.csv")
    record = read_submission_record(submission_path)
    if record is None:
        st.caption("Which checkpoint and TTA made this file is not recorded (it was made before submission.json was "
                   "written beside it, or by another tool). Make the submission again to record them.")
    else:
        st.markdown(f"Made with the **{record.get('checkpoint', '?')}** checkpoint (epoch {record.get('epoch', '?')}) "
                    f"({record.get('weights', 'raw')} weights) and **{describe_tta(record.get('tta'))}** at {record.get('written_at', '?')}, "
                    f"from `{record.get('data_dir', '?')}`.")
    if not has_eval:
        st.info("It cannot be checked or scored without the eval set: on the home page choose the data directory it "
                "was made for.")
        st.download_button("Download submission.csv (unchecked)", data=submission_path.read_bytes(),
                           file_name="submission.csv", mime="text/csv", key="sub_download")
        st.stop()
    try:
        submission = validate_submission(submission_path, data_dir)
    except MaskLabError as error:
        show_error(error, "This file was made for another eval set: make the submission again above, or choose the "
                          "data directory it was made for on the home page.")
        st.stop()
    st.success(f"Valid: {len(submission)} rows, ImageIDs in info.csv's order, ans 0..17. Saved at {submission_path}.")
    try:
        score = score_on_demo(submission, data_dir)
    except MaskLabError as error:
        show_error(error, "The score is not shown.")
        score = None
    if score is not None:
        f1_column, accuracy_column, _ = st.columns(3)
        f1_column.metric("Score: macro F1 (the grader's)", f"{score['f1']:.4f}")
        accuracy_column.metric("Accuracy", f"{score['accuracy']:.1%}")
        st.caption(f"The demo generator knows the answers of its {score['images']} eval images, so this is the score "
                   "the competition's grader would give: the mean F1 over all 18 classes. Compare it with the run's "
                   "validation F1 on the Runs page: a large gap means the validation split flatters the model.")
    else:
        st.caption("The eval answers of real data are hidden: upload the file to the competition to see its score.")
    try:
        training_labels = load_train_scan(data_dir).images["label"]
    except MaskLabError as error:
        show_error(error, "The training distribution is not shown.")
        training_labels = []
    distribution = leaderboard.distributions({"submission": submission["ans"], "training": training_labels})
    st.subheader("Predicted classes beside the training set")
    st.altair_chart(charts.distribution_chart(distribution), width="stretch")
    st.caption("A class the model never predicts, or predicts far more often than it occurs in training, is worth "
               "a look on the Runs page (per-class F1, confusion matrix).")
    st.download_button("Download submission.csv", data=submission_path.read_bytes(), file_name="submission.csv",
                       mime="text/csv", key="sub_download", type="primary")
    st.dataframe(submission.head(20), hide_index=True)
