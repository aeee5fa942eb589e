"""The embedded demo dataset: synthetic faces written in exactly the real competition layout.

    <out>/train/train.csv                       id,gender,race,age,path
    <out>/train/images/<id>_<gender>_<race>_<age>/mask1.jpg..mask5.jpg, incorrect_mask.jpg, normal.jpg
    <out>/eval/info.csv                         ImageID,ans (ans = 0, a placeholder)
    <out>/eval/images/<40 hex chars>.jpg
    <out>/.masklab-demo-eval-truth.csv          ImageID,ans: the eval answers (hidden: not part of the layout)
    <out>/.masklab-demo-faceboxes-truth.csv     the true face box of every image, in faceboxes.csv's format
    <out>/.masklab-demo.json                    written last: marks the dataset as complete

Every image is a drawn face (core/data/demo_faces.py) whose labels are visible cues, so a model can learn them:
- mask state: a mask over nose and mouth (wear), a mask below the nose or on the chin only
  (incorrect), no mask and a visible mouth (not wear);
- gender: long hair or a bob and a narrower, rounder face (female); short hair, visible ears, a
  wider, squarer jaw and thicker brows (male);
- age band: dark hair and smooth skin (under 30); some greying and a few faint lines (30-59);
  grey or white hair, receding hairlines and many darker wrinkles (60+).
Pose, size, colours, background, lighting and noise are jittered so that the cues are not at fixed
pixels and augmentation matters. The class mix follows the real set (5/1/1 mask images per person,
about 60% female, few people 60+).

Randomness: every person and every image has its own numpy Generator seeded from (seed, split,
person, image), so the output is byte-identical for a seed whatever the number of worker
processes or the order in which they finish. Nothing here touches global random state.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import JpegImagePlugin  # noqa: F401  (imported up front so forked workers never import it)

from core.data.demo_faces import HEIGHT, WIDTH, draw_look, render_face
from core.errors import ConfigError, DataError
from core.faces.boxes import FaceBox, write_boxes
from core.labels import DEFAULT_AGE_EDGES, IMAGE_STEMS, MASK_BY_STEM, age_band, encode, gender_label
from core.machine import available_cores

JPEG_QUALITY = 90
# photo_like=True: sensor grain and q95, so a file is ~95 KiB like the real set's (~83 KiB without grain)
# and decoding costs what it costs on real photos; the drawn faces alone compress to flat, cheap JPEGs.
PHOTO_QUALITY = 95
PHOTO_GRAIN = 6.0  # standard deviation in 0..255 levels: luminance grain, plus half as much per channel
MARKER_NAME = ".masklab-demo.json"
EVAL_TRUTH_NAME = ".masklab-demo-eval-truth.csv"
FACEBOX_TRUTH_NAME = ".masklab-demo-faceboxes-truth.csv"
TRUTH_SOURCE = "truth"
GENERATOR_VERSION = 1

# Class mix of the real competition set.
FEMALE_SHARE = 0.6
AGE_BAND_SHARES = (0.47, 0.45, 0.08)  # under 30, 30-59, 60+
RACE = "Asian"  # the real set is all one race; skin tone still varies per person

# Stream ids mixed into the seeds, so train people, eval people and the plans never share draws.
_TRAIN, _EVAL, _PLAN, _SHUFFLE = 1, 2, 3, 4

# Below this many people the process pool costs more to start than it saves.
_PARALLEL_MIN_PEOPLE = 16


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------

def generate_demo_dataset(out_dir, people: int = 150, eval_people: int = 30, seed: int = 0,
                          progress=None, *, workers: int | None = None, photo_like: bool = False) -> Path:
    """Write the demo dataset into out_dir (created if needed) and return its path.

    `progress(done, total)` is called with counts of images as people finish. `workers` is the
    number of processes (default: the usable CPU cores; 1 draws in this process). `photo_like` adds
    sensor grain and saves at quality 95 (~95 KiB per image, like the real photos) so that decoding
    costs what it does on real data (the loader benchmarks use it). Raises DataError when out_dir
    already holds a dataset (train/train.csv exists).
    """
    people = _check_count("people", people, minimum=1)
    eval_people = _check_count("eval_people", eval_people, minimum=0)
    seed = _check_count("seed", seed, minimum=0)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError.of("errors_data.demo_is_file", path=out_dir)
    if (out_dir / "train" / "train.csv").exists():
        raise DataError.of("errors_data.demo_not_empty", path=out_dir)

    train_plan = demo_people(people, seed, "train")
    eval_plan = demo_people(eval_people, seed, "eval")

    train_jobs = []
    for index, (gender, age) in enumerate(train_plan):
        person_id = f"{index + 1:06d}"
        folder = f"{person_id}_{gender}_{RACE}_{age}"
        files = [f"train/images/{folder}/{stem}.jpg" for stem in IMAGE_STEMS]
        train_jobs.append(_PersonJob(seed, _TRAIN, index, gender, age, tuple(files), bool(photo_like)))
    eval_jobs = []
    for index, (gender, age) in enumerate(eval_plan):
        files = [f"eval/images/{_eval_image_id(seed, index, stem)}" for stem in IMAGE_STEMS]
        eval_jobs.append(_PersonJob(seed, _EVAL, index, gender, age, tuple(files), bool(photo_like)))

    (out_dir / "train" / "images").mkdir(parents=True, exist_ok=True)
    (out_dir / "eval" / "images").mkdir(parents=True, exist_ok=True)
    (out_dir / MARKER_NAME).unlink(missing_ok=True)  # a stale marker must not vouch for this run
    truth = _render_all(out_dir, train_jobs + eval_jobs, progress, workers)

    # The tables are written only once every image exists, and the marker after the tables, so an
    # interrupted run never looks like a complete dataset.
    _write_csv(out_dir / "train" / "train.csv", ("id", "gender", "race", "age", "path"),
               [(f"{job.index + 1:06d}", job.gender, RACE, job.age, job.files[0].split("/")[2])
                for job in train_jobs])
    eval_rows = [(job.files[i].split("/")[-1], encode(MASK_BY_STEM[stem], gender_label(job.gender),
                                                      age_band(job.age, DEFAULT_AGE_EDGES)))
                 for job in eval_jobs for i, stem in enumerate(IMAGE_STEMS)]
    order = np.random.default_rng([seed, _SHUFFLE]).permutation(len(eval_rows))
    eval_rows = [eval_rows[i] for i in order]  # shuffled, so neighbours are not one person
    _write_csv(out_dir / EVAL_TRUTH_NAME, ("ImageID", "ans"), eval_rows)
    _write_csv(out_dir / "eval" / "info.csv", ("ImageID", "ans"), [(image_id, 0) for image_id, _ in eval_rows])
    write_boxes(out_dir / FACEBOX_TRUTH_NAME, sorted(truth, key=lambda box: box.path))
    marker = {"generator": "masklab-demo", "version": GENERATOR_VERSION, "seed": seed,
              "people": people, "eval_people": eval_people,
              "train_images": 7 * people, "eval_images": 7 * eval_people, "photo_like": bool(photo_like)}
    _write_atomic(out_dir / MARKER_NAME, json.dumps(marker, indent=2) + "\n")
    return out_dir


def is_complete_demo(out_dir) -> bool:
    """True when out_dir holds a demo dataset whose generation finished (its marker was written)."""
    out_dir = Path(out_dir)
    try:
        marker = json.loads((out_dir / MARKER_NAME).read_text())
    except (OSError, ValueError):
        return False
    return (isinstance(marker, dict) and marker.get("generator") == "masklab-demo"
            and (out_dir / "train" / "train.csv").is_file() and (out_dir / "eval" / "info.csv").is_file())


# --------------------------------------------------------------------------------------------
# Planning: who is in the dataset
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _PersonJob:
    """Everything a worker needs to draw one person's 7 images (small, so cheap to send)."""

    seed: int
    split: int
    index: int
    gender: str
    age: int
    files: tuple[str, ...]  # relative to out_dir, in IMAGE_STEMS order
    photo_like: bool = False


