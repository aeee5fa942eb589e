"""The Augmentation page driven like a user: add, change, break, reorder, time, export and re-import."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import streamlit as st
import yaml
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from core.augment.catalogue import catalogue
from core.augment.serialize import read_pipeline
from core.labels import class_name
from tests.pages.conftest import open_page

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "2_Augmentation.py")


@pytest.fixture(autouse=True)
def fresh_caches(tmp_path, monkeypatch):
    st.cache_data.clear()
    st.cache_resource.clear()
    monkeypatch.setenv("MASKLAB_EXPORT_DIR", str(tmp_path / "exports"))


@pytest.fixture
def page(demo_data_dir) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["data_dir"] = str(demo_data_dir)
    at.run()
    assert not at.exception
    return at


def step_titles(at) -> list[str]:
    """'1. Resize', '2. Normalize', ... as the editor shows them."""
    return [m.value.split("**")[1] for m in at.markdown if m.value.startswith("**") and ". " in m.value.split("**")[1]]


def preview_captions(at) -> list[list[str]]:
    return [image.captions for image in at.image]


def add_step(at, name: str) -> None:
    at.selectbox(key="aug_add_name").select(name)
    at.button(key="aug_add").click().run()
    assert not at.exception


def lowest_value(at) -> float:
    """The low end of 'values **low .. high**' under What the model receives."""
    line = next(m.value for m in at.markdown if m.value.startswith("- shape"))
    return float(line.split("values **")[1].split(" ..")[0])


def uid_of(at, position: int) -> int:
    return at.session_state["aug_pipeline"].steps[position].uid


def test_first_visit_shows_the_baseline_and_its_preview(page):
    assert step_titles(page) == ["1. Resize", "2. Normalize"]
    rows = preview_captions(page)[:4]
    assert len(rows) == 4 and all(len(row) == 5 for row in rows)  # original + 4 draws, 4 images
    assert rows[0][0].endswith("384x512") and rows[0][1] == "draw 1 · 192x256"
    assert any("(3, 256, 192)" in m.value for m in page.markdown)  # what the model receives
    assert not page.error


def test_add_steps_change_a_parameter_and_see_it_in_the_preview(page):
    add_step(page, "Rotate")
    add_step(page, "CoarseDropout")
    page.multiselect(key="aug_oneof_names").select("GaussianBlur").select("MotionBlur").run()
    page.button(key="aug_add_oneof").click().run()
    assert not page.exception
    # New steps go before Normalize, where pixels are still 0..255 (#16.2)
    assert step_titles(page) == ["1. Resize", "2. Rotate", "3. CoarseDropout", "4. OneOf", "5. Normalize"]
    page.number_input(key=f"aug_{uid_of(page, 0)}_height").set_value(128).run()
    assert not page.exception and not page.error
    assert preview_captions(page)[0][1].startswith("draw 1 · 192x128")
    assert page.session_state["aug_pipeline"].steps[0].args["height"] == 128
    rotate = uid_of(page, 1)
    page.slider(key=f"aug_{rotate}_limit").set_value((-10.0, 10.0)).run()
    assert page.session_state["aug_pipeline"].steps[1].args["limit"] == (-10.0, 10.0)


def test_invalid_parameter_is_explained_in_place_and_blocks_the_preview(page):
    page.number_input(key=f"aug_{uid_of(page, 0)}_height").set_value(0).run()
    assert not page.exception
    assert [e.value for e in page.error] == ["step 1 (Resize): height: 0 is below the minimum 1 (Output height in pixels)"]
    assert any("Fix the problems" in w.value for w in page.warning)
    assert not page.image  # no preview from a broken pipeline
    page.number_input(key=f"aug_{uid_of(page, 0)}_height").set_value(256).run()
    assert not page.error and page.image


def test_a_rule_across_parameters_is_shown_under_its_step(page):
    add_step(page, "Crop")
    page.number_input(key=f"aug_{uid_of(page, 1)}_x_max").set_value(10).run()
    assert not page.exception
    assert [e.value for e in page.error] == ["step 2 (Crop): x_max must be greater than x_min"]


def test_reorder_disable_and_remove(page):
    add_step(page, "Rotate")
    rotate = uid_of(page, 1)
    page.button(key=f"aug_{rotate}_down").click().run()
    assert step_titles(page) == ["1. Resize", "2. Normalize", "3. Rotate"]
    page.checkbox(key=f"aug_{rotate}_enabled").uncheck().run()
    assert any(c.value.startswith("Resize → Normalize · seed") for c in page.caption)  # disabled: not run
    page.button(key=f"aug_{rotate}_remove").click().run()
    assert step_titles(page) == ["1. Resize", "2. Normalize"]
    assert not page.exception


def test_export_to_a_folder_and_reimport_restores_the_pipeline(page, tmp_path):
    add_step(page, "HorizontalFlip")
    page.number_input(key="aug_seed_0").set_value(42).run()
    page.text_input(key="aug_export_name").input("my_aug").run()
    page.button(key="aug_save").click().run()
    assert not page.exception
    saved = tmp_path / "exports" / "my_aug.yaml"
    assert saved.is_file() and any(str(saved) in s.value for s in page.success)
    assert [s.name for s in read_pipeline(saved).steps] == ["Resize", "HorizontalFlip", "Normalize"]
    assert yaml.safe_load(saved.read_text())["transform"]["seed"] == 42
    assert page.get("download_button")  # the same text is offered for download

    add_step(page, "Rotate")
    page.button(key=f"aug_{uid_of(page, 0)}_remove").click().run()
    assert step_titles(page) == ["1. HorizontalFlip", "2. Rotate", "3. Normalize"]
    page.file_uploader(key="aug_import").set_value(("my_aug.yaml", saved.read_bytes(), "application/x-yaml")).run()
    assert not page.exception
    assert step_titles(page) == ["1. Resize", "2. HorizontalFlip", "3. Normalize"]
    assert page.session_state["aug_pipeline"].seed == 42
    assert page.number_input(key="aug_seed_1").value == 42  # the seed widget shows the imported seed
    assert [s.value for s in page.success] == ["Imported 3 steps from my_aug.yaml."]
    page.run()  # the upload stays in the widget: it must not be imported again over later edits
    assert not page.success


def test_importing_a_bad_file_names_step_and_parameter_and_keeps_the_pipeline(page):
    bad = json.dumps({"transform": {"__class_fullname__": "Compose", "transforms": [
        {"__class_fullname__": "Resize", "height": 256, "width": 192, "p": 1},
        {"__class_fullname__": "Rotate", "limit": [-30, 30], "p": 1.5}]}})
    page.file_uploader(key="aug_import").set_value(("bad.json", bad.encode(), "application/json")).run()
    assert not page.exception
    assert page.error[0].value.startswith("bad.json: step 2 (Rotate): p: 1.5 is above the maximum 1")
    assert step_titles(page) == ["1. Resize", "2. Normalize"]


def test_timing_chart_torchvision_comparison_and_order_experiment(page):
    add_step(page, "Rotate")
    page.button(key="aug_time").click().run()
    assert not page.exception
    chart = page.get("vega_lite_chart")[0]
    mark = json.loads(chart.proto.spec)["mark"]
    assert (mark["type"] if isinstance(mark, dict) else mark) == "bar"
    data = convert_arrow_bytes_to_pandas_df(chart.proto.datasets[0].data.data)
    assert list(data["step"]) == ["1. Resize", "2. Rotate", "3. Normalize"] and (data["ms_per_image"] > 0).all()
    assert page.metric[0].value.endswith("images/s")

    page.button(key="aug_compare").click().run()
    assert not page.exception
    table = page.dataframe[-1].value
    assert list(table["step"]) == ["Resize", "Rotate", "Normalize"]
    assert any(image.captions[0] == "torchvision draw 1" for image in page.image)

    page.button(key="aug_order").click().run()  # defaults: the pipeline's Resize and Rotate
    assert not page.exception
    assert page.selectbox(key="aug_order_first").value == "1. Resize"
    assert page.selectbox(key="aug_order_second").value == "2. Rotate"
    orders = page.dataframe[-1].value
    assert list(orders["order"]) == ["Resize → Rotate", "Rotate → Resize"]
    assert page.success and "cheaper" in page.success[0].value


def test_pick_images_of_one_person_or_one_class(page, demo_data_dir):
    page.radio(key="aug_pick_mode").set_value("person").run()
    person = page.selectbox(key="aug_pick_person").value
    page.slider(key="aug_count").set_value(8).run()
    rows = preview_captions(page)
    assert not page.exception and len([r for r in rows if r[0].endswith("384x512")]) == 7  # a person has 7 images
    assert all(r[0].startswith(person.split("_")[0]) for r in rows if r[0].endswith("384x512"))
    page.radio(key="aug_pick_mode").set_value("class").run()
    label = page.selectbox(key="aug_pick_class").value
    originals = [r[0] for r in preview_captions(page) if r[0].endswith("384x512")]
    assert not page.exception and originals
    assert all(f" · {class_name(label)} · " in caption for caption in originals)


def test_every_catalogue_transform_can_be_added_and_previewed(page):
    for name in catalogue():
        if name not in ("Resize", "Normalize"):
            add_step(page, name)
    assert not page.exception
    assert len(step_titles(page)) == len(catalogue())
    # CenterCrop asks for more than the 192x256 image Resize leaves: named, not a traceback
    assert page.error[0].value.startswith("step 7 (CenterCrop): cannot be applied to a 192x256 image")
    assert page.button(key="aug_time").disabled  # nothing to time until it runs


def test_empty_pipeline_then_load_the_competition_preset(page):
    for _ in range(2):
        page.button(key=f"aug_{uid_of(page, 0)}_remove").click().run()
    assert not page.exception and step_titles(page) == []
    assert any("The pipeline is empty" in i.value for i in page.info)
    assert page.image  # an empty pipeline shows the images unchanged
    page.selectbox(key="aug_preset_name").select("competition")
    page.button(key="aug_load_preset").click().run()
    assert not page.exception and not page.error
    assert step_titles(page)[0] == "1. Resize" and "6. OneOf" in step_titles(page)
    assert [s.value for s in page.success] == ["Loaded the 'competition' preset."]
    group = page.session_state["aug_pipeline"].steps[5]
    page.button(key=f"aug_{group.steps[2].uid}_remove").click().run()  # drop GaussNoise from the group
    assert [child.name for child in page.session_state["aug_pipeline"].steps[5].steps] == ["GaussianBlur", "MotionBlur"]
    assert any("OneOf(GaussianBlur | MotionBlur) →" in c.value for c in page.caption)  # the preview's summary


def test_values_beyond_the_sliders_usual_span_are_shown_and_editable(page):
    """Rotate ±360 and Affine scale up to 3 are valid Albumentations: the slider widens, nothing is clamped."""
    wide = json.dumps({"transform": {"__class_fullname__": "Compose", "transforms": [
        {"__class_fullname__": "Resize", "height": 5000, "width": 192, "p": 1},
        {"__class_fullname__": "Rotate", "limit": [-360, 360], "p": 0.5},
        {"__class_fullname__": "Affine", "scale": [0.5, 3.0], "p": 0.5}]}})
    page.file_uploader(key="aug_import").set_value(("wide.json", wide.encode(), "application/json")).run()
    assert not page.exception and not page.error
    rotate, affine = uid_of(page, 1), uid_of(page, 2)
    assert page.slider(key=f"aug_{rotate}_limit").value == (-360.0, 360.0)
    assert (page.slider(key=f"aug_{rotate}_limit").min, page.slider(key=f"aug_{rotate}_limit").max) == (-360, 360)
    assert page.slider(key=f"aug_{affine}_scale").value == (0.5, 3.0)
    assert page.number_input(key=f"aug_{uid_of(page, 0)}_height").value == 5000
    page.slider(key=f"aug_{rotate}_limit").set_value((-270.0, 300.0)).run()
    assert not page.exception and not page.error
    assert page.session_state["aug_pipeline"].steps[1].args["limit"] == (-270.0, 300.0)
    page.number_input(key=f"aug_{uid_of(page, 0)}_height").set_value(-5).run()
    assert [e.value for e in page.error] == [
        "step 1 (Resize): height: -5 is below the minimum 1 (Output height in pixels)"]


def test_steps_outside_the_catalogue_are_read_only_movable_and_exported_unchanged(page, tmp_path):
    import albumentations as A

    A.save(A.Compose([A.Resize(256, 192), A.Blur(blur_limit=(3, 5), p=0.8),
                      A.SomeOf([A.HorizontalFlip(p=1), A.PadIfNeeded(300, 220, p=1)], n=1, p=1)]), tmp_path / "t.json")
    original = json.loads((tmp_path / "t.json").read_text())["transform"]["transforms"]
    page.file_uploader(key="aug_import").set_value(("t.json", (tmp_path / "t.json").read_bytes(),
                                                    "application/json")).run()
    assert not page.exception and not page.error
    assert step_titles(page) == ["1. Resize", "2. Blur", "3. SomeOf"]
    assert any("read-only" in m.value for m in page.markdown if m.value.startswith("**2. Blur**"))
    shown = {row["parameter"]: row["value"] for _, row in page.dataframe[0].value.iterrows()}
    assert shown["blur_limit"] == "[3, 5]" and shown["p"] == "0.8"
    assert page.image  # the preview runs the imported pipeline
    blur = uid_of(page, 1)
    page.button(key=f"aug_{blur}_down").click().run()
    assert step_titles(page) == ["1. Resize", "2. SomeOf", "3. Blur"]
    page.checkbox(key=f"aug_{blur}_enabled").uncheck().run()
    assert any(c.value.startswith("Resize → SomeOf · seed") for c in page.caption)
    page.checkbox(key=f"aug_{blur}_enabled").check().run()
    page.text_input(key="aug_export_name").input("kept").run()
    page.button(key="aug_save").click().run()
    saved = json.loads(json.dumps(yaml.safe_load((tmp_path / "exports" / "kept.yaml").read_text())))
    assert saved["transform"]["transforms"][1:] == [original[2], original[1]]  # as imported, in the new order
    page.button(key=f"aug_{blur}_remove").click().run()
    assert step_titles(page) == ["1. Resize", "2. SomeOf"] and not page.exception


def test_a_colour_step_goes_before_normalize_and_a_damaging_order_is_flagged(page):
    """Issue #16.2: ColorJitter appended after Normalize clipped the normalised values and washed draws out."""
    add_step(page, "ColorJitter")
    assert step_titles(page) == ["1. Resize", "2. ColorJitter", "3. Normalize"]
    assert not any("runs after Normalize" in w.value for w in page.warning)
    assert lowest_value(page) < 0  # normalised: below zero for dark pixels
    page.slider(key=f"aug_{uid_of(page, 1)}_p").set_value(1.0)  # every draw jittered
    page.button(key=f"aug_{uid_of(page, 1)}_down").click().run()  # the order the issue hit
    assert not page.exception
    assert any("step 3 (ColorJitter) runs after Normalize" in w.value for w in page.warning)
    assert lowest_value(page) >= 0.0  # clipped to 0..1: what the warning is about


