"""DataLoader factory, samplers, collate functions, fast readers and the throughput benchmark.

What the trainer and pages call:
    LoaderConfig                                # the `loader` section: every DataLoader parameter
    validate_loader_config(config, dataset_len) # ConfigError in words for invalid combinations
    create_loader(dataset, config, labels=None, indices=None, seed=0, distributed=False, rank=0, world_size=1)
    set_epoch(loader, epoch)                    # at each epoch start (resume, distributed)
    fast_pipeline(pipeline) -> (per_image_pipeline, BatchNormalize, image_size (h, w) | None)
    reader_for(config, data_dir, image_size, paths=None, progress=None) -> reader for create_dataset
    finish_images(images, device, normalize, channels_last)  # uint8 batch -> device -> float, normalised there
    prepare_batch(batch, device, normalize)     # a whole batch to the device, its images finished as above
    compute_threads(num_workers, world_size)    # torch threads beside the workers on a CPU machine
    loader_config_from_session(st.session_state) -> LoaderConfig | None   # the Loader page's settings
    IMAGENET_MEAN, IMAGENET_STD                 # the Normalize constants, declared once (fast_pipeline.py)

The fast path, top to bottom (the trainer, prediction and the benchmark all run it):
    per_image, normalize, size = fast_pipeline(pipeline)      # uint8 from decode to the device
    dataset = create_dataset(data_dir, "train", transform=per_image, reader=reader_for(config, data_dir, size))
    loader = create_loader(dataset, config, seed=seed)
    for batch in loader: images = finish_images(batch["image"], device, normalize)
"""
from core.loader.collate import MixCollate, collate_batch, collate_for
from core.loader.config import LoaderConfig
from core.loader.draft import DraftReader
from core.loader.factory import create_loader, resolve_pin_memory
from core.loader.fast_pipeline import (IMAGENET_MEAN, IMAGENET_STD, BatchNormalize, finish_images, prepare_batch,
                                       resize_target, split_for_device, split_normalize)
from core.loader.readers import FullReader, reader_for
from core.loader.samplers import build_sampler, class_balanced_weights, set_epoch
from core.loader.settings import LOADER_CONFIG_KEY, loader_config_from_session
from core.loader.validate import validate_loader_config
from core.loader.workers import compute_threads, seed_worker
from core.machine import available_cores  # re-exported: the Loader page reads it from here


def fast_pipeline(pipeline):
    """(per-image pipeline, the device's batch normaliser, input size (h, w) or None) for the fast path."""
    per_image, normalize = split_for_device(pipeline)
    return per_image, normalize, resize_target(pipeline)


__all__ = ["LoaderConfig", "validate_loader_config", "create_loader", "set_epoch", "fast_pipeline",
           "reader_for", "prepare_batch", "finish_images", "BatchNormalize", "split_normalize", "split_for_device",
           "resize_target", "DraftReader", "FullReader", "compute_threads",
           "MixCollate", "collate_batch", "collate_for", "build_sampler", "class_balanced_weights",
           "resolve_pin_memory", "available_cores", "IMAGENET_MEAN", "IMAGENET_STD", "seed_worker", "LOADER_CONFIG_KEY",
           "loader_config_from_session"]
