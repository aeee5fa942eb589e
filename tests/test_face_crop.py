"""FaceCrop: crops the item's own box pixel-exactly, falls back to a centred box, serializes like any
step, reaches the datasets through faceboxes.csv, and trains end to end."""
from __future__ import annotations

import shutil

import albumentations as A
import numpy as np
import pytest

from core.augment.face_crop import FaceCrop, crop_box
from core.augment.pipeline import Pipeline, Step, new_step
from core.augment.serialize import load_pipeline, parse_pipeline, pipeline_to_text, save_pipeline
from core.data import create_dataset
from core.data.demo import FACEBOX_TRUTH_NAME
from core.data.images import read_image
from core.faces.boxes import boxes_path, read_boxes

H, W = 120, 100


def pattern() -> np.ndarray:
    """Every pixel different (row, column and channel coded), so a crop's position is visible in its values."""
    y, x = np.mgrid[0:H, 0:W]
    return np.stack([y * 2, x * 2, (x + y) % 256], axis=-1).astype(np.uint8)


def fractions(x0, y0, x1, y1, score=1.0, w=W, h=H):
    return (x0 / w, y0 / h, x1 / w, y1 / h, score)


def test_the_given_box_is_cropped_pixel_exactly():
    image = pattern()
    out = A.Compose([FaceCrop(margin=0, aspect=None)])(image=image, face_box=fractions(10, 20, 50, 80))["image"]
    assert np.array_equal(out, image[20:80, 10:50])


def test_margin_and_aspect_widen_the_box_about_its_centre():
    image = pattern()
    out = A.Compose([FaceCrop(margin=0.25, aspect=0.75)])(image=image, face_box=fractions(30, 40, 70, 80))["image"]
    # 40x40 box -> 60x60 with the margin -> 60 wide x 80 high for width/height 0.75, same centre (50, 60)
    assert np.array_equal(out, image[20:100, 20:80])


def test_a_box_near_the_edge_is_shifted_inside_rather_than_cut():
    coords, used = crop_box((H, W), fractions(0, 0, 40, 40), margin=0.25, aspect=None, min_score=0, fallback_height=0.6)
    assert used and coords == (0, 0, 60, 60)


@pytest.mark.parametrize("face_box", [None, fractions(10, 20, 50, 80, score=-0.5)], ids=["no box", "low score"])
def test_without_a_usable_box_the_centred_box_is_cropped(face_box):
    image = pattern()
    step = FaceCrop(margin=0.25, aspect=0.5, min_score=0.0, fallback_height=0.5)
    data = {"image": image} if face_box is None else {"image": image, "face_box": face_box}
    out = A.Compose([step])(**data)["image"]
    # 60 high (0.5 of 120), 30 wide (aspect 0.5), centred on (50, 60); no margin on the fallback
    assert np.array_equal(out, image[30:90, 35:65])
    assert step.params["face_found"] is False


def test_the_box_follows_a_reduced_size_image():
    # Fractions: a half-size decode (the loader's draft reader) crops the same part of the face.
    image = pattern()
    half = image[::2, ::2]
    pipeline = A.Compose([FaceCrop(margin=0, aspect=None)])
    out = pipeline(image=half, face_box=fractions(10, 20, 50, 80))["image"]
    assert np.array_equal(out, half[10:40, 5:25])


def test_serialization_round_trips_in_json_yaml_and_the_editor(tmp_path):
    compose = A.Compose([FaceCrop(margin=0.4, aspect=0.8, min_score=0.2, fallback_height=0.7), A.Resize(64, 48)])
    for fmt in ("json", "yaml"):
        A.save(compose, str(tmp_path / f"p.{fmt}"), data_format=fmt)
        loaded = A.load(str(tmp_path / f"p.{fmt}"), data_format=fmt)
        assert A.to_dict(loaded) == A.to_dict(compose)
    pipeline = parse_pipeline(pipeline_to_text(Pipeline(steps=[new_step("FaceCrop", margin=0.4), new_step("Resize")])))
    first = pipeline.steps[0]
    assert isinstance(first, Step) and first.name == "FaceCrop"  # an editable step, not kept read-only
    assert first.args["margin"] == 0.4 and first.args["aspect"] == 0.75
    path = save_pipeline(pipeline, tmp_path / "editor.yaml")
    image = pattern()
    out = load_pipeline(path)(image=image, face_box=fractions(10, 20, 50, 80))["image"]
    assert out.shape == (256, 192, 3)


def test_the_dataset_hands_each_item_its_own_box(demo_copy):
    shutil.copy(demo_copy / FACEBOX_TRUTH_NAME, boxes_path(demo_copy))
    truth = read_boxes(boxes_path(demo_copy))
    transform = A.Compose([FaceCrop(margin=0, aspect=None)])
    dataset = create_dataset(demo_copy, "all", transform=transform)
    for index in (0, 9, 30):
        path = dataset.images["path"][index]
        x0, y0, x1, y1 = truth[path].box
        assert np.array_equal(dataset[index]["image"], read_image(demo_copy / path)[y0:y1, x0:x1])
    evals = create_dataset(demo_copy, "eval", transform=transform)
    path = evals.eval_images["path"][0]
    x0, y0, x1, y1 = truth[path].box
    assert np.array_equal(evals[0]["image"], read_image(demo_copy / path)[y0:y1, x0:x1])


def test_without_faceboxes_csv_the_dataset_warns_and_crops_centred(demo_copy):
    with pytest.warns(UserWarning, match="faceboxes.csv: not found.*python -m core faces"):
        dataset = create_dataset(demo_copy, "all", transform=A.Compose([FaceCrop(aspect=0.75, fallback_height=0.5)]))
    assert dataset[0]["image"].shape == (256, 192, 3)


def test_a_short_training_run_with_the_crop_works_end_to_end(demo_copy, tmp_path):
    from core.train import runs
    from core.train.trainer import train_run
    from tests.test_train_support import tiny_config

    shutil.copy(demo_copy / FACEBOX_TRUTH_NAME, boxes_path(demo_copy))
    pipeline = save_pipeline(Pipeline(steps=[new_step("FaceCrop"), new_step("Resize", height=48, width=36),
                                             new_step("Normalize")]), tmp_path / "crop.yaml")
    config = tiny_config(demo_copy, tmp_path / "runs", "train.epochs=1", f"augment.train={pipeline}",
                         f"augment.val={pipeline}")
    run_dir = train_run(config, log=lambda text: None)
    status = runs.read_status(run_dir)
    assert status["state"] == "finished" and status["error"] is None
    assert runs.read_metrics(run_dir, "epoch")[0]["val_f1"] >= 0


def test_the_augmentation_preview_crops_each_image_to_its_box(demo_copy):
    from core.augment.preview import augment_grid, load_images
    from core.faces.boxes import face_boxes_for

    shutil.copy(demo_copy / FACEBOX_TRUTH_NAME, boxes_path(demo_copy))
    paths = sorted(read_boxes(boxes_path(demo_copy)))[:2]
    images = load_images(demo_copy, paths)
    pipeline = Pipeline(steps=[new_step("FaceCrop", margin=0.0, aspect=None)])
    grid = augment_grid(pipeline, images, 2, face_boxes_for(demo_copy, paths))
    for path, image, row in zip(paths, images, grid):
        x0, y0, x1, y1 = read_boxes(boxes_path(demo_copy))[path].box
        assert all(np.array_equal(out, image[y0:y1, x0:x1]) for out in row)
    centred = augment_grid(pipeline, images, 1)  # without boxes: the centred fallback
    assert centred[0][0].shape == (307, 230, 3)