def test_what_the_model_receives_checks_every_draw(page):
    """Issue #16.2: a draw unlike the first (here a crop that fires on some draws) is reported, not hidden."""
    add_step(page, "CenterCrop")
    crop = uid_of(page, 1)
    page.number_input(key=f"aug_{crop}_height").set_value(100)
    page.number_input(key=f"aug_{crop}_width").set_value(80)
    page.slider(key=f"aug_{crop}_p").set_value(0.5).run()
    assert not page.exception and not page.error
    assert any("Over all 16 draws" in c.value for c in page.caption)
    assert any("differ in shape" in i.value for i in page.info)


def test_each_draw_says_what_it_applied(page):
    """albumentations-demo shows the values each draw used; so do we (Compose save_applied_params)."""
    add_step(page, "Rotate")
    add_step(page, "ColorJitter")
    for position in (1, 2):
        page.slider(key=f"aug_{uid_of(page, position)}_p").set_value(1.0)
    page.run()
    assert not page.exception and not page.error
    draws = [caption for row in preview_captions(page)[:4] for caption in row[1:]]
    assert len(draws) == 16 and all("Rotate " in c and "°" in c and "ColorJitter brightness" in c for c in draws)
    angles = {c.split("Rotate ")[1].split("°")[0] for c in draws}
    assert len(angles) > 1 and all(abs(float(a)) <= 90 for a in angles)  # drawn per image, within the limit
    assert "Resize" not in draws[0] and "Normalize" not in draws[0]  # the same on every draw: not repeated


