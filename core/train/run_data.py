"""The data side of a run, built one way for everyone who needs it: the trainer, prediction, the Runs
page's validation predictions and the experiments engine (K-fold runs, out-of-fold predictions).

    data_dir = resolve_data_dir(config)
    data = create_run_data(config, data_dir)              # scan, split, pipelines, readers, datasets
    loader = create_loader_for(data.val_set, config, train=False)

The validation images always carry the competition's labels (age bands 30/60): a run that trains with
moved `data.age_edges` changes its training labels only, so its validation score stays comparable with
every other run's and with the leaderboard.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from core.config import DataConfig, ExperimentConfig
from core.data import ensure_demo_data
from core.data.datasets import MaskEvalDataset, MaskTrainDataset
from core.data.layout import label_images, read_eval, scan_train
from core.data.folds import train_val_split
from core.errors import DataError
from core.labels import DEFAULT_AGE_EDGES
from core.train.distributed import DistInfo
from core.train.inputs import create_input_reader, device_inputs, mix_seed

DEMO_DATA_DIR = next(f.default for f in dataclasses.fields(DataConfig) if f.name == "dir")


def resolve_data_dir(config: ExperimentConfig) -> Path:
    """data.dir; the default demo folder is generated on first use so a fresh machine can train."""
    data_dir = Path(config.data.dir).expanduser()
    if data_dir.exists():
        return data_dir
    if config.data.dir == DEMO_DATA_DIR:
        return ensure_demo_data()
    raise DataError.of("errors_train.no_data_dir", data_dir=data_dir)


@dataclass
class RunData:
    """The split and the datasets of a run (datasets are unseeded: the trainer wraps them per epoch)."""

    data_dir: Path
    train_images: pd.DataFrame
    val_images: pd.DataFrame   # labels under the competition's age bands, whatever data.age_edges says
    train_set: MaskTrainDataset
    val_set: MaskTrainDataset
    train_normalize: object = None  # the BatchNormalize each set's uint8 batches get on the device
    val_normalize: object = None


def split_run_images(config: ExperimentConfig, scan) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train images, validation images) of a scan under the run's split settings; with train.final_fit
    every image trains and the validation set is empty."""
    final = config.train.final_fit
    train_images, val_images = train_val_split(scan.images, config.data, final=final)
    if len(train_images) == 0 or (len(val_images) == 0 and not final):
        raise DataError.of("errors_train.split_too_small", data_dir=scan.data_dir, train=len(train_images),
                           val=len(val_images))
    val_images = label_images(val_images.reset_index(drop=True), DEFAULT_AGE_EDGES)
    return train_images.reset_index(drop=True), val_images


def scan_run_images(config: ExperimentConfig, data_dir):
    """The scan of data_dir under the run's age edges (cached by core.data)."""
    return scan_train(data_dir, age_edges=tuple(config.data.age_edges))


def create_run_data(config: ExperimentConfig, data_dir, *, scan=None, cache_progress=None) -> RunData:
    """Scan, split, pipelines and readers of a run (one memmap cache serves both splits and later runs)."""
    scan = scan or scan_run_images(config, data_dir)
    train_images, val_images = split_run_images(config, scan)
    (train_transform, train_normalize), (val_transform, val_normalize) = device_inputs(config)
    paths = [str(scan.data_dir / path) for path in scan.images["path"]]
    train_reader = create_input_reader(config, train_transform, train_normalize, paths=paths, data_dir=scan.data_dir,
                                       progress=cache_progress)
    val_reader = create_input_reader(config, val_transform, val_normalize, paths=paths, data_dir=scan.data_dir)
    return RunData(scan.data_dir, train_images, val_images,
                   MaskTrainDataset(scan.data_dir, train_images, transform=train_transform, reader=train_reader),
                   MaskTrainDataset(scan.data_dir, val_images, transform=val_transform, reader=val_reader),
                   train_normalize, val_normalize)


def create_val_dataset(config: ExperimentConfig, data_dir=None) -> MaskTrainDataset:
    """The run's validation set alone (same split, pipeline and labels as training validated on); its images
    leave the workers as device_inputs' val pipeline makes them (finish with val_normalize(config))."""
    scan = scan_run_images(config, data_dir or resolve_data_dir(config))
    _, val_images = split_run_images(config, scan)
    val_transform, finish = device_inputs(config)[1]
    return MaskTrainDataset(scan.data_dir, val_images, transform=val_transform,
                            reader=create_input_reader(config, val_transform, finish, data_dir=scan.data_dir))


def create_eval_dataset(config: ExperimentConfig, data_dir) -> MaskEvalDataset:
    """The eval set (info.csv order) through the run's validation pipeline (finish with val_normalize(config))."""
    data_dir = Path(data_dir).expanduser()
    val_transform, finish = device_inputs(config)[1]
    eval_images = read_eval(data_dir)
    # With loader.cache=memmap the eval images get a cache of their own.
    reader = create_input_reader(config, val_transform, finish,
                                 paths=[str(data_dir / path) for path in eval_images["path"]], data_dir=data_dir)
    return MaskEvalDataset(data_dir, eval_images, transform=val_transform, reader=reader)


def val_normalize(config: ExperimentConfig):
    """The BatchNormalize the device applies to validation and eval batches (create_val/eval_dataset's)."""
    return device_inputs(config)[1][1]


def create_loader_for(dataset, config: ExperimentConfig, *, train: bool, dist_info: DistInfo | None = None,
                      batch_size: int | None = None):
    """The training loader (sampler, mixing, sharding under torchrun) or a plain in-order one for
    validation and inference (every image once, no sampler, no mixing)."""
    from core.loader.factory import create_loader

    dist_info = dist_info or DistInfo(0, 1, 0, None)
    settings = config.loader if batch_size is None else replace(config.loader, batch_size=batch_size)
    if train:
        loader = create_loader(dataset, settings, seed=config.train.seed, distributed=dist_info.enabled,
                               rank=dist_info.rank, world_size=dist_info.world_size)
        # The generator seeds the workers; the sampler keeps the shared seed (ranks must agree on the order).
        loader.generator.manual_seed(mix_seed(config.train.seed, dist_info.rank))
        return loader
    plain = replace(settings, shuffle=False, sampler="none", num_samples=None, batch_sampler=False,
                    collate="default", drop_last=False)
    return create_loader(dataset, plain, seed=config.train.seed)
