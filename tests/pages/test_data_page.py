"""The Data page driven like a user on generated data: spec, table, charts, what-if, statistics, gallery."""
from __future__ import annotations

import pytest

import core.data.stats as stats_module
from core.data.layout import scan_train
from core.data.stats import image_stats, sample_paths
from tests.pages.conftest import (all_text, assert_no_exception, chart_data, chart_spec, chart_titles,
                                  dataframe_with, run_page, vega_charts)
from tests.quirks import BAD_FOLDER, SHARED_ID, TRUNCATED, add_name_quirks

PAGE = "1_Data.py"


@pytest.fixture
def page(demo_data_dir):
    at = run_page(PAGE, demo_data_dir)
    assert_no_exception(at)
    return at


def metric_values(at) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def chart_titled(at, title: str):
    for chart, chart_title in zip(vega_charts(at), chart_titles(at)):
        if chart_title == title:
            return chart
    raise AssertionError(f"no chart titled {title!r}; have {chart_titles(at)}")


def test_spec_summary_counts_files_fields_sizes_and_formats(page):
    values = metric_values(page)
    assert values["people"] == "12" and values["train images"] == "84" and values["eval images"] == "28"
    assert values["images per person"] == "7-7" and values["skipped files"] == "0"
    files = dataframe_with(page, "file", "holds", "rows / files")
    assert files.set_index("file").loc["eval/info.csv", "rows / files"] == "28"
    fields = dataframe_with(page, "field", "meaning", "in this data")
    assert {"id", "gender", "race", "age", "path", "ImageID", "ans"} <= set(fields["field"])
    sizes = dataframe_with(page, "width", "height", "images")
    assert sizes.iloc[0].tolist() == [384, 512, 84]  # every sampled image is 384x512
    assert dataframe_with(page, "extension", "files").set_index("extension")["files"].to_dict() == {".jpg": 112}


def test_class_chart_and_imbalance_numbers(page, demo_data_dir):
    classes = chart_data(chart_titled(page, "Images per class"))
    assert len(classes) == 18 and classes["count"].sum() == 84
    labels = scan_train(demo_data_dir).images["label"]
    assert classes["count"].tolist() == [int((labels == c).sum()) for c in range(18)]
    text = all_text(page)
    assert "Classes: the largest is" in text and " : 1**" in text
    assert "Mask: the largest is **wear** (60)" in text


def test_age_histogram_marks_the_edges_and_cross_table_counts_people(page):
    spec = chart_spec(chart_titled(page, "People per age, band edges in red"))
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["bar", "rule", "text"]
    cross = dataframe_with(page, "gender", ">=60", "total")  # gender × age, one row per gender plus the total
    assert cross.loc["total", "total"] == 12 and cross.loc[["male", "female"], "total"].sum() == 12
    page.radio(key="data_cross_unit").set_value("images").run()
    assert_no_exception(page)
    assert dataframe_with(page, "gender", ">=60", "total").loc["total", "total"] == 84


def test_attribute_counts_switch_between_images_and_people(page):
    assert chart_data(chart_titled(page, "gender (images)"))["count"].sum() == 84
    page.radio(key="data_dist_unit").set_value("people").run()
    assert_no_exception(page)
    assert chart_data(chart_titled(page, "gender (people)"))["count"].sum() == 12


def test_metadata_table_sorts_and_switches_unit(page):
    table = dataframe_with(page, "path", "class name")
    assert len(table) == 84
    page.selectbox(key="data_table_sort").select("age").run()
    page.checkbox(key="data_table_ascending").uncheck().run()
    assert_no_exception(page)
    table = dataframe_with(page, "path", "class name")
    assert table["age"].tolist() == sorted(table["age"], reverse=True)
    page.radio(key="data_table_unit").set_value("people").run()
    assert_no_exception(page)
    people = dataframe_with(page, "person", "images")
    assert len(people) == 12 and set(people["images"]) == {7}
    assert "12 rows" in all_text(page)