def test_preview_on_uploaded_photos_and_a_bad_upload_is_named(page, demo_data_dir, tmp_path):
    """Besides dataset images, a user's own photos (decoded in memory, never saved)."""
    photo = next((demo_data_dir / "train" / "images").rglob("*.jpg")).read_bytes()
    before = set(tmp_path.rglob("*"))
    page.file_uploader(key="aug_uploads").set_value([("me.jpg", photo, "image/jpeg")]).run()
    assert not page.exception and not page.error
    rows = preview_captions(page)
    assert rows[0][0].startswith("me.jpg · your photo · 384x512") and rows[0][1].startswith("draw 1 · 192x256")
    assert set(tmp_path.rglob("*")) == before  # nothing written
    page.file_uploader(key="aug_uploads").set_value([("notes.png", b"not an image", "image/png")]).run()
    assert not page.exception
    assert page.error[0].value.startswith("notes.png: cannot read image")
    assert "your photo" not in preview_captions(page)[0][0]  # the dataset images instead


def test_transforms_read_from_the_library_alone_are_editable_with_docstring_help(page):
    """Past albumentations-demo's hand-written list: e.g. SafeRotate, with no hint of ours, is fully editable."""
    assert len(catalogue()) >= 50
    add_step(page, "SafeRotate")
    rotate = uid_of(page, 1)
    low, high = page.number_input(key=f"aug_{rotate}_limit__0"), page.number_input(key=f"aug_{rotate}_limit__1")
    assert "angle" in low.help.lower()  # the library's docstring
    assert (low.value, high.value) == (-90.0, 90.0)  # the library's default
    low.set_value(-5.0)
    high.set_value(5.0).run()
    assert not page.exception and not page.error
    assert page.session_state["aug_pipeline"].steps[1].args["limit"] == (-5.0, 5.0)
    assert any(c.startswith("draw 1 · 192x256") for row in preview_captions(page) for c in row)


