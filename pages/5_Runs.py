"""Runs: the leaderboard of every run, two runs' curves overlaid, the best checkpoint's per-class F1 and
confusion matrix (with the images of a chosen cell), and the label-noise suspects to accept into relabel.csv."""
import streamlit as st

from core.access import require_access
from core.data.relabel import relabel_path
from core.errors import MaskLabError
from core.i18n import localized_error, t
from core.labels import DEFAULT_AGE_EDGES, GENDER_NAMES, MASK_NAMES, age_band_names, class_name, decode
from core.train import charts, follow, leaderboard
from core.train.launch import runs_root
from core.train.noise import EVIDENCE_MIN, read_suspects, still_suspect, write_suspects_to_relabel
from core.ui import (clear_data_caches, load_train_scan, page_header, show_checkpoint_error, show_error,
                     st_progress_callback)

require_access()  # first: a URL can reach a page without app.py (see core/access.py)

THUMB_WIDTH = 140
# The leaderboard's columns to sort by, and their names' keys (runs.sort.<key>).
SORTABLE = {"best val F1": "best_val_f1", "val accuracy": "val_accuracy", "time (s)": "time_s", "started": "started",
            "run": "run", "state": "state", "model": "model"}

page_header("runs")

root = runs_root()
board = leaderboard.leaderboard(root)
if board.empty:
    st.info(t("runs.no_runs", root=root))
    st.stop()

# ---------------------------------------------------------------- leaderboard
st.header(t("runs.leaderboard"))
left, right = st.columns([3, 1])
sort_by = left.selectbox(t("runs.sort_by"), [column for column in SORTABLE if column in board.columns], key="runs_sort",
                         format_func=lambda column: t(f"runs.sort.{SORTABLE[column]}"))
ascending = right.toggle(t("runs.ascending"), value=sort_by in ("run", "time (s)"), key="runs_ascending")
board = board.sort_values(sort_by, ascending=ascending, na_position="last", kind="stable").reset_index(drop=True)
headers = leaderboard.leaderboard_headers(board)
column_config = {column: st.column_config.Column(header) for column, header in headers.items()}
column_config.update({"run": st.column_config.TextColumn(headers["run"], pinned=True),
                      "best val F1": st.column_config.NumberColumn(headers["best val F1"], format="%.4f"),
                      "val accuracy": st.column_config.NumberColumn(headers["val accuracy"], format="%.4f"),
                      "best epoch": st.column_config.NumberColumn(headers["best epoch"], format="%d")})
shown = board.assign(state=board["state"].map(follow.state_word))  # the state in words; sorting used the data
st.dataframe(shown, hide_index=True, width="stretch", column_order=list(headers), column_config=column_config)
st.caption(t("runs.board_caption"))
run_names = board["run"].tolist()

# ---------------------------------------------------------------- overlay
st.header(t("runs.compare"))
first, second = st.columns(2)
run_a = first.selectbox(t("runs.run_a"), run_names, key="runs_overlay_a")
run_b = second.selectbox(t("runs.run_b"), run_names, index=min(1, len(run_names) - 1), key="runs_overlay_b")
table = charts.overlay([root / run_a] if run_a == run_b else [root / run_a, root / run_b])
if table.empty:
    st.info(t("runs.no_epoch_yet"))
else:
    for column, metric in zip(st.columns(3), ("loss", "accuracy", "macro F1")):
        column.altair_chart(charts.curves_chart(table, metric, by_run=True), width="stretch")
    st.caption(t("runs.overlay_caption"))

# ---------------------------------------------------------------- best checkpoint
st.header(t("runs.inside_best"))
chosen = st.selectbox(t("runs.run"), run_names, key="runs_detail")
run_dir = root / chosen
config = follow.read_config(run_dir)
age_edges = tuple(config.get("data", {}).get("age_edges", DEFAULT_AGE_EDGES))
best = leaderboard.best_epoch_row(run_dir)
if best is None and config.get("train", {}).get("final_fit"):
    st.info(t("runs.final_fit_unvalidated", run=chosen))  # it never validates: "come back later" would mislead
elif best is None:
    st.info(t("runs.no_finished_epoch", run=chosen))