def test_age_edge_whatif_compares_and_applies_an_edge(page, demo_data_dir):
    summary = dataframe_with(page, "old-age edge", "rarest class")
    assert summary["old-age edge"].tolist() == [60, 58, 55]
    ages = scan_train(demo_data_dir).profiles["age"]
    assert summary["people in old band"].tolist() == [int((ages >= e).sum()) for e in (60, 58, 55)]
    page.multiselect(key="data_whatif_edges").set_value([60, 50]).run()
    assert_no_exception(page)
    assert dataframe_with(page, "old-age edge", "rarest class")["old-age edge"].tolist() == [60, 50]
    wide = dataframe_with(page, "30/60", "30/50")
    assert wide["30/60"].sum() == wide["30/50"].sum() == 84
    assert set(chart_data(chart_titled(page, "Images per class for each age-edge setting"))["setting"]) == {"30/60", "30/50"}

    page.selectbox(key="data_whatif_pick").select(50)
    page.button(key="data_whatif_apply").click().run()
    assert_no_exception(page)
    assert page.session_state["age_edges"] == (30, 50)
    names = chart_data(chart_titled(page, "age (images)"))["name"].tolist()
    assert names == ["<30", "30-49", ">=50"]


def test_image_statistics_are_the_core_numbers_and_cached(demo_data_dir, monkeypatch):
    measured = []
    original = stats_module.measure_image
    monkeypatch.setattr(stats_module, "measure_image", lambda path: measured.append(path) or original(path))
    at = run_page(PAGE, demo_data_dir)
    assert_no_exception(at)
    expected = image_stats(demo_data_dir, sample_paths(scan_train(demo_data_dir).images, 200, 0))
    values = metric_values(at)
    assert values["mean (R, G, B)"] == ", ".join(f"{v:.3f}" for v in expected.mean)
    assert values["std (R, G, B)"] == ", ".join(f"{v:.3f}" for v in expected.std)
    assert any(expected.normalize_snippet() == code.value for code in at.code)
    assert len(measured) == 84 + 84  # the page's sample (all 84), then `expected` above

    at.run()  # a rerun hits st.cache_data: nothing is decoded again, and no progress bar is left
    assert_no_exception(at)
    assert len(measured) == 168 and not at.get("progress")
    at.select_slider(key="data_stats_sample").set_value(50).run()
    assert_no_exception(at)
    assert len(measured) == 168 + 50
    assert chart_data(chart_titled(at, "Brightness of the sampled images"))["brightness"].size == 50


def test_gallery_filters_by_class_and_attribute(page, demo_data_dir):
    images = scan_train(demo_data_dir).images
    label = int(images["label"].value_counts().idxmax())
    page.selectbox(key="data_gallery_class").select(label).run()
    assert_no_exception(page)
    expected = int((images["label"] == label).sum())
    assert f"**{expected}** matching images" in all_text(page)
    gallery = page.image[1]  # 0: darkest/brightest, 1: gallery, 2: one person
    assert len(gallery.captions) == min(expected, 16)
    assert all(caption.startswith(f"{label}: ") for caption in gallery.captions)

    page.selectbox(key="data_gallery_class").select("any")
    page.selectbox(key="data_gallery_mask").select(1).run()  # incorrect: one image per person
    assert_no_exception(page)
    assert "**12** matching images of **12** people" in all_text(page)
    assert all("incorrect_mask" in caption for caption in page.image[1].captions)

    page.selectbox(key="data_gallery_gender").select(0)
    page.selectbox(key="data_gallery_age").select(2).run()
    assert_no_exception(page)
    old_men = images[(images["gender_label"] == 0) & (images["age_label"] == 2) & (images["mask"] == 1)]
    assert f"**{len(old_men)}** matching images" in all_text(page)


