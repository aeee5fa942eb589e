"""The demo dataset: real layout, class mix, determinism, refusal/completion rules, learnability."""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.data import demo
from core.data.demo import demo_people, generate_demo_dataset, is_complete_demo
from core.errors import ConfigError, DataError
from core.labels import IMAGE_STEMS, decode, parse_profile_folder

PEOPLE, EVAL_PEOPLE = 8, 2
HEX_NAME = re.compile(r"^[0-9a-f]{40}\.jpg$")


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def all_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "nested" / "data"  # parents are created
    calls = []
    result = generate_demo_dataset(out, people=PEOPLE, eval_people=EVAL_PEOPLE, seed=0, workers=1,
                                   progress=lambda done, total: calls.append((done, total)))
    assert result == out
    out.joinpath("progress.json").write_text(json.dumps(calls))  # kept aside for test_progress
    return out


def test_layout_is_exactly_the_competition_layout(dataset):
    top = {p.name for p in dataset.iterdir()} - {"progress.json"}
    assert top == {"train", "eval", ".masklab-demo.json", ".masklab-demo-eval-truth.csv",
                   ".masklab-demo-faceboxes-truth.csv"}
    assert {p.name for p in (dataset / "train").iterdir()} == {"train.csv", "images"}
    assert {p.name for p in (dataset / "eval").iterdir()} == {"info.csv", "images"}
    folders = sorted(p for p in (dataset / "train" / "images").iterdir())
    assert len(folders) == PEOPLE
    for folder in folders:
        assert folder.is_dir()
        assert sorted(p.name for p in folder.iterdir()) == sorted(f"{stem}.jpg" for stem in IMAGE_STEMS)
        assert len(IMAGE_STEMS) == 7  # mask1..mask5, incorrect_mask, normal


def test_train_csv_lists_every_person_folder(dataset):
    with open(dataset / "train" / "train.csv", newline="") as handle:
        assert handle.readline().strip() == "id,gender,race,age,path"
    rows = read_rows(dataset / "train" / "train.csv")
    assert len(rows) == PEOPLE
    folders = sorted(p.name for p in (dataset / "train" / "images").iterdir())
    assert [row["path"] for row in rows] == folders
    for number, row in enumerate(rows, start=1):
        assert row["id"] == f"{number:06d}"
        assert row["gender"] in ("male", "female")
        assert row["race"] == "Asian"
        assert 18 <= int(row["age"]) <= 70
        assert row["path"] == f"{row['id']}_{row['gender']}_{row['race']}_{row['age']}"
        profile = parse_profile_folder(row["path"])
        assert (profile.gender, profile.age) == (row["gender"], int(row["age"]))
    assert [(r["gender"], int(r["age"])) for r in rows] == demo_people(PEOPLE, seed=0, split="train")


def test_eval_info_lists_shuffled_hex_named_images(dataset):
    with open(dataset / "eval" / "info.csv", newline="") as handle:
        assert handle.readline().strip() == "ImageID,ans"
    rows = read_rows(dataset / "eval" / "info.csv")
    assert len(rows) == EVAL_PEOPLE * 7
    names = [row["ImageID"] for row in rows]
    assert len(set(names)) == len(names)
    assert all(HEX_NAME.match(name) for name in names)  # nothing about the person or the label
    assert all(row["ans"] == "0" for row in rows)
    assert sorted(p.name for p in (dataset / "eval" / "images").iterdir()) == sorted(names)

    truth = read_rows(dataset / ".masklab-demo-eval-truth.csv")
    assert [row["ImageID"] for row in truth] == names  # same order as info.csv
    masks = [decode(int(row["ans"]))[0] for row in truth]
    assert [masks.count(m) for m in range(3)] == [5 * EVAL_PEOPLE, EVAL_PEOPLE, EVAL_PEOPLE]
    # Shuffled: a person's 7 images are not one block in file order.
    people_order = [int(row["ans"]) % 6 for row in truth]
    assert masks != sorted(masks) or people_order != sorted(people_order)


