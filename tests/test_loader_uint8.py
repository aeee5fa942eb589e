"""uint8 from decode to the device: the batches the model gets are the float path's, whatever the batch size,
the decoder, the layout or the worker count; large batch buffers are reused without page faults; the
decoders agree; the photo-like demo set is what the benchmarks need."""
from __future__ import annotations

import resource
import sys

import albumentations as A
import numpy as np
import pytest
import torch

from core.data import create_dataset
from core.loader import DraftReader, LoaderConfig, create_loader, fast_pipeline, finish_images
from core.loader.readers import train_image_paths

NORMALIZE = dict(mean=(0.3, 0.5, 0.4), std=(0.2, 0.25, 0.3), max_pixel_value=255.0)


def _batches(data_dir, pipeline, reader, batch_size, workers=0):
    dataset = create_dataset(data_dir, "train", transform=pipeline, reader=reader)
    config = LoaderConfig(batch_size=batch_size, shuffle=False, num_workers=workers, pin_memory=False)
    return list(create_loader(dataset, config))


@pytest.mark.parametrize("decoder", ["cv2", "pil"])
def test_uint8_batches_finished_on_the_device_equal_the_float_pipeline(demo_data_dir, decoder):
    full = A.Compose([A.Resize(40, 30), A.Normalize(**NORMALIZE)])
    per_image, normalize, size = fast_pipeline(full)
    reader = DraftReader(size, decoder=decoder)
    for batch_size in (1, 5, 16):
        floats = _batches(demo_data_dir, full, reader, batch_size)[:2]
        uint8s = _batches(demo_data_dir, per_image, reader, batch_size)[:2]
        for reference, fast in zip(floats, uint8s):
            assert reference["image"].dtype == torch.float32 and fast["image"].dtype == torch.uint8
            for channels_last in (False, True):
                got = finish_images(fast["image"], "cpu", normalize, channels_last=channels_last)
                assert got.dtype == torch.float32 and got.shape == reference["image"].shape
                assert got.is_contiguous(memory_format=torch.channels_last if channels_last
                                         else torch.contiguous_format)
                assert torch.allclose(got, reference["image"], atol=1e-5)
            assert fast["image"].dtype == torch.uint8  # the caller's batch is left as it was
            assert torch.equal(fast["label"], reference["label"])


def test_batches_from_a_worker_arrive_in_shared_memory_and_equal_the_main_process_ones(demo_data_dir):
    per_image, normalize, size = fast_pipeline(A.Compose([A.Resize(40, 30), A.Normalize(**NORMALIZE)]))
    reader = DraftReader(size)
    main = _batches(demo_data_dir, per_image, reader, 8)[:3]
    worker = _batches(demo_data_dir, per_image, reader, 8, workers=1)[:3]
    for a, b in zip(main, worker):
        assert b["image"].is_shared() and torch.equal(a["image"], b["image"])
        assert torch.equal(finish_images(a["image"], "cpu", normalize), finish_images(b["image"], "cpu", normalize))


def test_a_float_batch_is_only_moved_and_laid_out():
    images = torch.randn(2, 3, 5, 4)
    out = finish_images(images, "cpu", channels_last=True)
    assert torch.equal(out, images) and out.is_contiguous(memory_format=torch.channels_last)


def test_the_run_data_feeds_uint8_and_finishes_with_the_pipelines_own_normalize(demo_data_dir, tmp_path):
    from core.config import load_config
    from core.train.inputs import images_to_device
    from core.train.run_data import create_loader_for, create_run_data, val_normalize

    pipeline = tmp_path / "p.json"
    full = A.Compose([A.Resize(48, 36), A.Normalize(**NORMALIZE)])
    A.save(full, str(pipeline), data_format="json")
    config = load_config(overrides=[f"data.dir={demo_data_dir}", "augment.train=", f"augment.val={pipeline}",
                                    "loader.num_workers=0", "loader.batch_size=4", "data.image_size=[48, 36]"])
    data = create_run_data(config, demo_data_dir)
    assert data.val_normalize.mean == NORMALIZE["mean"] and data.val_normalize == val_normalize(config)
    assert data.train_normalize.mean == (0.485, 0.456, 0.406)  # the built-in pipeline's ImageNet Normalize
    batch = next(iter(create_loader_for(data.val_set, config, train=False)))
    assert batch["image"].dtype == torch.uint8  # what crosses from the workers
    got = images_to_device(batch["image"], torch.device("cpu"), False, data.val_normalize)
    path = data.val_set._paths[0]
    expected = full(image=data.val_set.reader(path))["image"]
    assert torch.allclose(got[0], torch.from_numpy(expected).permute(2, 0, 1), atol=1e-5)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator (Linux)")
