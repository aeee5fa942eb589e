"""Face boxes on the pages: the Data gallery draws them, counts them, detects and corrects them; the
Augmentation preview crops each image to its own box."""
from __future__ import annotations

import shutil

from core.data.demo import FACEBOX_TRUTH_NAME
from core.faces.boxes import boxes_path, read_boxes
from tests.pages.conftest import all_text, assert_no_exception, run_page


def test_the_gallery_draws_the_boxes_and_the_share_found(demo_copy):
    shutil.copy(demo_copy / FACEBOX_TRUTH_NAME, boxes_path(demo_copy))
    at = run_page("1_Data.py", demo_copy)
    assert_no_exception(at)
    assert "**100%** of 84 images have a face box (84 truth); 0 not looked at yet" in all_text(at)
    assert at.checkbox(key="data_faces_show").value
    gallery = at.image[1]  # 0: darkest/brightest, 1: the gallery
    assert len(gallery.captions) == 16 and all(c.endswith(" · face 1.00 (truth)") for c in gallery.captions)
    at.checkbox(key="data_faces_show").uncheck().run()
    assert_no_exception(at)
    assert not any("face 1.00" in caption for caption in at.image[1].captions)


def test_detect_from_the_page_then_correct_a_box(demo_copy):
    at = run_page("1_Data.py", demo_copy, timeout=180)
    assert_no_exception(at)
    assert "No faceboxes.csv yet" in all_text(at)
    at.button(key="data_faces_detect").click().run()
    assert_no_exception(at)
    rows = read_boxes(boxes_path(demo_copy))
    assert len(rows) == 84 and "84 images looked at" in all_text(at)
    assert f"of 84 images have a face box ({sum(r.box is not None for r in rows.values())} dlib-hog)" in all_text(at)

    path = at.selectbox(key="data_faces_fix_path").value
    for name, value in zip(("x0", "y0", "x1", "y1"), (80, 100, 300, 360)):
        at.number_input(key=f"data_faces_fix_{name}").set_value(value)
    at.button(key="data_faces_fix_save").click().run()
    assert_no_exception(at)
    fixed = read_boxes(boxes_path(demo_copy))[path]
    assert (fixed.box, fixed.source) == ((80, 100, 300, 360), "hand")

    for name, value in zip(("x0", "x1"), (300, 80)):  # a negative width: refused in one line, nothing saved
        at.number_input(key=f"data_faces_fix_{name}").set_value(value)
    at.button(key="data_faces_fix_save").click().run()
    assert_no_exception(at)
    assert any("negative or zero size" in str(error.value) for error in at.error)
    assert read_boxes(boxes_path(demo_copy))[path].box == (80, 100, 300, 360)


def test_the_augmentation_preview_crops_to_the_face(demo_copy):
    shutil.copy(demo_copy / FACEBOX_TRUTH_NAME, boxes_path(demo_copy))
    at = run_page("2_Augmentation.py", demo_copy)
    at.selectbox(key="aug_preset_name").select("face_crop")
    at.button(key="aug_load_preset").click().run()
    assert_no_exception(at)
    assert "FaceCrop: 4 of 4 preview images have a face box" in all_text(at)
    shutil.move(boxes_path(demo_copy), demo_copy / "elsewhere.csv")
    at.run()
    assert_no_exception(at)
    assert "FaceCrop: 0 of 4 preview images have a face box" in all_text(at)
    assert "No faceboxes.csv yet" in all_text(at)


def test_face_boxes_in_korean_and_a_bad_correction_refused_in_korean(demo_copy):
    """Issue #16: the face-box parts of the Data page, and the error of a wrong box, in Korean."""
    from core.i18n import text

    shutil.copy(demo_copy / FACEBOX_TRUTH_NAME, boxes_path(demo_copy))
    at = run_page("1_Data.py", demo_copy, state={"lang": "ko"})
    assert_no_exception(at)
    assert "이미지 84장 중 **100%**에 얼굴 박스가 있습니다 (84 truth)" in all_text(at)
    assert at.checkbox(key="data_faces_show").label == text("ko", "faces.draw")
    assert all(c.endswith(" · 얼굴 1.00 (truth)") for c in at.image[1].captions)
    assert at.number_input(key="data_faces_fix_x0").help == text("ko", "faces.box_help.x0")
    for name, value in zip(("x0", "x1"), (300, 80)):
        at.number_input(key=f"data_faces_fix_{name}").set_value(value)
    at.button(key="data_faces_fix_save").click().run()
    assert_no_exception(at)
    assert any("크기가 0 이하입니다" in str(error.value) for error in at.error)
