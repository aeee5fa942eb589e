"""AppTest drives the Loader page: widgets per parameter, validation, class counts, preview, sweep, export."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import streamlit as st
import yaml
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from core.loader.config import LoaderConfig
from core.params import params_of
from tests.pages.conftest import open_page

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "3_Loader.py")


@pytest.fixture(autouse=True)
def clear_caches():
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def page(demo_data_dir):
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["data_dir"] = str(demo_data_dir)
    return at.run()


def chart_data(at, index):
    chart = at.get("vega_lite_chart")[index]
    return json.loads(chart.proto.spec), convert_arrow_bytes_to_pandas_df(chart.proto.datasets[0].data.data)


def test_a_widget_with_the_lecture_help_for_every_parameter(page):
    assert not page.exception
    for param in params_of(LoaderConfig):
        widget = next(w for w in page.main if getattr(w, "key", None) == f"loader_{param.name}_0")
        assert widget.help and len(widget.help) > 40
    assert "subprocess" in page.slider(key="loader_num_workers_0").help or \
        "subprocesses" in page.slider(key="loader_num_workers_0").help


def test_an_invalid_combination_is_shown_in_words(page):
    page.slider(key="loader_num_workers_0").set_value(0)
    page.checkbox(key="loader_persistent_workers_0").check().run()
    assert not page.exception
    assert "loader.persistent_workers" in page.error[0].value and "num_workers > 0" in page.error[0].value


def test_choosing_a_sampler_turns_shuffle_off_and_the_page_stays(page):
    """Issue #16.5: following the caption (sampler=weighted_random) with shuffle on once blanked the page."""
    assert page.checkbox(key="loader_shuffle_0").value
    page.selectbox(key="loader_sampler_0").select("weighted_random").run()
    assert not page.exception and not page.error
    assert page.checkbox(key="loader_shuffle_1").value is False
    assert page.selectbox(key="loader_sampler_1").value == "weighted_random"
    assert any("Shuffle turned off" in i.value and "weighted_random" in i.value for i in page.info)
    assert page.get("vega_lite_chart") and any(b.key == "loader_preview" for b in page.button)
    assert page.session_state["loader_config"]["shuffle"] is False
    assert {"shuffle", "sampler"} <= set(page.session_state["loader_chosen"])


def test_weighted_sampler_evens_out_the_class_chart(page):
    _, before = chart_data(page, 0)
    sampled = before[before.source == "sampled"]
    page.checkbox(key="loader_shuffle_0").uncheck()
    page.selectbox(key="loader_sampler_0").select("weighted_random")
    page.number_input(key="loader_count_batches").set_value(40).run()
    assert not page.exception
    _, after = chart_data(page, 0)
    balanced = after[(after.source == "sampled") & (after["count"] > 0)]
    present = after[(after.source == "dataset") & (after["count"] > 0)]
    assert set(balanced["class"]) == set(present["class"])
    spread = lambda t: t["share"].max() / t["share"][t["share"] > 0].min()  # noqa: E731
    assert spread(balanced) < spread(present)
    assert sampled["count"].sum() == 84  # default: batches of 64 without replacement = one pass over 84 images


def test_preview_shows_one_batch_with_labels(page):
    page.number_input(key="loader_batch_size_0").set_value(6)
    page.button(key="loader_preview").click().run()
    assert not page.exception
    captions = page.image[0].captions
    assert len(captions) == 6 and all(c.split()[0].isdigit() and int(c.split()[0]) < 18 for c in captions)


def test_sweep_draws_a_chart_and_recommends_settings(page):
    page.multiselect(key="loader_sweep_workers").set_value([0])
    page.multiselect(key="loader_sweep_batch_sizes").set_value([8])
    page.number_input(key="loader_sweep_images").set_value(16)
    page.checkbox(key="loader_sweep_model").uncheck()
    page.button(key="loader_sweep_run").click().run(timeout=120)
    assert not page.exception
    table = page.dataframe[0].value
    assert set(table["loader"]) == {"baseline", "default", "cached"}
    assert (table["images_per_s"] > 0).all()
    spec, data = chart_data(page, 1)
    assert "bar" in json.dumps(spec["spec"]["mark"] if "spec" in spec else spec["mark"])
    assert len(data) == 3
    assert page.metric[2].value in ("loader", "model", "unknown")
    page.button(key="loader_apply").click().run()
    assert not page.exception
    assert page.slider(key="loader_num_workers_1").value == 0  # the recommendation (0 workers measured)
    assert page.number_input(key="loader_batch_size_1").value == 8  # batch_size applied too (only 8 measured)
    assert page.session_state["loader_config"]["batch_size"] == 8


def test_the_settings_are_published_for_the_training_page(page):
    from core.loader.settings import loader_config_from_session

    page.number_input(key="loader_batch_size_0").set_value(24).run()
    assert loader_config_from_session(page.session_state).batch_size == 24
    assert page.session_state["loader_config"]["batch_size"] == 24  # the key pages/4_Training.py reads