def test_one_persons_seven_images_in_competition_order(page, demo_data_dir):
    person = sorted(scan_train(demo_data_dir).images["person"].unique())[3]
    page.selectbox(key="data_gallery_person").select(person).run()
    assert_no_exception(page)
    captions = page.image[-1].captions
    assert [c.split(":")[0] for c in captions] == ["mask1", "mask2", "mask3", "mask4", "mask5", "incorrect_mask",
                                                   "normal"]
    labels = [int(c.rsplit(" ", 1)[1]) for c in captions]
    assert labels[5] == labels[0] + 6 and labels[6] == labels[0] + 12
    assert any(person in caption.value for caption in page.caption)


def test_skipped_files_and_warnings_on_a_quirky_dataset(quirky_data_dir):
    at = run_page(PAGE, quirky_data_dir)
    assert_no_exception(at)
    skipped = dataframe_with(at, "path", "reason")
    paths = skipped["path"].tolist()
    assert any(path.endswith(TRUNCATED) for path in paths)
    assert f"train/images/{BAD_FOLDER}" in paths
    assert metric_values(at)["skipped files"] == str(len(paths))
    assert any("eval/ is not usable" in warning.value for warning in at.warning)
    assert "No file was skipped." not in all_text(at)


def test_an_unusable_data_directory_is_explained(tmp_path):
    at = run_page(PAGE, tmp_path / "nowhere")
    assert_no_exception(at)
    assert "not found" in at.error[0].value and "home page" in at.error[0].value


def test_a_data_directory_without_usable_images_says_so(tmp_path):
    (tmp_path / "train" / "images" / "not_a_person_folder").mkdir(parents=True)
    (tmp_path / "train" / "train.csv").write_text("id,gender,race,age,path\n")
    at = run_page(PAGE, tmp_path)
    assert_no_exception(at)
    assert "no usable train images" in at.warning[0].value
    assert dataframe_with(at, "path", "reason")["path"].tolist() == ["train/images/not_a_person_folder"]


def test_every_widget_explains_itself(page):
    widgets = [*page.radio, *page.selectbox, *page.multiselect, *page.select_slider, *page.number_input,
               *page.checkbox]
    keys = {widget.key for widget in widgets}
    assert {"data_table_unit", "data_cross_unit", "data_whatif_edges", "data_whatif_pick", "data_gallery_class",
            "data_gallery_mask", "data_gallery_gender", "data_gallery_age", "data_gallery_count",
            "data_gallery_seed", "data_stats_seed"} <= keys
    assert [widget.key for widget in widgets if not widget.help] == []


def test_a_corrupt_duplicate_keeps_the_good_image_on_the_page(demo_copy):
    person = sorted((demo_copy / "train" / "images").iterdir())[0]
    (person / "normal.jpeg").write_bytes(b"\xff\xd8\xff broken")  # sorts before the good normal.jpg
    at = run_page(PAGE, demo_copy)
    assert_no_exception(at)
    assert metric_values(at)["train images"] == "84" and metric_values(at)["skipped files"] == "1"
    assert dataframe_with(at, "path", "reason")["path"].tolist() == [f"train/images/{person.name}/normal.jpeg"]


def test_eval_images_that_do_not_decode_are_listed(demo_copy):
    eval_images = sorted((demo_copy / "eval" / "images").iterdir())
    eval_images[0].write_bytes(b"\xff\xd8\xff broken")
    at = run_page(PAGE, demo_copy)
    assert_no_exception(at)
    assert any("1 eval image(s) do not decode" in warning.value and "inference will stop" in warning.value
               for warning in at.warning)
    tables = [frame.value for frame in at.dataframe if "path" in frame.value.columns]
    assert [f"eval/images/{eval_images[0].name}"] in [table["path"].tolist() for table in tables]


def test_names_that_are_not_utf8_and_a_shared_person_id_are_shown(demo_copy):
    added = add_name_quirks(demo_copy)
    at = run_page(PAGE, demo_copy)
    assert_no_exception(at)
    tables = [frame.value for frame in at.dataframe if {"path", "reason"} <= set(frame.value.columns)]
    skipped, warnings = tables[0], tables[1]
    assert set(skipped["path"]) == {added["folder"], added["file"]}
    assert set(skipped["reason"]) == {"name is not valid UTF-8 (bad bytes shown as \\xNN); rename it in UTF-8"}
    shared = warnings[warnings["reason"].str.contains(f"person id {SHARED_ID}")]
    assert shared["path"].tolist() == [added["twins"][0]] and added["twins"][1] in shared["reason"].iloc[0]
    assert metric_values(at)["skipped files"] == "2" and metric_values(at)["people"] == "14"


