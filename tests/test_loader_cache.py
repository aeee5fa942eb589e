"""Fast readers on real JPEGs: draft decoding, the memmap cache (built once, never stale), and datasets."""
from __future__ import annotations

import os
import time

import numpy as np
import torch

from core.data import create_dataset, read_image
from core.loader import DraftReader, FullReader, LoaderConfig, create_loader, reader_for
from core.loader.cache import CachedReader, cache_dir_for, open_or_build_cache
from core.loader.readers import train_image_paths
from core.machine import available_cores

SIZE = (64, 48)


def test_draft_reader_decodes_small_but_never_below_the_target(demo_data_dir):
    path = train_image_paths(demo_data_dir)[0]
    full = read_image(path)
    draft = DraftReader((256, 192))(path)
    assert full.shape == (512, 384, 3) and draft.shape == (256, 192, 3)
    assert DraftReader((300, 200))(path).shape == (512, 384, 3)  # 1/2 would be too small
    exact = DraftReader((60, 40), exact=True)(path)
    assert exact.shape == (60, 40, 3) and exact.dtype == np.uint8


def test_reader_for_picks_the_reader_of_the_config(demo_data_dir):
    full = reader_for(LoaderConfig(decode="full", decoder="pil"), demo_data_dir, SIZE)
    assert isinstance(full, FullReader) and full.decoder == "pil"
    draft = reader_for(LoaderConfig(decode="draft"), demo_data_dir, SIZE)
    assert isinstance(draft, DraftReader) and draft.decoder == "cv2"
    assert isinstance(reader_for(LoaderConfig(decode="draft"), demo_data_dir, None), FullReader)  # no Resize first
    cached = reader_for(LoaderConfig(cache="memmap"), demo_data_dir, SIZE)
    assert isinstance(cached, CachedReader) and len(cached) == 84


def test_cache_is_built_once_with_progress_and_matches_the_images(demo_data_dir):
    paths = train_image_paths(demo_data_dir)[:10]
    calls = []
    reader = open_or_build_cache(paths, SIZE, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (10, 10)
    folder = cache_dir_for(paths, SIZE)
    assert folder.is_dir() and not str(folder).startswith(str(demo_data_dir))  # never inside the data
    stamp = os.stat(folder / "images.u8").st_mtime_ns
    again = open_or_build_cache(paths, SIZE)
    assert os.stat(folder / "images.u8").st_mtime_ns == stamp  # reused, not rebuilt
    expected = DraftReader(SIZE, exact=True)(paths[3])
    assert np.array_equal(again(paths[3]), expected) and np.array_equal(reader(paths[3]), expected)
    image = again(paths[3])
    image[:] = 0  # a private copy: the cache itself is untouched
    assert np.array_equal(again(paths[3]), expected)


def test_cache_invalidates_on_size_or_file_change(demo_copy):
    paths = train_image_paths(demo_copy)[:6]
    small = open_or_build_cache(paths, SIZE)
    bigger = open_or_build_cache(paths, (80, 60))
    assert small.folder != bigger.folder and bigger(paths[0]).shape == (80, 60, 3)
    time.sleep(0.01)
    replacement = read_image(paths[1])[::-1].copy()  # the same file name, new pixels
    from PIL import Image
    Image.fromarray(replacement).save(paths[0], format="JPEG", quality=95)
    rebuilt = open_or_build_cache(paths, SIZE)
    assert rebuilt.folder != small.folder
    assert np.array_equal(rebuilt(paths[0]), DraftReader(SIZE, exact=True)(paths[0]))


def test_paths_outside_the_cache_fall_back_to_decoding(demo_data_dir):
    paths = train_image_paths(demo_data_dir)
    reader = open_or_build_cache(paths[:3], SIZE)
    assert reader(paths[5]).shape == (64, 48, 3)


def test_cached_dataset_feeds_workers_from_one_memmap(demo_data_dir):
    import albumentations as A

    config = LoaderConfig(batch_size=8, shuffle=False, cache="memmap", num_workers=min(2, available_cores()),
                          pin_memory=False)
    reader = reader_for(config, demo_data_dir, SIZE)
    dataset = create_dataset(demo_data_dir, "all", transform=A.Compose([A.Resize(*SIZE)]), reader=reader)
    batches = list(create_loader(dataset, config))
    images = torch.cat([b["image"] for b in batches])
    assert images.shape == (84, 3, 64, 48) and images.dtype == torch.uint8
    direct = torch.from_numpy(np.array(DraftReader(SIZE, exact=True)(dataset._paths[10]))).permute(2, 0, 1)
    assert torch.equal(images[10], direct)
    assert torch.equal(torch.cat([b["label"] for b in batches]), torch.as_tensor(dataset.labels))


def test_weighted_sampler_on_a_real_dataset_balances_classes(demo_data_dir):
    import albumentations as A

    dataset = create_dataset(demo_data_dir, "all", transform=A.Compose([A.Resize(*SIZE)]),
                             reader=DraftReader(SIZE))
    config = LoaderConfig(batch_size=84, shuffle=False, sampler="weighted_random", num_samples=840, num_workers=0,
                          pin_memory=False)
    labels = torch.cat([b["label"] for b in create_loader(dataset, config)]).numpy()
    present = np.unique(dataset.labels)
    counts = np.bincount(labels, minlength=18)[present]
    assert counts.min() > 0.4 * counts.mean()  # rare classes drawn about as often as common ones
    natural = np.bincount(dataset.labels, minlength=18)[present]
    assert natural.max() / natural.min() > counts.max() / counts.min()