def test_pin_memory_uses_the_shared_optional_bool_widget(page, tmp_path):
    widget = page.selectbox(key="loader_pin_memory_0")
    assert widget.options == ["auto", "true", "false"] and widget.value is None
    widget.set_value(True).run()
    assert not page.exception and page.session_state["loader_config"]["pin_memory"] is True


def test_the_lecture_dataset_vs_dataloader_points_are_on_the_page(page):
    expander, = [e for e in page.expander if "Dataset vs DataLoader" in e.label]
    text = " ".join(m.value for m in expander.markdown)
    for words in ("Map-style", "Iterable-style", "__getitem__", "__len__", "dynamic batch", "reusable",
                  "DistributedSampler", "worker_init_fn"):
        assert words in text, words


def test_distributed_sampler_is_explained_and_previews_rank_0(page):
    page.checkbox(key="loader_shuffle_0").uncheck()
    page.selectbox(key="loader_sampler_0").select("distributed").run()
    assert not page.exception and not page.error
    assert any("torchrun" in i.value and "DistributedSampler" in i.value for i in page.info)
    _, counts = chart_data(page, 0)
    assert counts[counts.source == "sampled"]["count"].sum() == 42  # rank 0 of 2: half of the 84 images
    page.number_input(key="loader_batch_size_0").set_value(5)
    page.button(key="loader_preview").click().run()
    assert not page.exception and len(page.image[0].captions) == 5


@pytest.fixture
def saved_pipeline(tmp_path, monkeypatch):
    import albumentations as A

    exports = tmp_path / "exports"
    exports.mkdir()
    monkeypatch.setenv("MASKLAB_EXPORT_DIR", str(exports))
    path = exports / "from_augment_page.yaml"
    A.save(A.Compose([A.Resize(64, 48), A.HorizontalFlip(), A.Normalize()]), str(path), data_format="yaml")
    return path


def test_the_augmentation_pages_file_is_chosen_previewed_and_exported(demo_data_dir, saved_pipeline, tmp_path):
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["data_dir"] = str(demo_data_dir)
    at.run()
    assert str(saved_pipeline) in at.selectbox(key="loader_pipeline").options
    at.selectbox(key="loader_pipeline").select(str(saved_pipeline))
    at.number_input(key="loader_batch_size_0").set_value(4)
    at.button(key="loader_preview").click().run()
    assert not at.exception and len(at.image[0].captions) == 4
    target = saved_pipeline.parent / "exp.yaml"  # the exports folder
    at.text_input(key="loader_export_path").input(str(target))
    at.button(key="loader_export").click().run()
    written = yaml.safe_load(target.read_text())
    assert written["augment"]["train"] == str(saved_pipeline) and written["loader"]["batch_size"] == 4
    assert f"train: {saved_pipeline}" in at.code[0].value


def test_a_typed_pipeline_path_that_cannot_load_is_named(page, tmp_path):
    missing = tmp_path / "missing.yaml"
    page.selectbox(key="loader_pipeline").select("another file (type its path)").run()
    page.text_input(key="loader_pipeline_path").input(str(missing)).run()
    assert not page.exception
    assert str(missing) in page.error[0].value and page.button(key="loader_preview").disabled


@pytest.fixture
def export_dir(tmp_path, monkeypatch):
    folder = tmp_path / "exports"
    folder.mkdir()
    monkeypatch.setenv("MASKLAB_EXPORT_DIR", str(folder))
    return folder


def test_export_writes_the_loader_section_into_a_config(export_dir, demo_data_dir):
    target = export_dir / "exp.yaml"
    target.write_text(yaml.safe_dump({"train": {"epochs": 3}, "loader": {"batch_size": 1}}))
    page = AppTest.from_file(PAGE, default_timeout=60)
    page.session_state["data_dir"] = str(demo_data_dir)
    page.run()
    page.number_input(key="loader_batch_size_0").set_value(32)
    page.text_input(key="loader_export_path").input(str(target))
    page.button(key="loader_export").click().run()
    assert not page.exception and page.success
    written = yaml.safe_load(target.read_text())
    assert written["train"] == {"epochs": 3} and written["loader"]["batch_size"] == 32
    assert "batch_size: 32" in page.code[0].value


