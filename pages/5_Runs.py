"""Runs: the leaderboard of every run, two runs' curves overlaid, the best checkpoint's per-class F1 and
confusion matrix (with the images of a chosen cell), and the label-noise suspects to accept into relabel.csv."""
import streamlit as st

from core.access import require_access
from core.data.relabel import relabel_path
from core.errors import MaskLabError
from core.labels import DEFAULT_AGE_EDGES, class_name
from core.train import charts, follow, leaderboard
from core.train.launch import runs_root
from core.train.noise import read_suspects, write_suspects_to_relabel
from core.ui import clear_data_caches, show_checkpoint_error, show_error, st_progress_callback

require_access()  # first: a URL can reach a page without app.py (see core/access.py)

THUMB_WIDTH = 140
SORTABLE = ("best val F1", "val accuracy", "time (s)", "started", "run", "state", "model")

st.set_page_config(page_title="Runs · Mask Lab", page_icon="😷", layout="wide")
st.title("Runs")
st.caption("Compare runs, look inside the best checkpoint, and fix the labels the model keeps disagreeing with.")

root = runs_root()
board = leaderboard.leaderboard(root)
if board.empty:
    st.info(f"No runs yet in {root}. Start one on the Training page; it appears here as soon as it begins.")
    st.stop()

# ---------------------------------------------------------------- leaderboard
st.header("Leaderboard")
left, right = st.columns([3, 1])
sort_by = left.selectbox("Sort by", [column for column in SORTABLE if column in board.columns], key="runs_sort")
ascending = right.toggle("Ascending", value=sort_by in ("run", "time (s)"), key="runs_ascending")
board = board.sort_values(sort_by, ascending=ascending, na_position="last", kind="stable").reset_index(drop=True)
headers = leaderboard.leaderboard_headers(board)
column_config = {column: st.column_config.Column(header) for column, header in headers.items()}
column_config.update({"run": st.column_config.TextColumn("run", pinned=True),
                      "best val F1": st.column_config.NumberColumn("val F1", format="%.4f"),
                      "val accuracy": st.column_config.NumberColumn("val acc", format="%.4f"),
                      "best epoch": st.column_config.NumberColumn("best ep.", format="%d")})
st.dataframe(board, hide_index=True, width="stretch", column_order=list(headers), column_config=column_config)
st.caption("Click a column header to sort in place. Settings columns show the key settings and every setting "
           "in which the runs differ.")
run_names = board["run"].tolist()

# ---------------------------------------------------------------- overlay
st.header("Compare two runs")
first, second = st.columns(2)
run_a = first.selectbox("Run A", run_names, key="runs_overlay_a")
run_b = second.selectbox("Run B", run_names, index=min(1, len(run_names) - 1), key="runs_overlay_b")
table = charts.overlay([root / run_a] if run_a == run_b else [root / run_a, root / run_b])
if table.empty:
    st.info("No finished epoch in these runs yet: curves appear after the first epoch.")
else:
    for column, metric in zip(st.columns(3), ("loss", "accuracy", "macro F1")):
        column.altair_chart(charts.curves_chart(table, metric, by_run=True), width="stretch")
    st.caption("Colour = run; solid = validation, dashed = training.")

# ---------------------------------------------------------------- best checkpoint
st.header("Inside the best checkpoint")
chosen = st.selectbox("Run", run_names, key="runs_detail")
run_dir = root / chosen
config = follow.read_config(run_dir)
age_edges = tuple(config.get("data", {}).get("age_edges", DEFAULT_AGE_EDGES))
best = leaderboard.best_epoch_row(run_dir)
if best is None:
    st.info(f"{chosen} has no finished epoch yet. Come back after its first validation.")
