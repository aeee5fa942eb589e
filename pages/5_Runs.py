"""Runs: the leaderboard of every run, two runs' curves overlaid, the best checkpoint's per-class F1 and
confusion matrix (with the images of a chosen cell), and the label-noise suspects to accept into relabel.csv."""
import streamlit as st

from core.access import require_access
from core.data.relabel import relabel_path
from core.errors import MaskLabError
from core.labels import DEFAULT_AGE_EDGES, GENDER_NAMES, MASK_NAMES, age_band_names, class_name, decode
from core.train import charts, follow, leaderboard
from core.train.launch import runs_root
from core.train.noise import EVIDENCE_MIN, read_suspects, still_suspect, write_suspects_to_relabel
from core.ui import clear_data_caches, load_train_scan, show_checkpoint_error, show_error, st_progress_callback

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
def write_chosen_fixes(run_dir, data_dir, keys: dict) -> None:
    """Button callback (before the widgets are drawn again): write the chosen values, then untick and clear
    the written suspects, so nothing already fixed stays ticked."""
    values = {path: {field: st.session_state.get(key) for field, key in fields.items() if field != "tick"}
              for path, fields in keys.items() if st.session_state.get(fields["tick"])}
    try:
        rows = write_suspects_to_relabel(run_dir, data_dir, list(values), person=st.session_state.get(
            "runs_accept_person", True), values=values)
    except MaskLabError as error:
        st.session_state["runs_relabel_result"] = ("error", f"{error}\n\nCheck the data directory of this run.")
        return
    for path in values:
        for key in keys[path].values():
            st.session_state.pop(key, None)
    clear_data_caches()
    st.session_state["runs_relabel_result"] = ("success", f"Wrote {len(rows)} row(s) to {relabel_path(data_dir)}; "
                                                          "the next run trains on the corrected labels.")


st.header("Label-noise suspects")
suspects = read_suspects(run_dir)
if suspects.empty:
    st.info(f"{chosen} lists no suspects yet: training images wrong in most epochs and far harder than the other "
            "images of their class. The finder ignores the first train.noise_skip_epochs epoch(s), when nearly "
            "everything is wrong, and speaks from the epoch after.")
else:
    data_dir = follow.run_data_dir(run_dir)
    try:
        still = still_suspect(suspects, load_train_scan(data_dir, age_edges).images)
    except MaskLabError as error:
        show_error(error, "Whether a suspect was already corrected cannot be told; all are listed.")
        still = suspects["path"].notna()
    result = st.session_state.pop("runs_relabel_result", None)
    if result:
        (st.success if result[0] == "success" else st.error)(result[1])
    if not still.all():
        st.caption(f"{int((~still).sum())} suspect(s) already corrected in `{relabel_path(data_dir)}` are not listed.")
    open_suspects = suspects[still]
    if "evidence" in suspects.columns:  # suspects.csv of older runs has none: everything often wrong is listed
        strong = open_suspects["evidence"] >= EVIDENCE_MIN
        show_weak = st.toggle(f"Also show the {int((~strong).sum())} weak one(s)", key="runs_weak_suspects",
                              help="Often wrong, but with a loss typical of their class: most are hard images "
                                   "(60+, incorrect mask), not wrong labels.")
        open_suspects = open_suspects if show_weak else open_suspects[strong]
    st.caption(f"{len(open_suspects)} training images the model got wrong in most epochs, strongest evidence first: "
               f"evidence = how many class spreads its loss is above the median of its given class ({EVIDENCE_MIN:g} "
               "and up is a suspect), so a hard class alone does not make an image a suspect. Tick an image whose "
               "label is wrong, choose the right values, and write them to relabel.csv; nothing is written that you "
               "did not choose.")
    columns = st.columns(6)
    keys = {}
    for position, row in enumerate(open_suspects.head(24).itertuples()):
        given_mask, given_gender, _ = decode(int(row.given_label))
        predicted_mask, predicted_gender, predicted_age = decode(int(row.predicted_label))
        prefix = f"runs_suspect_{chosen}_{row.Index}"  # the row of suspects.csv: stable while others are fixed
        evidence = getattr(row, "evidence", float("nan"))
        with columns[position % 6]:
            st.image(str(data_dir / row.path), width=THUMB_WIDTH,
                     caption=f"given {row.given_name} · model {row.predicted_name}"
                             + ("" if evidence != evidence else f" · evidence {evidence:.1f}"))
            keys[row.path] = {"tick": prefix, "mask": f"{prefix}_mask", "gender": f"{prefix}_gender",
                              "age": f"{prefix}_age"}
            if st.checkbox("fix", key=prefix):
                st.selectbox("mask", range(len(MASK_NAMES)), index=None, key=f"{prefix}_mask",
                             format_func=lambda value: MASK_NAMES[value],
                             placeholder=f"keep {MASK_NAMES[given_mask]} (model: {MASK_NAMES[predicted_mask]})")
                st.selectbox("gender", range(len(GENDER_NAMES)), index=None, key=f"{prefix}_gender",
                             format_func=lambda value: GENDER_NAMES[value],
                             placeholder=f"keep {GENDER_NAMES[given_gender]} (model: "
                                         f"{GENDER_NAMES[predicted_gender]})")
                st.number_input("age (years)", min_value=1, max_value=120, value=None, step=1, key=f"{prefix}_age",
                                placeholder=f"keep (model: {age_band_names(age_edges)[predicted_age]})",
                                help="The model names an age band, not an age: type the person's age.")
    chosen_values = sum(st.session_state.get(fields[field]) is not None
                        for fields in keys.values() if st.session_state.get(fields["tick"])
                        for field in ("mask", "gender", "age"))
    st.checkbox("Gender and age fixes apply to the whole person", value=True, key="runs_accept_person",
                help="Gender and age belong to the person, not the photo: write them for the person's folder so "
                     "all seven images change together. Mask fixes always name the image.")
    st.button(f"Write {chosen_values} chosen value(s) to relabel.csv", key="runs_accept_suspects",
              disabled=not chosen_values, on_click=write_chosen_fixes, args=(run_dir, data_dir, keys))