def _check_count(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError.of("errors_data.demo_count", name=name, minimum=minimum, value=value)
    return int(value)


def _quota(n: int, shares) -> list[int]:
    """Split n into counts proportional to shares (largest remainder), so small sets keep the mix."""
    exact = [n * s / sum(shares) for s in shares]
    counts = [int(math.floor(x)) for x in exact]
    by_remainder = sorted(range(len(shares)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in by_remainder[: n - sum(counts)]:
        counts[i] += 1
    return counts


def _draw_age(band: int, rng: np.random.Generator) -> int:
    # Uniform within a band, so edge ages (29, 30, 58, 59, 60) all occur: teams move the old-age
    # edge to 58 or 55 and need people there. 60+ is mostly exactly 60, as in the real set.
    if band == 0:
        return int(rng.integers(18, 30))
    if band == 1:
        return int(rng.integers(30, 60))
    return 60 if rng.random() < 0.45 else int(rng.integers(61, 71))


def _plan_people(n: int, rng: np.random.Generator) -> list[tuple[str, int]]:
    """(gender, age) per person, from exact quotas per (gender, age band) cell, in shuffled order.

    Joint quotas keep every one of the 18 classes populated (e.g. a few men 60+ even in a small
    set), which independent coin flips would not.
    """
    cells = [(gender, band) for gender in ("male", "female") for band in range(3)]
    shares = [(FEMALE_SHARE if gender == "female" else 1 - FEMALE_SHARE) * AGE_BAND_SHARES[band]
              for gender, band in cells]
    people = [cell for cell, count in zip(cells, _quota(n, shares)) for _ in range(count)]
    order = rng.permutation(n)
    return [(people[i][0], _draw_age(people[i][1], rng)) for i in order]


def demo_people(people: int, seed: int = 0, split: str = "train") -> list[tuple[str, int]]:
    """The (gender, age) of each person generate_demo_dataset draws for a split ("train" or "eval")."""
    stream = {"train": _TRAIN, "eval": _EVAL}[split]
    return _plan_people(people, np.random.default_rng([seed, _PLAN, stream]))


def _eval_image_id(seed: int, index: int, stem: str) -> str:
    """A 40-hex-char file name like the real eval set's: it reveals neither person nor label."""
    digest = hashlib.sha1(f"masklab-demo:{seed}:{index}:{stem}".encode()).hexdigest()
    return f"{digest}.jpg"


# --------------------------------------------------------------------------------------------
# Running: serial for a few people, a process pool for many
# --------------------------------------------------------------------------------------------

def _render_all(out_dir: Path, jobs: list[_PersonJob], progress, workers: int | None) -> list[FaceBox]:
    """Draw every job's images; returns the true face box of each image."""
    total = 7 * len(jobs)
    boxes: list[FaceBox] = []
    if progress is not None:
        progress(0, total)
    workers = available_cores() if workers is None else max(1, int(workers))
    workers = min(workers, 8, max(1, len(jobs)))
    if workers == 1 or len(jobs) < _PARALLEL_MIN_PEOPLE:
        for job in jobs:
            boxes += _render_people(str(out_dir), [job])
            if progress is not None:
                progress(len(boxes), total)
        return boxes
    # A few people per task: little pickling overhead, yet progress still moves often.
    size = max(1, min(8, len(jobs) // (workers * 6)))
    chunks = [jobs[i:i + size] for i in range(0, len(jobs), size)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_render_people, str(out_dir), chunk) for chunk in chunks]
        try:
            for future in as_completed(futures):
                boxes += future.result()
                if progress is not None:
                    progress(len(boxes), total)
        except BaseException:
            # A failed worker, a failing progress callback or Ctrl-C: stop now rather than
            # drawing the remaining people first.
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return boxes


def _render_people(out_dir: str, jobs: list[_PersonJob]) -> list[FaceBox]:
    """Draw and save the 7 images of each person; returns the true face box of each image written."""
    written = []
    for job in jobs:
        look = draw_look(job.gender, job.age, np.random.default_rng([job.seed, job.split, job.index, 0]))
        for number, (stem, rel) in enumerate(zip(IMAGE_STEMS, job.files), start=1):
            rng = np.random.default_rng([job.seed, job.split, job.index, number])
            image, box = render_face(look, MASK_BY_STEM[stem], rng)
            path = Path(out_dir) / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if job.photo_like:
                image = _with_grain(image, rng)
            image.save(path, format="JPEG", quality=PHOTO_QUALITY if job.photo_like else JPEG_QUALITY)
            written.append(FaceBox(rel, box, 1.0, TRUTH_SOURCE, (WIDTH, HEIGHT)))
    return written


def _with_grain(image, rng: np.random.Generator):
    """Sensor grain over a drawn image: fine detail a JPEG must spend bytes (and its decoder time) on."""
    from PIL import Image

    pixels = np.asarray(image, dtype=np.float32)
    grain = rng.normal(0.0, PHOTO_GRAIN, pixels.shape[:2] + (1,)).astype(np.float32)
    grain = grain + rng.normal(0.0, PHOTO_GRAIN / 2, pixels.shape).astype(np.float32)
    return Image.fromarray(np.clip(pixels + grain, 0, 255).astype(np.uint8))


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _write_csv(path: Path, header, rows) -> None:
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    _write_atomic(path, "\n".join(lines) + "\n")