else:
    st.caption(f"Epoch {best['epoch']}: val macro F1 {best['val_f1']:.4f}, accuracy {best['val_acc']:.4f}.")
    per_class = leaderboard.per_class_table(best, age_edges)
    f1_column, confusion_column = st.columns(2)
    with f1_column:
        st.subheader("Per-class F1")
        st.dataframe(per_class, hide_index=True, width="stretch", height=460,
                     column_config={"class": st.column_config.NumberColumn("#", width=32),
                                    "F1": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="%.3f",
                                                                          width="small"),
                                    "support": st.column_config.NumberColumn("images", width=56)})
    cells = leaderboard.confusion_table(best)
    with confusion_column:
        st.subheader("Confusion matrix (rows = true class)")
        event = st.altair_chart(charts.confusion_chart(cells, age_edges), width="stretch", on_select="rerun",
                                selection_mode=charts.CELL_SELECTION, key=f"runs_confusion_{chosen}")
        st.caption("Click a cell to see its images below. Grey blank cells: no image.")

    errors = leaderboard.error_cells(cells)
    st.subheader("Images of a cell")
    options = [(int(row.true), int(row.predicted)) for row in errors.itertuples()]
    for row in cells[cells["true"] == cells["predicted"]].itertuples():
        if row.count:
            options.append((int(row.true), int(row.predicted)))
    counts = {(int(row.true), int(row.predicted)): int(row.count) for row in cells.itertuples()}
    clicked = charts.selected_cell(event)
    if clicked != st.session_state.get("runs_clicked_cell"):  # a new click wins over the list; the list stays usable
        st.session_state["runs_clicked_cell"] = clicked
        if clicked in options:
            st.session_state["runs_cell"] = clicked
    if clicked is not None and clicked not in options:
        st.info(f"No validation image is {class_name(clicked[0], age_edges)} predicted as "
                f"{class_name(clicked[1], age_edges)}: that cell is empty.")
    cell = st.selectbox("True → predicted", options, key="runs_cell",
                        format_func=lambda cell: f"{class_name(cell[0], age_edges)} → {class_name(cell[1], age_edges)} "
                                                 f"({counts[cell]} images)")
    predictions = leaderboard.read_val_predictions(run_dir)
    if predictions is None and st.button("Find the images (runs the best checkpoint over the validation set)",
                                         key="runs_compute_cells"):
        try:
            from core.train.predict import compute_val_predictions  # imports torch: only when asked

            predictions = compute_val_predictions(run_dir, progress=st_progress_callback("Predicting"))
        except Exception as error:  # noqa: BLE001 — a damaged checkpoint fails inside torch.load in many ways
            show_checkpoint_error(error, "best.pt", chosen, f"Train again from this run's config (on the Training "
                                                            f"page, start from 'run {chosen}') or pick another run.")
    if predictions is not None and cell is not None:
        data_dir = follow.run_data_dir(run_dir)
        images = leaderboard.cell_images(predictions, *cell)
        if images.empty:
            st.info("No validation image in this cell.")
        else:
            st.image([str(data_dir / path) for path in images["path"]], width=THUMB_WIDTH,
                     caption=[path.rsplit("/", 2)[-2] + "/" + path.rsplit("/", 1)[-1] for path in images["path"]])

# ---------------------------------------------------------------- label-noise suspects
st.header("Label-noise suspects")
suspects = read_suspects(run_dir)
if suspects.empty:
    st.info(f"{chosen} lists no suspects (images misclassified in most epochs) yet. The finder ignores the first "
            "train.noise_skip_epochs epoch(s), when nearly everything is wrong, and speaks from the epoch after.")
else:
    data_dir = follow.run_data_dir(run_dir)
    st.caption(f"{len(suspects)} training images the model got wrong in most epochs, worst loss first. Tick the ones "
               f"whose given label is wrong and accept the model's label into `{relabel_path(data_dir)}`.")
    shown = suspects.head(24)
    columns = st.columns(6)
    accepted = []
    for index, row in enumerate(shown.itertuples()):
        with columns[index % 6]:
            st.image(str(data_dir / row.path), width=THUMB_WIDTH,
                     caption=f"given {row.given_name} · model {row.predicted_name} · loss {row.mean_loss:.2f}")
            if st.checkbox("accept", key=f"runs_suspect_{chosen}_{index}"):
                accepted.append(row.path)
    whole_person = st.checkbox("Gender and age fixes apply to the whole person", value=True,
                               key="runs_accept_person",
                               help="Gender and age belong to the person, not the photo: write them for the person's "
                                    "folder so all seven images change together. Mask fixes always name the image.")
    if st.button(f"Write {len(accepted)} correction(s) to relabel.csv", key="runs_accept_suspects",
                 disabled=not accepted):
        try:
            rows = write_suspects_to_relabel(run_dir, data_dir, accepted, person=whole_person)
        except MaskLabError as error:
            show_error(error, "Check the data directory of this run.")
        else:
            clear_data_caches()
            st.success(f"Wrote {len(rows)} row(s) to {relabel_path(data_dir)}; the next run trains on the "
                       "corrected labels.")
