"""The home page driven like a user: the problem, the classes, the pipeline links, the data selector, age edges."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.pages.conftest import REPO_ROOT, all_text, assert_no_exception, dataframe_with, run_page


@pytest.fixture
def home(demo_data_dir, monkeypatch):
    # "Use the demo dataset" must land on the small fixture, never generate the full demo set.
    monkeypatch.setenv("MASKLAB_DEMO_DIR", str(demo_data_dir))
    at = run_page("app.py", demo_data_dir)
    assert_no_exception(at)
    return at


def metrics(at) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def test_shows_the_problem_the_classes_and_the_metric(home):
    text = all_text(home)
    assert "Input" in text and "384 wide × 512 high" in text and "6 × mask + 3 × gender + age band" in text
    grid = dataframe_with(home, "mask", "gender", "age >=60")
    assert grid.shape == (6, 5)
    assert sorted(grid.iloc[:, 2:].to_numpy().ravel().tolist()) == list(range(18))
    assert grid.iloc[5].tolist() == ["not wear", "female", 15, 16, 17]
    assert any("F_1" in latex.value for latex in home.latex)
    assert "macro F1" in "\n".join(h.value for h in home.subheader)


def test_class_table_counts_the_images_of_the_chosen_data(home):
    table = dataframe_with(home, "class", "images")
    assert len(table) == 18 and table["images"].sum() == 84


def test_metrics_describe_the_selected_data(home):
    assert metrics(home) == {"People": "12", "Train images": "84", "Eval images": "28", "Skipped files": "0"}


def test_pipeline_links_only_the_pages_that_exist(home):
    linked = [link.proto.label for link in home.get("page_link")]
    expected_pages = {"1_Data.py": "Data page", "2_Augmentation.py": "Augmentation page",
                      "3_Loader.py": "Loader page", "4_Training.py": "Training page", "5_Runs.py": "Runs page",
                      "6_Submission.py": "Submission page"}
    existing = {label for name, label in expected_pages.items() if (REPO_ROOT / "pages" / name).is_file()}
    assert set(linked) == existing and "Data page" in linked
    steps = [m.value for m in home.markdown if m.value.count("**") == 2 and m.value.split("**")[2].startswith(" — ")]
    assert [s.split("**")[1] for s in steps] == ["Domain Understanding", "Data Mining", "Data Analysis",
                                                 "Data Processing", "Modeling", "Training", "Deploy",
                                                 "Submission & Leaderboard"]


def test_pipeline_marks_what_a_competition_skips(home):
    # Lecture 1: Data Mining and Deploy are "Competition의 경우는 x"; the submission replaces Deploy.
    rows = {m.value.split("**")[1]: m.value for m in home.markdown
            if m.value.count("**") == 2 and m.value.split("**")[2].startswith(" — ")}
    for step in ("Data Mining", "Deploy"):
        assert "Not part of a competition" in rows[step] and "marks it 'x' for competitions" in rows[step]
    assert "Not part of a competition" not in rows["Training"] + rows["Submission & Leaderboard"]
    dot = home.get("graphviz_chart")[0].proto.spec
    for step in ("Data Mining", "Deploy"):
        node = next(part for part in dot.split(";") if f'label="{step}' in part)
        assert "dashed" in node and "not in a competition" in node
    assert 'label="Deploy' not in dot.split("->")[-1]  # the last edge leads to the submission, not Deploy
    assert "n5 -> sub" in dot


def test_states_the_image_classification_framing(home):
    assert "Image + Classification Model = Class" in all_text(home)


def test_a_missing_folder_is_rejected_at_once_and_the_previous_stays(home, demo_data_dir, tmp_path):
    missing = tmp_path / "no_such_folder"
    home.text_input(key="data_dir_input").input(str(missing)).run()
    assert_no_exception(home)
    assert len(home.error) == 1
    message = home.error[0].value
    assert str(missing) in message and "not found" in message
    assert f"The previous data directory stays selected: {demo_data_dir}" in message
    assert home.session_state["data_dir"] == str(demo_data_dir)
    assert metrics(home)["Train images"] == "84"  # the page still works on the previous data


def test_a_folder_without_train_images_is_rejected(home, tmp_path):
    (tmp_path / "train").mkdir()
    home.text_input(key="data_dir_input").input(str(tmp_path)).run()
    assert_no_exception(home)
    assert "train/images folder not found" in home.error[0].value


def test_choosing_another_folder_switches_every_number(home, demo_data_dir, tmp_path):
    other = Path(shutil.copytree(demo_data_dir, tmp_path / "other"))
    home.text_input(key="data_dir_input").input(str(other)).run()
    assert_no_exception(home)
    assert not home.error and home.session_state["data_dir"] == str(other)
    assert f"`{other}`" in all_text(home)

    home.button(key="use_demo_data").click().run()  # back to the demo dataset
    assert_no_exception(home)
    assert home.session_state["data_dir"] == str(demo_data_dir)
    assert home.text_input(key="data_dir_input").value == str(demo_data_dir)

    # The folder changed on disk meanwhile: choosing it again must re-scan, not reuse the cached scan.
    person = sorted((other / "train" / "images").iterdir())[0]
    (person / "mask1.jpg").write_bytes(b"not a jpeg")
    home.text_input(key="data_dir_input").input(str(other)).run()
    assert_no_exception(home)
    assert metrics(home) == {"People": "12", "Train images": "83", "Eval images": "28", "Skipped files": "1"}


def test_a_relative_path_is_stored_absolute(home, demo_data_dir, tmp_path, monkeypatch):
    other = Path(shutil.copytree(demo_data_dir, tmp_path / "other"))
    monkeypatch.chdir(tmp_path)
    home.text_input(key="data_dir_input").input("other/").run()
    assert_no_exception(home)
    assert not home.error and home.session_state["data_dir"] == str(other)
    home.run()  # the box still says "other/": the same folder, so it stays selected
    assert home.session_state["data_dir"] == str(other) and metrics(home)["Train images"] == "84"


def test_age_edges_are_shared_and_validated(home):
    home.number_input(key="age_edge_old").set_value(55).run()
    assert_no_exception(home)
    assert home.session_state["age_edges"] == (30, 55)
    grid = dataframe_with(home, "mask", "gender", "age >=55")
    assert "age 30-54" in grid.columns

    home.number_input(key="age_edge_young").set_value(70).run()
    assert_no_exception(home)
    assert "age_edges" in home.error[0].value and "previous edges stay selected: 30, 55" in home.error[0].value
    assert home.session_state["age_edges"] == (30, 55)


def test_age_edge_widgets_take_their_bounds_and_defaults_from_core_labels(home):
    from core.labels import DEFAULT_AGE_EDGES, MAX_AGE_EDGE, MIN_AGE_EDGE

    young, old = home.number_input(key="age_edge_young"), home.number_input(key="age_edge_old")
    assert (young.min, young.max, old.min, old.max) == (MIN_AGE_EDGE, MAX_AGE_EDGE - 1, MIN_AGE_EDGE + 1,
                                                        MAX_AGE_EDGE)
    assert (young.value, old.value) == DEFAULT_AGE_EDGES
    assert f"default {DEFAULT_AGE_EDGES[0]}" in young.help and f"default {DEFAULT_AGE_EDGES[1]}" in old.help


def test_a_symlink_loop_is_rejected_in_words(home, demo_data_dir, tmp_path):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    home.text_input(key="data_dir_input").input(str(loop)).run()
    assert_no_exception(home)
    assert "symbolic link loop" in home.error[0].value
    assert f"The previous data directory stays selected: {demo_data_dir}" in home.error[0].value
    assert home.session_state["data_dir"] == str(demo_data_dir) and metrics(home)["Train images"] == "84"


def test_a_selected_folder_that_became_a_loop_is_explained(demo_data_dir, tmp_path):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    at = run_page("app.py", loop)
    assert_no_exception(at)
    assert [error.value.split(":")[0] for error in at.error] == [str(loop)]  # said once, naming it
    assert "symbolic link loop" in at.error[0].value
    # A good folder typed then is taken, though the old one cannot even be resolved.
    at.text_input(key="data_dir_input").input(str(demo_data_dir)).run()
    assert_no_exception(at)
    assert at.session_state["data_dir"] == str(demo_data_dir) and metrics(at)["Train images"] == "84"


def test_use_the_demo_dataset_logs_no_widget_state_warning(home, demo_data_dir, tmp_path, caplog):
    """Issue #16.10: the button set a text box that also had a value, and the server logged a stack trace."""
    from streamlit.elements.lib import policies

    other = Path(shutil.copytree(demo_data_dir, tmp_path / "other"))
    home.text_input(key="data_dir_input").input(str(other)).run()
    policies._shown_default_value_warning = False  # Streamlit warns once per process: arm it for this click
    with caplog.at_level("WARNING"):
        home.button(key="use_demo_data").click().run()
    assert_no_exception(home)
    assert home.text_input(key="data_dir_input").value == str(demo_data_dir)
    assert not [r for r in caplog.records if "set via the Session State API" in r.getMessage()]


