"""Mask Lab home: the problem, the pipeline, and the data directory every page works on."""
from pathlib import Path

import streamlit as st

from core.data import default_data_dir
from core.data.layout import scan_train
from core.errors import MaskLabError
from core.ui import DATA_DIR_KEY, clear_data_caches, current_data_dir, load_train_scan, show_error

st.set_page_config(page_title="Mask Lab", page_icon="😷", layout="wide")
st.title("Mask Lab")
st.write("Design and test the image pipeline for the face-mask classification competition: "
         "one face image in, one of 18 classes (mask × gender × age band) out, scored by macro F1.")

st.subheader("Data directory")
data_dir = current_data_dir()
typed = st.text_input("Folder holding train/ and eval/", value=str(data_dir), key="data_dir_input",
                      help=f"Leave as is for the demo dataset ({default_data_dir()}).")
if typed and Path(typed).expanduser() != data_dir:
    try:
        scan_train(typed, check=False)
        st.session_state[DATA_DIR_KEY] = str(Path(typed).expanduser())
        clear_data_caches()
        data_dir = Path(typed).expanduser()
    except MaskLabError as error:
        show_error(error, "The previous data directory stays selected.")
try:
    scan = load_train_scan(data_dir)
    st.success(f"{data_dir}: {scan.images['person'].nunique()} people, {len(scan.images)} images, "
               f"{len(scan.skipped)} skipped")
except MaskLabError as error:
    show_error(error)