def test_export_refuses_files_outside_configs_and_exports_and_run_directories(export_dir, demo_data_dir, tmp_path,
                                                                               monkeypatch):
    runs = tmp_path / "runs"
    finished = runs / "finished"
    finished.mkdir(parents=True)
    monkeypatch.setenv("MASKLAB_RUNS_DIR", str(runs))
    config_text = "model: {name: small_cnn}\n"
    (finished / "config.yaml").write_text(config_text)
    (finished / "status.json").write_text('{"state": "finished"}')
    # A run directory inside the exports folder (e.g. copied there) is still a run directory.
    copied = export_dir / "copied_run"
    copied.mkdir()
    (copied / "status.json").write_text('{"state": "finished"}')
    (export_dir / "to_run.yaml").symlink_to(finished / "config.yaml")  # a link out of the folder
    page = AppTest.from_file(PAGE, default_timeout=60)
    page.session_state["data_dir"] = str(demo_data_dir)
    page.run()
    refused = {str(finished / "config.yaml"): "only under", str(tmp_path / "elsewhere" / "new.yaml"): "only under",
               str(export_dir / ".." / "up.yaml"): "only under", str(export_dir / "to_run.yaml"): "only under",
               str(copied / "config.yaml"): "inside a run directory", str(export_dir / "notes.txt"): ".yaml or .yml"}
    for target, reason in refused.items():
        page.text_input(key="loader_export_path").input(target)
        page.button(key="loader_export").click().run()
        assert not page.exception and not page.success
        assert len(page.error) == 1 and reason in page.error[0].value and target in page.error[0].value
        assert "\n" not in page.error[0].value.strip()  # one line
    assert (finished / "config.yaml").read_text() == config_text
    assert sorted(p.name for p in finished.iterdir()) == ["config.yaml", "status.json"]
    assert not (tmp_path / "elsewhere").exists() and not (tmp_path / "up.yaml").exists()
    assert not (copied / "config.yaml").exists() and not (export_dir / "notes.txt").exists()


def test_the_batch_preview_says_when_it_shows_part_of_the_batch_and_builds_no_cache_bar(page):
    """Issue #16.10: an empty "building cache" bar with cache=none, 16 images of a 32-image batch unexplained."""
    page.number_input(key="loader_batch_size_0").set_value(32)
    page.button(key="loader_preview").click().run()
    assert not page.exception and not page.error
    assert not page.get("progress")  # cache=none: nothing is built
    assert any("The first 16 of the batch's 32 images" in c.value for c in page.caption)


def test_the_page_in_korean_shows_the_korean_catalogue_and_english_stays_english(demo_data_dir):
    """Issue #16: title, lecture, labels, parameter help (lecture 4 quoted) and a parameter's error in Korean."""
    from core.i18n import text

    at = open_page("3_Loader.py", demo_data_dir, state={"lang": "ko"})
    assert at.title[0].value == text("ko", "loader.title")
    assert at.expander[0].label == text("ko", "loader.lecture_title") and "4강" in at.expander[0].label
    assert "Dataset과 DataLoader는 분리되는 것이 좋다" in at.expander[0].markdown[0].value
    assert at.selectbox(key="loader_pipeline").label == text("ko", "loader.pipeline")
    help = at.slider(key="loader_num_workers_0").help
    assert help == text("ko", "params.loader.num_workers") and "subprocess개수" in help  # the lecture's words
    assert any(c.value.startswith("이 머신에는") for c in at.caption)
    at.number_input(key="loader_batch_size_0").set_value(0).run()
    assert not at.exception
    assert at.error[0].value == "loader.batch_size: 0은(는) 최솟값 1보다 작습니다"

    english = AppTest.from_file(PAGE, default_timeout=60)
    english.session_state["data_dir"] = str(demo_data_dir)
    english.run()
    assert english.title[0].value == "Loader" and english.selectbox(key="loader_pipeline").label.startswith("Pipeline")
    assert english.slider(key="loader_num_workers_0").help == LoaderConfig.__dataclass_fields__[
        "num_workers"].metadata["param"]["help"]


def test_in_korean_the_picker_the_sampler_note_and_the_preview_caption_are_korean(demo_data_dir):
    """Issue #16: texts core/loader makes for this page (picker entries, shuffle note, preview caption) in Korean."""
    from core.i18n import text
    from core.loader.preview import BENCHMARK_PIPELINE

    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["data_dir"] = str(demo_data_dir)
    at.session_state["lang"] = "ko"
    at.run()
    picker = at.selectbox(key="loader_pipeline")
    assert picker.options[0] == text("ko", "loader.pipeline_benchmark") == "벤치마크 (Resize 256x192 + flip + Normalize)"
    assert picker.options[-1] == "다른 파일 (경로 입력)" and picker.value == BENCHMARK_PIPELINE  # the value stays
    spec, data = chart_data(at, 0)  # the class chart: its legend names the sources in Korean, the data stays
    assert "전체 데이터셋" in json.dumps(spec, ensure_ascii=False) and set(data.source) == {"sampled", "dataset"}
    at.selectbox(key="loader_sampler_0").select("weighted_random").run()
    assert not at.exception and not at.error
    assert [i.value for i in at.info if i.value.startswith("shuffle을 껐습니다")] == [
        "shuffle을 껐습니다: sampler=weighted_random가 순서를 정합니다. DataLoader는 둘 중 하나만 받습니다."]
    at.number_input(key="loader_batch_size_1").set_value(32)
    at.button(key="loader_preview").click().run()
    assert not at.exception and not at.error
    assert any(c.value.startswith(text("ko", "loader.part_of_batch", shown=16, total=32, batch_size=32)[:12])
               for c in at.caption)
    assert not any("The first 16" in c.value for c in at.caption)