def test_truth_labels_match_the_eval_people(dataset):
    truth = read_rows(dataset / ".masklab-demo-eval-truth.csv")
    expected = []
    for index, (gender, age) in enumerate(demo_people(EVAL_PEOPLE, seed=0, split="eval")):
        for stem in IMAGE_STEMS:
            name = demo._eval_image_id(0, index, stem)
            band = 0 if age < 30 else (1 if age < 60 else 2)
            mask = {"incorrect_mask": 1, "normal": 2}.get(stem, 0)
            expected.append((name, 6 * mask + 3 * (gender == "female") + band))
    assert sorted((row["ImageID"], int(row["ans"])) for row in truth) == sorted(expected)


def test_images_are_384x512_rgb_jpegs(dataset):
    paths = sorted((dataset / "train" / "images").rglob("*.jpg"))[:14]
    paths += sorted((dataset / "eval" / "images").iterdir())[:3]
    for path in paths:
        with Image.open(path) as image:
            assert image.format == "JPEG"
            assert image.size == (384, 512)
            assert image.mode == "RGB"
            image.load()
    # A person's five masked photos are different draws (other masks, other pose).
    folder = sorted((dataset / "train" / "images").iterdir())[0]
    contents = {(folder / f"mask{i}.jpg").read_bytes() for i in range(1, 6)}
    assert len(contents) == 5


def test_progress_counts_images_up_to_the_total(dataset):
    calls = json.loads((dataset / "progress.json").read_text())
    total = 7 * (PEOPLE + EVAL_PEOPLE)
    assert calls[0] == [0, total] and calls[-1] == [total, total]
    done = [d for d, t in calls]
    assert done == sorted(done) and all(t == total for _, t in calls)


def test_marker_is_written_and_marks_completion(dataset, tmp_path):
    marker = json.loads((dataset / ".masklab-demo.json").read_text())
    assert (marker["seed"], marker["people"], marker["eval_people"]) == (0, PEOPLE, EVAL_PEOPLE)
    assert is_complete_demo(dataset)
    assert not is_complete_demo(tmp_path)
    assert not is_complete_demo(tmp_path / "missing")
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "train.csv").write_text("id,gender,race,age,path\n")
    assert not is_complete_demo(tmp_path)  # a dataset, but not a finished demo one


def test_same_seed_gives_identical_bytes_in_parallel_too(dataset, tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "_PARALLEL_MIN_PEOPLE", 1)  # force the process pool on this small set
    again = generate_demo_dataset(tmp_path / "again", people=PEOPLE, eval_people=EVAL_PEOPLE, seed=0, workers=2)
    first = all_files(dataset)
    first.pop("progress.json")
    assert all_files(again) == first


def test_different_seed_gives_different_data(dataset, tmp_path):
    other = generate_demo_dataset(tmp_path / "other", people=2, eval_people=1, seed=1, workers=1)
    first = sorted((dataset / "train" / "images").iterdir())[0]
    second = sorted((other / "train" / "images").iterdir())[0]
    assert (first / "mask1.jpg").read_bytes() != (second / "mask1.jpg").read_bytes()
    assert (first / "normal.jpg").read_bytes() != (second / "normal.jpg").read_bytes()
    eval_names = {row["ImageID"] for row in read_rows(other / "eval" / "info.csv")}
    assert not eval_names & {row["ImageID"] for row in read_rows(dataset / "eval" / "info.csv")}


def test_class_mix_is_close_to_the_competition():
    people = demo_people(200, seed=0)
    ages = np.array([age for _, age in people])
    female = np.mean([gender == "female" for gender, _ in people])
    assert 0.45 <= female <= 0.75
    assert 0.03 <= np.mean(ages >= 60) <= 0.15
    assert 0.40 <= np.mean(ages < 30) <= 0.55
    assert 0.38 <= np.mean((ages >= 30) & (ages < 60)) <= 0.52
    assert ages.min() >= 18 and ages.max() <= 70
    seen = {age for seed in range(5) for _, age in demo_people(200, seed=seed)}
    assert {29, 30, 55, 58, 59, 60} <= seen  # the edges teams move the old-age band to
    assert any(age > 60 for age in seen)
    assert demo_people(200, seed=0) == people and demo_people(200, seed=1) != people
    # Every (gender, age band) cell is populated, so all 18 classes exist in the default set.
    cells = {(g, 0 if a < 30 else (1 if a < 60 else 2)) for g, a in demo_people(150, seed=0)}
    assert len(cells) == 6
    # Small sets keep the mix too (quotas, not coin flips).
    small = demo_people(10, seed=3)
    assert sum(g == "female" for g, _ in small) == 6