def test_the_augmentation_page_in_korean(demo_data_dir):
    """Issue #16: titles, the lecture quotes, the editor's labels, purposes and help, a bad value and a
    damaging order explained in Korean."""
    from core.i18n import text

    at = open_page("2_Augmentation.py", demo_data_dir, state={"lang": "ko"})
    assert at.title[0].value == text("ko", "augmentation.title")
    lecture = at.expander[0].markdown[0].value
    assert "3강" in lecture and "데이터 다양화 시키기!" in lecture and "transforms를 compose 할 때는 신중하게 생각하자" in lecture
    assert step_titles(at) == ["1. Resize", "2. Normalize"]
    assert any(text("ko", "augment_catalogue.purposes.Resize") in m.value for m in at.markdown)
    height = at.number_input(key=f"aug_{uid_of(at, 0)}_height")
    assert height.help == "출력 높이 (픽셀)"
    assert at.number_input(key="aug_seed_0").label == "시드(seed)"
    assert [tab.label for tab in at.tabs] == ["시간 측정", "Albumentations와 torchvision 비교", "순서 실험",
                                              "내보내기 / 가져오기"]
    assert preview_captions(at)[0][1] == "뽑기 1 · 192x256"

    height.set_value(0).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["step 1 (Resize): height: 0은(는) 최솟값 1보다 작습니다"]
    assert any(text("ko", "augmentation.fix_to_preview") == w.value for w in at.warning)
    at.number_input(key=f"aug_{uid_of(at, 0)}_height").set_value(256).run()
    add_step(at, "ColorJitter")
    at.button(key=f"aug_{uid_of(at, 1)}_down").click().run()
    assert not at.exception
    assert any(w.value.startswith("step 3 (ColorJitter)이(가) Normalize 뒤에서 실행됩니다") for w in at.warning)