else:
    st.caption(t("runs.best_caption", epoch=best["epoch"], f1=best["val_f1"], accuracy=best["val_acc"]))
    per_class = leaderboard.per_class_table(best, age_edges)
    f1_column, confusion_column = st.columns(2)
    with f1_column:
        st.subheader(t("runs.per_class"))
        st.dataframe(per_class, hide_index=True, width="stretch", height=460,
                     column_config={"class": st.column_config.NumberColumn(t("runs.class_number"), width=32),
                                    "name": st.column_config.TextColumn(t("runs.class_name")),
                                    "F1": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="%.3f",
                                                                          width="small"),
                                    "support": st.column_config.NumberColumn(t("runs.images"), width=56)})
    cells = leaderboard.confusion_table(best)
    with confusion_column:
        st.subheader(t("runs.confusion"))
        event = st.altair_chart(charts.confusion_chart(cells, age_edges), width="stretch", on_select="rerun",
                                selection_mode=charts.CELL_SELECTION, key=f"runs_confusion_{chosen}")
        st.caption(t("runs.confusion_caption"))

    errors = leaderboard.error_cells(cells)
    st.subheader(t("runs.cell_images"))
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
        st.info(t("runs.empty_cell", true=class_name(clicked[0], age_edges), predicted=class_name(clicked[1], age_edges)))
    cell = st.selectbox(t("runs.cell"), options, key="runs_cell",
                        format_func=lambda cell: t("runs.cell_option", true=class_name(cell[0], age_edges),
                                                   predicted=class_name(cell[1], age_edges), count=counts[cell]))
    predictions = leaderboard.read_val_predictions(run_dir)
    if predictions is None and st.button(t("runs.find_images"), key="runs_compute_cells"):
        try:
            from core.train.predict import compute_val_predictions  # imports torch: only when asked

            predictions = compute_val_predictions(run_dir, progress=st_progress_callback(t("runs.predicting")))
        except Exception as error:  # noqa: BLE001 — a damaged checkpoint fails inside torch.load in many ways
            show_checkpoint_error(error, "best.pt", chosen, t("runs.train_again", run=chosen))
    if predictions is not None and cell is not None:
        data_dir = follow.run_data_dir(run_dir)
        images = leaderboard.cell_images(predictions, *cell)
        if images.empty:
            st.info(t("runs.no_image_in_cell"))
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
        st.session_state["runs_relabel_result"] = ("error", f"{localized_error(error)}\n\n{t('runs.check_data_dir')}")
        return
    for path in values:
        for key in keys[path].values():
            st.session_state.pop(key, None)
    clear_data_caches()
    st.session_state["runs_relabel_result"] = ("success", t("runs.wrote_rows", rows=len(rows),
                                                            path=relabel_path(data_dir)))


st.header(t("runs.suspects"))
suspects = read_suspects(run_dir)
if suspects.empty:
    st.info(t("runs.no_suspects", run=chosen))
else:
    data_dir = follow.run_data_dir(run_dir)
    try:
        still = still_suspect(suspects, load_train_scan(data_dir, age_edges).images)
    except MaskLabError as error:
        show_error(error, t("runs.corrected_unknown"))
        still = suspects["path"].notna()
    result = st.session_state.pop("runs_relabel_result", None)
    if result:
        (st.success if result[0] == "success" else st.error)(result[1])
    if not still.all():
        st.caption(t("runs.already_corrected", count=int((~still).sum()), path=relabel_path(data_dir)))
    open_suspects = suspects[still]
    if "evidence" in suspects.columns:  # suspects.csv of older runs has none: everything often wrong is listed
        strong = open_suspects["evidence"] >= EVIDENCE_MIN
        show_weak = st.toggle(t("runs.show_weak", count=int((~strong).sum())), key="runs_weak_suspects",
                              help=t("runs.show_weak_help"))
        open_suspects = open_suspects if show_weak else open_suspects[strong]
    st.caption(t("runs.suspects_caption", count=len(open_suspects), evidence_min=EVIDENCE_MIN))
    columns = st.columns(6)
    keys = {}
    for position, row in enumerate(open_suspects.head(24).itertuples()):
        given_mask, given_gender, _ = decode(int(row.given_label))
        predicted_mask, predicted_gender, predicted_age = decode(int(row.predicted_label))
        prefix = f"runs_suspect_{chosen}_{row.Index}"  # the row of suspects.csv: stable while others are fixed
        evidence = getattr(row, "evidence", float("nan"))
        with columns[position % 6]:
            st.image(str(data_dir / row.path), width=THUMB_WIDTH,
                     caption=t("runs.suspect_caption", given=row.given_name, predicted=row.predicted_name)
                             + ("" if evidence != evidence else t("runs.suspect_evidence", evidence=evidence)))
            keys[row.path] = {"tick": prefix, "mask": f"{prefix}_mask", "gender": f"{prefix}_gender",
                              "age": f"{prefix}_age"}
            if st.checkbox(t("runs.fix"), key=prefix):
                st.selectbox(t("runs.mask"), range(len(MASK_NAMES)), index=None, key=f"{prefix}_mask",
                             format_func=lambda value: MASK_NAMES[value],
                             placeholder=t("runs.keep", given=MASK_NAMES[given_mask], predicted=MASK_NAMES[predicted_mask]))
                st.selectbox(t("runs.gender"), range(len(GENDER_NAMES)), index=None, key=f"{prefix}_gender",
                             format_func=lambda value: GENDER_NAMES[value],
                             placeholder=t("runs.keep", given=GENDER_NAMES[given_gender],
                                           predicted=GENDER_NAMES[predicted_gender]))
                st.number_input(t("runs.age"), min_value=1, max_value=120, value=None, step=1, key=f"{prefix}_age",
                                placeholder=t("runs.keep_age", band=age_band_names(age_edges)[predicted_age]),
                                help=t("runs.age_help"))
    chosen_values = sum(st.session_state.get(fields[field]) is not None
                        for fields in keys.values() if st.session_state.get(fields["tick"])
                        for field in ("mask", "gender", "age"))
    st.checkbox(t("runs.whole_person"), value=True, key="runs_accept_person", help=t("runs.whole_person_help"))
    st.button(t("runs.write_values", count=chosen_values), key="runs_accept_suspects",
              disabled=not chosen_values, on_click=write_chosen_fixes, args=(run_dir, data_dir, keys))
