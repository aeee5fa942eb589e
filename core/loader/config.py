"""The loader section of an experiment config: every DataLoader parameter, declared once.

Help texts follow lecture 4's "DataLoader's Parameters" list; widgets (Loader page), `--set loader.x=..`
overrides, YAML and validation all read these declarations. Combinations torch would reject (or
silently ignore) are checked by `validate_loader_config` before a DataLoader is built.
"""
from __future__ import annotations

from dataclasses import dataclass

from core.machine import available_cores
from core.params import setting

SAMPLERS = ("none", "sequential", "random", "random_replacement", "subset_random", "weighted_random",
            "distributed")
COLLATES = ("default", "mixup", "cutmix")
CACHES = ("none", "memmap")
DECODES = ("full", "draft", "gpu")
DECODERS = ("cv2", "pil")
# Samplers whose length can be set with num_samples.
SAMPLERS_WITH_NUM_SAMPLES = ("random", "random_replacement", "subset_random", "weighted_random")


@dataclass
class LoaderConfig:
    """How the Dataset's items are ordered, batched and fed (torch.utils.data.DataLoader's arguments)."""

    batch_size: int = setting(
        64, "How many samples make one batch (mini-batch). With batch_sampler on, this is the size the "
            "BatchSampler groups indices into.", min=1, max=4096)
    shuffle: bool = setting(
        True, "Shuffle the data every epoch (a fresh random order). For reproducible experiments the "
              "order follows the run's seed (like fixing torch.manual_seed). Leave off when a sampler is "
              "chosen: the sampler then decides the order.")
    sampler: str = setting(
        "none", "How the indices of the data are drawn (a sampler controls the index order of a map-style "
                "dataset). none: DataLoader's own choice from shuffle; sequential: always the same order; "
                "random: random order, optionally num_samples of them; random_replacement: random with "
                "replacement (an image can repeat); subset_random: random order over a fixed random subset "
                "of num_samples images; weighted_random: probability by weight — class-balanced weights "
                "(1/count of the class) so rare classes (60+, incorrect mask) are seen as often as common "
                "ones; distributed: each process of DistributedDataParallel gets its own share.",
        choices=SAMPLERS)
    num_samples: int | None = setting(
        None, "How many indices the random / random_replacement / subset_random / weighted_random sampler "
              "draws per epoch (not set = the dataset's length).", min=1, max=10_000_000, optional=True)
    batch_sampler: bool = setting(
        False, "Sample whole batches: wrap the sampler in a BatchSampler and give it to DataLoader as "
               "batch_sampler (almost the same as sampler, but per batch). batch_size and drop_last then "
               "belong to the BatchSampler; DataLoader's own batch_size/shuffle/sampler/drop_last must "
               "stay unset, which this app does for you.")
    num_workers: int = setting(
        2, "How many subprocesses load data (multiprocessing); 0 loads in the main process. More is not "
           "always faster: a lot of traffic between CPU and GPU can itself become the bottleneck, so "
           "tune it (the sweep below measures it).", min=0, max=256,
        slider_max=2 * available_cores())  # a server's config may ask for more; the slider fits this machine
    collate: str = setting(
        "default", "collate_fn: how a list of samples becomes one batch. default: stack images and labels "
                   "(images stay uint8 until the batch is normalised); mixup: blend each image with "
                   "another of the batch and mix their labels; cutmix: paste a patch of another image "
                   "and mix the labels by its area. (collate_fn is also where zero-padding of "
                   "variable-size data would go.)", choices=COLLATES)
    mixup_alpha: float = setting(
        0.4, "Beta(alpha, alpha) distribution of the mixing ratio for mixup/cutmix; small alpha keeps most "
             "pairs close to one of the two images.", min=0.01, max=10.0, step=0.01)
    pin_memory: bool | None = setting(
        None, "If True, the DataLoader puts the batch tensors into CUDA pinned (page-locked) memory, so "
              "copies to the GPU can be asynchronous (non_blocking). Not set = on when a CUDA GPU is "
              "present. Measured, not assumed: it can also be slower.", kind="bool", optional=True)
    drop_last: bool = setting(
        False, "Drop the last, incomplete batch (when the dataset size is not a multiple of batch_size), "
               "e.g. to keep batch statistics (BatchNorm) from a tiny last batch.")
    timeout: float = setting(
        0.0, "If positive, the time limit in seconds for collecting one batch from the workers; a worker "
             "that takes longer raises an error instead of hanging. 0 = wait forever. Needs workers.",
        min=0.0, max=3600.0, step=1.0)
    seed_workers: bool = setting(
        True, "worker_init_fn: a function run in each worker when it starts. On: seed numpy, random and the "
              "augmentation pipeline per worker from the run's seed, so every worker draws different "
              "augmentations and a run can be repeated exactly.")
    persistent_workers: bool = setting(
        False, "Keep the worker processes alive in the background between epochs instead of starting them "
               "again every epoch (saves the start-up time, keeps their memory). Needs workers.")
    prefetch_factor: int | None = setting(
        None, "How many batches each worker loads ahead (not set = torch's default, 2). Needs workers.",
        min=1, max=64, optional=True)
    cache: str = setting(
        "none", "memmap: decode and resize every image once into an on-disk uint8 cache (built with a "
                "progress bar, reused across epochs and workers, rebuilt when the size or the files "
                "change). none: decode the files every time.", choices=CACHES)
    decode: str = setting(
        "draft", "draft: let libjpeg decode straight to 1/2, 1/4 or 1/8 size when the pipeline resizes "
                 "down anyway (much faster, never smaller than the target); full: decode every pixel; gpu: "
                 "workers only read the files and the GPU decodes each batch (nvJPEG), resizes, flips and "
                 "normalises it — for a pipeline of Resize, HorizontalFlip and Normalize on a CUDA machine "
                 "(elsewhere it says so and decodes as draft).",
        choices=DECODES)
    decoder: str = setting(
        "cv2", "The library that decodes JPEGs on the CPU: cv2 (OpenCV) or pil (Pillow). Both ask libjpeg for "
               "the same scale and give the same pixels; the loader sweep measures both on your files.",
        choices=DECODERS)
