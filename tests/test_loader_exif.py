"""EXIF orientation is applied once, in read_image, so every path sees a phone photo upright and the same:
the train reader (full and draft decode, the memmap cache), the augmentation preview and the eval reader."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from core.augment.preview import load_images
from core.data import create_dataset, read_image
from core.data.layout import read_eval, scan_train
from core.loader import DraftReader, FullReader, LoaderConfig, reader_for
from core.loader.cache import open_or_build_cache

# Upright: 384 wide x 512 high, four flat quadrants (JPEG keeps flat colours within a few levels).
COLOURS = {"top_left": (220, 30, 30), "top_right": (30, 200, 40), "bottom_left": (40, 40, 210),
           "bottom_right": (230, 220, 40)}
ORIENTATION = 0x0112


def upright_pattern(width=384, height=512) -> np.ndarray:
    image = np.zeros((height, width, 3), np.uint8)
    h, w = height // 2, width // 2
    image[:h, :w], image[:h, w:] = COLOURS["top_left"], COLOURS["top_right"]
    image[h:, :w], image[h:, w:] = COLOURS["bottom_left"], COLOURS["bottom_right"]
    return image


def save_turned_with_orientation_6(path, upright: np.ndarray) -> None:
    """Store the photo as a phone does when held upright: pixels turned, Orientation=6 (rotate 90 CW to view)."""
    stored = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)  # 90 degrees counter-clockwise
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    stored.save(path, quality=95, exif=exif.tobytes())


def quadrant_colours(image: np.ndarray) -> dict:
    height, width = image.shape[:2]
    centres = {"top_left": (height // 4, width // 4), "top_right": (height // 4, 3 * width // 4),
               "bottom_left": (3 * height // 4, width // 4), "bottom_right": (3 * height // 4, 3 * width // 4)}
    return {name: image[y, x].astype(int) for name, (y, x) in centres.items()}


def assert_upright(image: np.ndarray, height: int, width: int) -> None:
    assert image.shape == (height, width, 3)
    for name, colour in quadrant_colours(image).items():
        assert np.abs(colour - np.array(COLOURS[name])).max() <= 12, name


@pytest.fixture(scope="module")
def rotated_data(demo_data_dir, tmp_path_factory):
    """The demo data with one train image and one eval image replaced by an Orientation=6 phone photo."""
    data_dir = shutil.copytree(demo_data_dir, tmp_path_factory.mktemp("exif") / "data")
    train_rel = scan_train(data_dir).images["path"].iloc[0]
    eval_rel = read_eval(data_dir)["path"].iloc[0]
    for rel in (train_rel, eval_rel):
        save_turned_with_orientation_6(data_dir / rel, upright_pattern())
    return data_dir, train_rel, eval_rel


def test_the_test_photo_is_stored_sideways_with_the_tag(rotated_data):
    data_dir, train_rel, _ = rotated_data
    with Image.open(data_dir / train_rel) as image:
        assert image.size == (512, 384) and image.getexif()[ORIENTATION] == 6  # stored 512 wide: sideways


def test_every_full_decode_path_gives_the_same_upright_array(rotated_data):
    data_dir, train_rel, eval_rel = rotated_data
    direct = read_image(data_dir / train_rel)
    assert_upright(direct, 512, 384)
    train_reader = reader_for(LoaderConfig(decode="full"), data_dir, (128, 96))
    train_set = create_dataset(data_dir, "all", reader=train_reader)
    row = train_set.images["path"].tolist().index(train_rel)
    assert np.array_equal(train_set[row]["image"], direct)
    assert np.array_equal(load_images(data_dir, [train_rel])[0], direct)  # the augmentation preview
    eval_set = create_dataset(data_dir, "eval", reader=reader_for(LoaderConfig(decode="full"), data_dir, None))
    assert np.array_equal(eval_set[0]["image"], read_image(data_dir / eval_rel))
    assert np.array_equal(eval_set[0]["image"], direct)  # the same photo, the same array


def test_draft_decode_and_the_cache_are_upright_and_never_below_the_target(rotated_data):
    data_dir, train_rel, eval_rel = rotated_data
    # 128x96 upright: the stored 512x384 (sideways) may shrink to 1/4, i.e. 128 high x 96 wide once turned.
    draft = DraftReader((128, 96))(data_dir / train_rel)
    assert_upright(draft, 128, 96)
    assert np.array_equal(reader_for(LoaderConfig(decode="draft"), data_dir, (128, 96))(data_dir / eval_rel), draft)
    # Not 1/4 of the stored width: 200 high needs 1/2 (256 x 192), whichever way the file is stored.
    assert_upright(DraftReader((200, 150))(data_dir / train_rel), 256, 192)
    cached = open_or_build_cache([data_dir / train_rel, data_dir / eval_rel], (64, 48))
    assert_upright(cached(data_dir / train_rel), 64, 48)
    assert np.array_equal(cached(data_dir / train_rel), cached(data_dir / eval_rel))


@pytest.mark.parametrize("decoder", ["cv2", "pil"])
def test_each_decoder_gives_pillows_pixels_full_and_draft(rotated_data, decoder):
    """OpenCV and Pillow ask libjpeg for the same scale: the same upright array, so either may be chosen."""
    data_dir, train_rel, _ = rotated_data
    paths = [data_dir / train_rel] + [data_dir / rel for rel in scan_train(data_dir).images["path"][1:4]]
    for path in paths:
        reference = read_image(path)
        assert np.array_equal(FullReader(decoder)(path), reference)
        for size in ((256, 192), (128, 96), (64, 48), (300, 200)):
            expected = read_image(path, draft_size=(size[1], size[0]))
            got = DraftReader(size, decoder=decoder)(path)
            assert got.shape == expected.shape and got.shape[0] >= size[0] and got.shape[1] >= size[1]
            assert np.abs(got.astype(int) - expected.astype(int)).mean() <= 0.5, (path, size)
    assert_upright(DraftReader((128, 96), decoder=decoder)(data_dir / train_rel), 128, 96)
