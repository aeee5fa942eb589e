"""Image statistics: exact pooled mean/std on images with known pixels, failures, progress, sampling."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from core.data.layout import scan_train
from core.data.stats import IMAGENET_MEAN, channel_table, image_stats, measure_image, sample_paths


@pytest.fixture
def known_images(tmp_path):
    """A 10x10 pure red PNG, a 20x10 pure blue PNG, a greyscale JPEG-free PNG, and a broken file."""
    Image.new("RGB", (10, 10), (255, 0, 0)).save(tmp_path / "red.png")
    Image.new("RGB", (20, 10), (0, 0, 255)).save(tmp_path / "blue.png")
    half = np.zeros((10, 10), dtype=np.uint8)
    half[:, 5:] = 200
    Image.fromarray(half, mode="L").save(tmp_path / "grey.png")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    return tmp_path


def test_pooled_mean_and_std_weigh_every_pixel(known_images):
    stats = image_stats(known_images, ["red.png", "blue.png"])
    # 100 red pixels + 200 blue pixels: pooled over pixels, not averaged over the two images.
    assert stats.pixels == 300
    assert stats.mean == pytest.approx((1 / 3, 0.0, 2 / 3))
    assert stats.std == pytest.approx((np.sqrt(1 / 3 * 2 / 3), 0.0, np.sqrt(1 / 3 * 2 / 3)))
    assert stats.per_image["width"].tolist() == [10, 20]
    assert stats.per_image["height"].tolist() == [10, 10]


def test_per_image_numbers_brightness_and_contrast(known_images):
    stats = image_stats(known_images, ["red.png", "grey.png"])
    red, grey = stats.per_image.iloc[0], stats.per_image.iloc[1]
    assert (red["mean_r"], red["mean_g"], red["std_r"]) == pytest.approx((1.0, 0.0, 0.0))
    assert red["brightness"] == pytest.approx(0.299 * 255)
    assert red["contrast"] == pytest.approx(0.0, abs=1e-4)
    assert grey["mode"] == "L" and grey["format"] == "PNG"
    assert grey["brightness"] == pytest.approx(100.0, abs=1e-3)  # half 0, half 200
    assert grey["contrast"] == pytest.approx(100.0, abs=1e-2)
    summary = stats.brightness_summary()
    assert summary["darkest"] == "red.png" and summary["brightest"] == "grey.png"  # luma 76.2 < 100


def test_matches_numpy_on_a_real_jpeg(demo_data_dir):
    rel = scan_train(demo_data_dir).images["path"].iloc[0]
    pixels = np.asarray(Image.open(demo_data_dir / rel).convert("RGB")).reshape(-1, 3) / 255.0
    stats = image_stats(demo_data_dir, [rel])
    assert stats.mean == pytest.approx(tuple(pixels.mean(axis=0)), abs=1e-9)
    assert stats.std == pytest.approx(tuple(pixels.std(axis=0)), abs=1e-9)
    assert measure_image(demo_data_dir / rel)["width"] == 384


def test_undecodable_images_are_listed_not_raised(known_images):
    stats = image_stats(known_images, ["red.png", "broken.jpg", "missing.png"])
    assert stats.count == 1
    assert [item["path"] for item in stats.failed] == ["broken.jpg", "missing.png"]
    assert all(item["reason"].startswith("cannot decode") for item in stats.failed)


def test_nothing_decodable_gives_nan_not_an_error(known_images):
    stats = image_stats(known_images, ["broken.jpg"])
    assert stats.count == 0 and stats.pixels == 0 and all(np.isnan(stats.mean))
    assert stats.sizes().empty


def test_progress_reports_every_image_and_ends_at_total(known_images):
    calls = []
    image_stats(known_images, ["red.png", "blue.png", "broken.jpg"], progress=lambda d, t: calls.append((d, t)))
    assert calls[0] == (0, 3) and calls[-1] == (3, 3)
    assert [done for done, _ in calls] == [0, 1, 2, 3]


def test_sizes_formats_and_snippet(known_images):
    stats = image_stats(known_images, ["red.png", "blue.png", "grey.png"])
    sizes = stats.sizes()
    assert sizes.iloc[0].tolist() == [10, 10, 2]  # the most common size first
    formats = stats.formats()
    assert formats.set_index("mode")["images"].to_dict() == {"RGB": 2, "L": 1}
    snippet = stats.normalize_snippet()
    assert snippet.startswith("A.Normalize(mean=(") and f"{stats.mean[0]:.4f}" in snippet
    table = channel_table(stats)
    assert table["ImageNet mean"].tolist() == list(IMAGENET_MEAN)
    assert table["mean"].tolist() == [round(v, 4) for v in stats.mean]


def test_sample_paths_is_reproducible_and_capped():
    images = pd.DataFrame({"path": [f"p{i:02d}.jpg" for i in range(30)]})
    first = sample_paths(images, 10, seed=1)
    assert first == sample_paths(images, 10, seed=1) and first == sorted(first) and len(set(first)) == 10
    assert first != sample_paths(images, 10, seed=2)
    assert sample_paths(images, 100) == sorted(images["path"])
    assert sample_paths(images, 0) == []