def test_existing_dataset_is_refused(dataset):
    before = (dataset / ".masklab-demo.json").read_bytes()
    with pytest.raises(DataError, match="already holds a dataset; choose an empty folder"):
        generate_demo_dataset(dataset, people=1, eval_people=0)
    assert (dataset / ".masklab-demo.json").read_bytes() == before


def test_a_file_as_out_dir_and_bad_counts_are_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="file"):
        generate_demo_dataset(tmp_path / "file", people=1)
    for kwargs in ({"people": 0}, {"eval_people": -1}, {"people": 2.5}, {"seed": -1}):
        with pytest.raises(ConfigError):
            generate_demo_dataset(tmp_path / "bad", **kwargs)


def test_interrupted_run_is_not_taken_for_a_dataset(tmp_path):
    out = tmp_path / "cut"

    def interrupt(done, total):
        if done >= 14:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate_demo_dataset(out, people=4, eval_people=1, workers=1, progress=interrupt)
    assert not is_complete_demo(out)
    assert not (out / "train" / "train.csv").exists() and not (out / ".masklab-demo.json").exists()
    generate_demo_dataset(out, people=4, eval_people=1, workers=1)  # a rerun may finish it
    assert is_complete_demo(out)


def load_small(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        image.draft("RGB", (96, 128))  # fast JPEG decode at reduced size
        small = image.convert("RGB").resize((48, 64), Image.Resampling.BILINEAR)
    return np.asarray(small, dtype=np.float32) / 255


def test_mask_state_is_learnable_on_held_out_people(tmp_path):
    """A tiny CNN trained for a few seconds on train tells wear / incorrect / not wear apart on eval.

    Eval people are new people, scored with the hidden truth file, so this also checks that the
    truth file matches what the eval images show.
    """
    torch = pytest.importorskip("torch")
    out = generate_demo_dataset(tmp_path / "learn", people=36, eval_people=16, seed=8)
    train_x, train_y = [], []
    for folder in sorted((out / "train" / "images").iterdir()):
        for stem in IMAGE_STEMS:
            train_x.append(load_small(folder / f"{stem}.jpg"))
            train_y.append({"incorrect_mask": 1, "normal": 2}.get(stem, 0))
    truth = read_rows(out / ".masklab-demo-eval-truth.csv")
    test_x = [load_small(out / "eval" / "images" / row["ImageID"]) for row in truth]
    test_y = np.array([decode(int(row["ans"]))[0] for row in truth])

    def tensor(images):
        x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)
        return (x - x.mean((1, 2, 3), keepdim=True)) / x.std((1, 2, 3), keepdim=True)

    x, y, x_test = tensor(train_x), torch.tensor(train_y), tensor(test_x)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny batches: threads only add overhead on a shared 2-core machine
    try:
        with torch.random.fork_rng():
            torch.manual_seed(0)
            net = torch.nn.Sequential(
                torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                torch.nn.Conv2d(32, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveMaxPool2d((4, 3)),
                torch.nn.Flatten(), torch.nn.Linear(32 * 12, 3))
            optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
            counts = torch.bincount(y, minlength=3).float()
            loss_fn = torch.nn.CrossEntropyLoss(weight=counts.sum() / (3 * counts))  # 5/1/1 imbalance
            order_rng = np.random.default_rng(0)
            for _ in range(30):
                order = order_rng.permutation(len(y))
                for start in range(0, len(order), 32):
                    batch = order[start:start + 32]
                    flip = torch.from_numpy(order_rng.random(len(batch)) < 0.5)[:, None, None, None]
                    inputs = torch.where(flip, x[batch].flip(3), x[batch])  # the one augmentation: mirror
                    optimizer.zero_grad()
                    loss_fn(net(inputs), y[batch]).backward()
                    optimizer.step()
            with torch.no_grad():
                predicted = net(x_test).argmax(1).numpy()
    finally:
        torch.set_num_threads(threads)
    recalls = [np.mean(predicted[test_y == k] == k) for k in range(3)]
    assert np.mean(recalls) > 0.6, f"balanced accuracy {np.mean(recalls):.2f} (recalls {recalls}); chance 0.33"
