"""Face boxes: the demo's true boxes, the detector, faceboxes.csv (round trip, resume, corrections, bad input)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from core.data.demo import FACEBOX_TRUTH_NAME
from core.data.images import read_image
from core.errors import ConfigError, DataError
from core.faces.boxes import (FaceBox, append_boxes, boxes_path, correct_box, coverage, import_boxes,
                              load_face_boxes, read_boxes, write_boxes)
from core.faces.cli import dataset_image_paths
from core.faces.detect import DETECTOR_SOURCE, UNREADABLE_SOURCE, detect_faces, detect_one, iou, load_detector
from tests.test_train_support import REPO, subprocess_env

HEADER = "path,x0,y0,x1,y1,score,source\n"


@pytest.fixture(scope="module")
def truth(demo_data_dir):
    return read_boxes(demo_data_dir / FACEBOX_TRUTH_NAME)


def test_demo_writes_a_true_box_inside_every_image(demo_data_dir, truth):
    assert set(truth) == set(dataset_image_paths(demo_data_dir))  # train and eval images, nothing else
    for box in truth.values():
        x0, y0, x1, y1 = box.box
        assert box.source == "truth" and box.size == (384, 512)
        assert 0 <= x0 < x1 <= 384 and 0 <= y0 < y1 <= 512
        assert 100 < x1 - x0 < 260 and 140 < y1 - y0 < 300  # a face, not the whole photo


def test_true_boxes_round_trip_through_the_file(truth, tmp_path):
    write_boxes(tmp_path / "faceboxes.csv", truth.values())
    again = read_boxes(tmp_path / "faceboxes.csv")
    assert {p: (b.box, b.score, b.source, b.size) for p, b in again.items()} == \
           {p: (b.box, b.score, b.source, b.size) for p, b in truth.items()}


def test_the_detector_finds_unmasked_demo_faces_where_the_truth_says(demo_data_dir, truth):
    # Both ways: a wrong true box or a detector looking elsewhere would give a low IoU.
    detector = load_detector()
    normal = sorted(p for p in truth if p.endswith("/normal.jpg"))[:6]
    ious = []
    for path in normal:
        box, score = detect_one(detector, read_image(demo_data_dir / path))
        assert box is not None and score > 0, path
        ious.append(iou(box, truth[path].box))
    assert min(ious) > 0.5


def test_detection_rows_round_trip_and_a_second_run_resumes(demo_copy):
    paths = sorted(p for p in dataset_image_paths(demo_copy) if p.startswith("train/"))[:14]
    append_boxes(boxes_path(demo_copy), [FaceBox(paths[0], (1, 2, 30, 40), 0.5, "earlier", (384, 512))])
    calls = []
    summary = detect_faces(demo_copy, paths, progress=lambda done, total: calls.append((done, total)))
    assert (summary.already, summary.detected) == (1, 13) and calls[-1] == (14, 14)
    rows = read_boxes(boxes_path(demo_copy))
    assert rows[paths[0]].source == "earlier"  # an existing row is never redone
    assert {rows[p].source for p in paths[1:]} == {DETECTOR_SOURCE}
    assert summary.found == sum(rows[p].box is not None for p in paths[1:]) >= 2  # the two normal.jpg
    for path in paths[1:]:  # the file holds exactly what the detector returns
        assert rows[path].box == detect_one(load_detector(), read_image(demo_copy / path))[0]
    again = detect_faces(demo_copy, paths)
    assert (again.already, again.detected) == (14, 0)
    assert len(boxes_path(demo_copy).read_text().splitlines()) == 1 + 14


def test_a_hand_correction_overrides_the_detection_and_keeps_it_in_the_file(demo_copy):
    path = "train/images/" + sorted(p.name for p in (demo_copy / "train/images").iterdir())[0] + "/mask1.jpg"
    detect_faces(demo_copy, [path])
    correct_box(demo_copy, path, (50, 60, 250, 300), (384, 512))
    append_boxes(boxes_path(demo_copy), [FaceBox(path, (1, 1, 9, 9), 2.0, DETECTOR_SOURCE, (384, 512))])
    box = read_boxes(boxes_path(demo_copy))[path]
    assert (box.box, box.source) == ((50, 60, 250, 300), "hand")  # a later detection does not beat a hand row
    assert boxes_path(demo_copy).read_text().count(path) == 3


def test_an_unreadable_image_is_recorded_and_named(demo_copy):
    paths = sorted(p for p in dataset_image_paths(demo_copy) if p.startswith("train/"))[:2]
    (demo_copy / paths[0]).write_bytes(b"not a jpeg")
    summary = detect_faces(demo_copy, paths)
    assert summary.unreadable == [paths[0]] and paths[0] in summary.line()
    rows = read_boxes(boxes_path(demo_copy))
    assert rows[paths[0]].source == UNREADABLE_SOURCE and rows[paths[0]].box is None


@pytest.mark.parametrize("body, message", [
    ("path,x0,y0,x1,y1\n", "missing column(s) score, source"),
    (HEADER + "{p},10,10,5,50,0.9,x\n", "row 2: box (10, 10, 5, 50) has a negative or zero size"),
    (HEADER + "{p},-3,10,50,50,0.9,x\n", "row 2: box (-3, 10, 50, 50) starts outside the image"),
    (HEADER + "{p},10,10,50,600,0.9,x\n", "row 2: box (10, 10, 50, 600) ends outside the 384x512 image"),
    (HEADER + "{p},10,ten,50,50,0.9,x\n", "row 2: y0 must be a number, got 'ten'"),
    (HEADER + "{p},10,10,,50,0.9,x\n", "row 2: x0, y0, x1, y1 must all be given"),
    (HEADER + "{p},10,10,50,50,0.9,x\ntrain/images/nobody/mask1.jpg,1,1,9,9,1,x\n",
     "row 3: train/images/nobody/mask1.jpg is not an image of"),
])
def test_a_bad_boxes_file_is_one_line_naming_the_file_and_row(demo_copy, body, message):
    path = sorted(p for p in dataset_image_paths(demo_copy) if p.startswith("train/"))[0]
    boxes_path(demo_copy).write_text(body.format(p=path))
    with pytest.raises(DataError) as caught:
        load_face_boxes(demo_copy, dataset_image_paths(demo_copy))
    assert message in str(caught.value) and "faceboxes.csv" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_import_checks_every_row_before_adding_any(demo_copy, tmp_path):
    paths = sorted(p for p in dataset_image_paths(demo_copy) if p.startswith("train/"))[:2]
    outside = tmp_path / "retina.csv"
    outside.write_text(HEADER + f"{paths[0]},10,20,110,150,0.99,retinaface\n{paths[1]},10,20,500,150,0.9,\n")
    with pytest.raises(DataError, match=r"retina.csv row 3: .* ends outside the 384x512 image"):
        import_boxes(demo_copy, outside, dataset_image_paths(demo_copy))
    assert not boxes_path(demo_copy).exists()
    outside.write_text(HEADER + f"{paths[0]},10,20,110,150,0.99,retinaface\n{paths[1]},10,20,50,150,,\n")
    assert import_boxes(demo_copy, outside, dataset_image_paths(demo_copy)) == 2
    rows = load_face_boxes(demo_copy, dataset_image_paths(demo_copy))
    assert rows[paths[0]].source == "retinaface" and rows[paths[1]].source == "import"
    assert rows[paths[0]].size == (384, 512)  # read from the image header
    assert coverage(rows, paths)["with_face"] == 2


def test_a_missing_detector_package_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "dlib", None)  # what `import dlib` meets when it is not installed
    with pytest.raises(ConfigError, match="dlib-bin.*requirements.txt"):
        load_detector()


def test_cli_detects_then_benchmarks_against_the_demo_truth(demo_copy):
    env = subprocess_env()
    done = subprocess.run([sys.executable, "-m", "core", "faces", "--data-dir", str(demo_copy), "--json"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    rows = read_boxes(boxes_path(demo_copy))
    assert result["images"] == len(rows) == 16 * 7
    assert result["with_face"] == sum(row.box is not None for row in rows.values())
    bench = subprocess.run([sys.executable, "-m", "core", "faces", "--data-dir", str(demo_copy), "--bench",
                            "--images", "14", "--json"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert bench.returncode == 0, bench.stderr
    numbers = json.loads(bench.stdout)
    assert numbers["images"] == 14 and numbers["by_mask"]["not wear"] == 1.0
    assert 0 < numbers["hit_rate"] < 1 and 0.5 < numbers["mean_iou"] <= 1 and numbers["images_per_s"] > 0


def test_cli_bench_without_true_boxes_says_how_to_get_them(demo_copy):
    (demo_copy / FACEBOX_TRUTH_NAME).unlink()
    done = subprocess.run([sys.executable, "-m", "core", "faces", "--data-dir", str(demo_copy), "--bench"],
                          cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert FACEBOX_TRUTH_NAME in done.stderr and "demo-data" in done.stderr