def test_large_batches_reuse_their_memory_without_page_faults():
    from core.loader import BatchNormalize
    from core.loader.memory import keep_batch_memory

    normalize = BatchNormalize((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    images = torch.zeros(64, 3, 256, 192, dtype=torch.uint8)  # 37.7 MB as float: above glibc's mmap threshold
    for _ in range(5):  # glibc settles where it keeps the freed batch within a few batches
        normalize(images)
    assert keep_batch_memory()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(3):
        out = normalize(images)
        del out
    pages = images.numel() * 4 // resource.getpagesize()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert faults < 0.1 * pages, f"{faults} page faults for 3 batches of {pages} pages"


def test_the_decoder_sweep_times_all_four_and_finds_the_libraries_agree(demo_data_dir):
    from core.loader.bench import measure_decoders

    result = measure_decoders(train_image_paths(demo_data_dir)[:4], (64, 48), images=4)
    assert {(r["decoder"], r["mode"]) for r in result["rows"]} == {(d, m) for d in ("cv2", "pil")
                                                                    for m in ("full", "draft")}
    assert result["agree"] and all(r["max_mean_abs_diff"] <= 0.5 for r in result["rows"])
    fastest = max((r for r in result["rows"] if r["mode"] == "draft"), key=lambda r: r["images_per_s"])
    assert result["chosen"] == fastest["decoder"] and result["mode"] == "draft"
    assert {r["mode"] for r in measure_decoders(train_image_paths(demo_data_dir)[:2], None, images=2)["rows"]} == {"full"}


def test_photo_like_demo_images_are_full_size_q95_photos_with_grain(tmp_path):
    from PIL import Image

    from core.data.demo import generate_demo_dataset

    plain = generate_demo_dataset(tmp_path / "plain", people=1, eval_people=0, workers=1)
    photo = generate_demo_dataset(tmp_path / "photo", people=1, eval_people=0, workers=1, photo_like=True)
    plain_files = sorted((plain / "train" / "images").rglob("*.jpg"))
    photo_files = sorted((photo / "train" / "images").rglob("*.jpg"))
    assert [p.relative_to(plain) for p in plain_files] == [p.relative_to(photo) for p in photo_files]
    for a, b in zip(plain_files, photo_files):
        assert b.stat().st_size > 1.5 * a.stat().st_size  # the grain costs bytes, as a photo's detail does
        with Image.open(b) as image:
            assert image.size == (384, 512) and image.format == "JPEG"
        drawn, grainy = (np.asarray(Image.open(p), dtype=np.float32) for p in (a, b))
        assert 2.0 < np.abs(drawn - grainy).mean() < 12.0  # the same face under grain, not another image


def test_an_unknown_decoder_is_named_in_one_line(demo_data_dir):
    from core.errors import ConfigError
    from core.loader.draft import decode_file

    with pytest.raises(ConfigError, match=r"loader.decoder: 'turbo' is not one of cv2, pil"):
        decode_file(train_image_paths(demo_data_dir)[0], None, "turbo")


class _OpenCVThreads(torch.utils.data.Dataset):
    """Each item: the OpenCV thread count of the process that made it, after a resize that uses OpenCV's pool."""

    def __len__(self):
        return 4

    def __getitem__(self, index):
        import cv2

        image = cv2.resize(np.zeros((1200, 1600, 3), np.uint8), (4, 3))
        return {"image": image, "label": cv2.getNumThreads()}


def test_workers_start_with_one_opencv_thread_after_the_parent_ran_opencvs_pool():
    """A worker that set its own thread count after the parent had used OpenCV's thread pool hung forever
    (the pool's threads are not copied by fork); the count is now set around the fork, in the parent."""
    import cv2

    before = cv2.getNumThreads()
    cv2.setNumThreads(2)  # a pool of two, as on a 2-core machine, whatever machine runs the test
    try:
        cv2.GaussianBlur(np.zeros((1500, 1500, 3), np.uint8), (31, 31), 5)  # the parent's pool runs
        config = LoaderConfig(batch_size=2, shuffle=False, num_workers=2, pin_memory=False, timeout=60)
        counts = torch.cat([batch["label"] for batch in create_loader(_OpenCVThreads(), config)]).tolist()
        assert counts == [1, 1, 1, 1]
        assert cv2.getNumThreads() == 2  # the parent keeps its own
    finally:
        cv2.setNumThreads(before)