def test_a_data_directory_that_is_a_link_loop_is_explained(tmp_path):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    at = run_page(PAGE, loop)
    assert_no_exception(at)
    assert "symbolic link loop" in at.error[0].value and "home page" in at.error[0].value


def test_distributions_name_every_class_write_the_counts_and_explain_the_colours(page):
    spec = chart_spec(chart_titled(page, "Images per class"))
    bars, written = spec["layer"]
    names = bars["encoding"]["y"]["scale"]["domain"]  # one bar per class, the class along the side
    assert len(names) == 18 and names[0].startswith("0: wear") and names[17].startswith("17: not wear")
    assert bars["encoding"]["y"]["axis"]["labelOverlap"] is False  # no name dropped for lack of room
    legend_values = bars["encoding"]["color"]["scale"]["domain"]
    assert any("under 2% of the images" in value for value in legend_values)  # not "true"/"false"
    assert written["mark"]["type"] == "text" and written["encoding"]["text"]["field"] == "count_text"
    data = chart_data(chart_titled(page, "Images per class"))
    assert data["count_text"].tolist() == [f"{c} ({s:.0%})" for c, s in zip(data["count"], data["share"])]
    for attribute in ("mask", "gender", "age"):
        layers = chart_spec(chart_titled(page, f"{attribute} (images)"))["layer"]
        assert layers[1]["encoding"]["text"]["field"] == "count_text"
        assert layers[0]["encoding"]["x"]["axis"]["labelOverlap"] is False


def test_the_data_page_in_korean(demo_data_dir):
    """Issue #16: titles, tabs, widget labels and help, metrics, chart titles, table headers and the EDA sentences
    in Korean; the lecture's EDA and data-spec text quoted from the Korean notes."""
    from core.i18n import text

    at = run_page(PAGE, demo_data_dir, state={"lang": "ko"})
    assert_no_exception(at)
    assert at.title[0].value == "데이터" and at.caption[0].value == text("ko", "data.caption")
    assert [tab.label for tab in at.tabs][:2] == ["스펙 요약", "메타데이터"]
    lecture = at.expander[0]
    assert lecture.label == text("ko", "data.lecture_expander")
    assert "탐색적 데이터 분석" in lecture.markdown[0].value and "데이터 스펙 요약본" in lecture.markdown[0].value
    assert metric_values(at)["학습(train) 이미지"] == "84"
    sample = at.select_slider(key="data_stats_sample")
    assert sample.label == "표본 크기" and sample.help == text("ko", "data.sample_size_help")
    assert at.radio(key="data_table_unit").options == ["이미지", "사람"]
    assert "마스크: 가장 많은 것은 **wear** (60)" in all_text(at)
    assert "표본 이미지의 밝기" in chart_titles(at) and "마스크 (이미지)" in chart_titles(at)
    assert dataframe_with(at, "파일", "내용", "행 / 파일 수").set_index("파일").loc["eval/info.csv", "행 / 파일 수"] == "28"
    assert "노년 경계" in dataframe_with(at, "노년 경계", "노년 구간 사람 수").columns


def test_the_data_page_explains_a_missing_folder_in_korean(tmp_path):
    at = run_page(PAGE, tmp_path / "nowhere", state={"lang": "ko"})
    assert_no_exception(at)
    assert "찾을 수 없습니다" in at.error[0].value and "홈 페이지에서 데이터 폴더를 고르세요" in at.error[0].value


def test_the_english_data_page_stays_english(page):
    assert page.title[0].value == "Data" and [tab.label for tab in page.tabs][0] == "Spec summary"
    assert page.select_slider(key="data_stats_sample").label == "Sample size"