def test_the_home_page_in_korean_quotes_the_lecture_and_explains_errors(demo_data_dir, monkeypatch):
    """Issue #16: the page's text, help and errors in Korean; the lecture quoted from the Korean notes."""
    from core.i18n import text

    monkeypatch.setenv("MASKLAB_DEMO_DIR", str(demo_data_dir))
    at = run_page("app.py", demo_data_dir, state={"lang": "ko"})
    assert_no_exception(at)
    assert at.title[0].value == text("ko", "home.title")
    assert [h.value for h in at.header][:2] == [text("ko", "home.your_data"), text("ko", "home.problem")]
    markdown = "\n".join(m.value for m in at.markdown)
    assert "내가 지금 풀어야 할 문제가 무엇인가?" in markdown and "Image + Classification Model = Class" in markdown
    assert "Competition의 경우는 x" in all_text(at)
    assert metrics(at)[text("ko", "home.train_images")] == "84"
    young = at.number_input(key="age_edge_young")
    assert young.label == "청년 / 중년 경계" and young.help == text("ko", "home.young_edge_help", default=30)
    assert at.text_input(key="data_dir_input").label == text("ko", "home.data_dir_label")
    assert "데이터 페이지" in [link.proto.label for link in at.get("page_link")]
    assert "연령 >=60" in dataframe_with(at, "마스크", "성별").columns

    young.set_value(70).run()  # the error of a bad pair of edges, in Korean, with what stays selected
    assert_no_exception(at)
    assert at.error[0].value.startswith("age_edges: 0 < 청년 경계 < 노년 경계 <= 150이어야 합니다")
    assert "이전 경계가 그대로 선택되어 있습니다: 30, 60" in at.error[0].value
    at.text_input(key="data_dir_input").input(str(demo_data_dir / "missing")).run()
    assert "찾을 수 없습니다" in at.error[0].value and "이전 데이터 폴더가 그대로 선택되어 있습니다" in at.error[0].value


def test_the_english_home_page_stays_english(home):
    assert home.title[0].value == "Mask Lab" and home.header[0].value == "Your data"
    assert home.number_input(key="age_edge_young").label == "Young / middle edge"
    assert not any("강" in m.value for m in home.markdown)