def test_the_english_augmentation_page_stays_english(page):
    assert page.title[0].value == "Augmentation lab"
    assert page.number_input(key="aug_seed_0").label == "Seed"
    assert page.number_input(key=f"aug_{uid_of(page, 0)}_height").help == "Output height in pixels"


def test_a_bad_pipeline_file_is_refused_in_korean(demo_data_dir):
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["data_dir"] = str(demo_data_dir)
    at.session_state["lang"] = "ko"
    at.run()
    at.file_uploader(key="aug_import").set_value(("bad.yaml", b"transform: [1, 2", "application/x-yaml")).run()
    assert not at.exception
    message = at.error[0].value
    assert message.startswith("bad.yaml: JSON도 YAML도 아닙니다") and "위의 파이프라인은 바뀌지 않았습니다." in message
    assert step_titles(at) == ["1. Resize", "2. Normalize"]


@pytest.mark.parametrize("preset", ["baseline", "competition", "face_crop"])
def test_every_parameter_of_a_shipped_preset_has_korean_help(demo_data_dir, preset):
    """ko/params_augment.yaml and augment_catalogue.yaml cover every widget the shipped presets draw."""
    import re

    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["data_dir"] = str(demo_data_dir)
    at.session_state["lang"] = "ko"
    at.run()
    at.selectbox(key="aug_preset_name").select(preset)
    at.button(key="aug_load_preset").click().run()
    assert not at.exception
    uids = {step.uid for step in at.session_state["aug_pipeline"].steps}
    widgets = [w for kind in ("number_input", "slider", "selectbox", "checkbox", "text_input")
               for w in getattr(at, kind) if re.fullmatch(r"aug_(\d+)_(?!enabled$).+", w.key or "")
               and int(w.key.split("_")[1]) in uids]
    assert len(widgets) > 2 * len(uids)
    english = [w.key for w in widgets if not re.search(r"[\uac00-\ud7a3]", w.help or "")]
    assert not english, f"widgets without Korean help: {english}"


def test_a_library_transform_says_what_it_does_in_korean(demo_data_dir):
    from core.i18n import text

    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["data_dir"] = str(demo_data_dir)
    at.session_state["lang"] = "ko"
    at.run()
    add_step(at, "Sharpen")
    assert any("커널 방식이나 가우시안 방식으로 이미지를 선명하게 합니다." in m.value for m in at.markdown)
    sharpen = uid_of(at, 1)
    assert at.slider(key=f"aug_{sharpen}_alpha").help == "선명하게 하는 효과가 보이는 정도의 범위"
    assert at.selectbox(key="aug_add_name").label == text("ko", "augmentation.transform")
