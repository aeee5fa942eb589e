"""What the trainer feeds the model: the loader's reader for each pipeline (draft decode and the memmap cache
only behind a leading Resize), and augmentations seeded by (seed, epoch, rank, worker) so that a resumed run,
persistent workers and DDP ranks all draw what they should."""
from __future__ import annotations

from dataclasses import replace

import albumentations as A
import numpy as np
import pytest

from core.config import load_config
from core.data.layout import scan_train
from core.loader.cache import CachedReader, cache_dir_for
from core.loader.factory import create_loader
from core.loader.readers import DraftReader, FullReader
from core.train import runs
from core.train.inputs import EpochSeededDataset, create_reader
from core.train.trainer import Trainer

TINY = ["model.name=small_cnn", "model.width=8", "data.image_size=[48, 36]", "loader.batch_size=16",
        "loader.num_workers=0", "data.val_ratio=0.25", "train.epochs=1"]


def _pipeline_file(path, *steps):
    A.save(A.Compose([*steps, A.Normalize()]), str(path), data_format="json")
    return str(path)


def test_reader_shortcuts_only_behind_a_leading_resize(demo_data_dir, tmp_path):
    config = load_config(overrides=[f"data.dir={demo_data_dir}", "loader.decode=draft"])
    resize_first = A.Compose([A.Resize(48, 36), A.HorizontalFlip()])
    crop_first = A.Compose([A.Crop(32, 64, 352, 448), A.Resize(48, 36)])
    assert isinstance(create_reader(config, resize_first), DraftReader)
    assert isinstance(create_reader(config, crop_first), FullReader)  # the crop needs the original 384x512 pixels
    full = replace(config, loader=replace(config.loader, decode="full"))
    assert isinstance(create_reader(full, resize_first), FullReader)


def test_a_crop_first_pipeline_trains(demo_data_dir, tmp_path):
    crop = _pipeline_file(tmp_path / "crop.json", A.Crop(32, 64, 352, 448), A.Resize(48, 36))
    config = load_config(overrides=[*TINY, f"data.dir={demo_data_dir}", f"run.root={tmp_path / 'runs'}",
                                    f"augment.train={crop}", f"augment.val={crop}", "loader.decode=draft"])
    run_dir = Trainer(config, log=lambda text: None).run()
    assert runs.read_status(run_dir)["state"] == "finished", runs.read_status(run_dir).get("error")
    assert len(runs.read_metrics(run_dir, "epoch")) == 1


def test_cache_memmap_is_built_and_read_by_the_trainer(demo_data_dir, tmp_path):
    config = load_config(overrides=[*TINY, f"data.dir={demo_data_dir}", f"run.root={tmp_path / 'runs'}",
                                    "loader.cache=memmap", "data.image_size=[64, 48]"])
    paths = [str(scan_train(demo_data_dir).data_dir / p) for p in scan_train(demo_data_dir).images["path"]]
    trainer = Trainer(config, log=lambda text: None)
    run_dir = trainer.run()
    assert runs.read_status(run_dir)["state"] == "finished"
    reader = trainer.train_set.reader
    assert isinstance(reader, CachedReader) and reader is not None and len(reader) == len(paths)
    assert (cache_dir_for(paths, (64, 48)) / "index.json").exists()
    # What the training set reads is the cache's row, not a fresh decode.
    first = trainer.train_set._paths[0]
    cached = np.asarray(reader._open()[reader.rows[first]])
    assert np.array_equal(reader(first), cached) and cached.shape == (64, 48, 3)


def _flips(dataset, loader, epoch) -> list[bool]:
    dataset.set_epoch(epoch)
    return [bool(flag) for batch in loader for flag in batch["flipped"]]


class FlipProbe:
    """An item per index: whether the pipeline flipped a left-marked image (what the augmentation drew)."""

    def __init__(self, transform, size=64):
        self.transform, self.size = transform, size
        self.labels = np.zeros(size, dtype=np.int64)

    def __len__(self):
        return self.size

    def __getitem__(self, index):
        image = np.zeros((4, 4, 3), np.uint8)
        image[:, 0] = 255
        out = self.transform(image=image)["image"]
        return {"image": out, "flipped": bool(out[0, -1, 0] == 255), "index": index}


@pytest.mark.parametrize("workers,persistent", [(0, False), (2, True)])
def test_augmentations_of_an_epoch_do_not_depend_on_earlier_epochs(workers, persistent):
    def make(rank=0):
        dataset = EpochSeededDataset(FlipProbe(A.Compose([A.HorizontalFlip(p=0.5)])), seed=3, rank=rank)
        loader_config = load_config(overrides=[f"loader.num_workers={workers}", "loader.batch_size=8",
                                               f"loader.persistent_workers={persistent}", "loader.shuffle=false"]).loader
        return dataset, create_loader(dataset, loader_config, seed=3)

    dataset, loader = make()
    epochs = [_flips(dataset, loader, epoch) for epoch in range(3)]
    fresh_dataset, fresh_loader = make()  # a resumed run: new workers (or none), straight to epoch 2
    assert _flips(fresh_dataset, fresh_loader, 2) == epochs[2]
    assert epochs[0] != epochs[1] != epochs[2]  # each epoch draws anew
    assert 10 < sum(epochs[2]) < 54
    rank1_dataset, rank1_loader = make(rank=1)
    assert _flips(rank1_dataset, rank1_loader, 2) != epochs[2]  # DDP ranks draw their own augmentations
