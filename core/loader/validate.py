"""Invalid loader settings caught before torch sees them, in words a user can act on."""
from __future__ import annotations

from core.errors import ConfigError
from core.loader.config import SAMPLERS_WITH_NUM_SAMPLES, LoaderConfig
from core.machine import available_cores


def validate_loader_config(config: LoaderConfig, dataset_len: int | None = None, prefix: str = "loader.",
                           distributed: bool = False) -> LoaderConfig:
    """Raise ConfigError naming the setting for a combination DataLoader would refuse or silently ignore."""
    problems = _problems(config, dataset_len, distributed)
    if problems:
        key, text = problems[0]
        raise ConfigError(f"{prefix}{key}: {text}")
    return config


def _problems(c: LoaderConfig, n: int | None, distributed: bool) -> list[tuple[str, str]]:
    out = []
    if c.shuffle and c.sampler != "none":
        out.append(("shuffle", f"shuffle and sampler={c.sampler} cannot both be set: the sampler already "
                               "decides the order. Turn shuffle off, or set sampler to none."))
    if c.batch_sampler and c.shuffle:
        out.append(("batch_sampler", "a batch_sampler cannot be combined with shuffle (DataLoader takes "
                                     "either batch_size/shuffle/sampler/drop_last or a batch_sampler). "
                                     "Set shuffle off and sampler=random to shuffle inside the BatchSampler."))
    if c.num_samples is not None and c.sampler not in SAMPLERS_WITH_NUM_SAMPLES:
        out.append(("num_samples", f"num_samples only applies to the samplers "
                                   f"{', '.join(SAMPLERS_WITH_NUM_SAMPLES)}; sampler is {c.sampler}. "
                                   "Unset num_samples or choose one of those samplers."))
    if c.num_workers == 0:
        if c.prefetch_factor is not None:
            out.append(("prefetch_factor", "prefetch_factor needs num_workers > 0 (batches are loaded ahead "
                                           "by worker processes). Unset it or add workers."))
        if c.persistent_workers:
            out.append(("persistent_workers", "persistent_workers needs num_workers > 0 (there are no "
                                              "worker processes to keep alive). Turn it off or add workers."))
        if c.timeout > 0:
            out.append(("timeout", "timeout only limits waiting for worker processes and is ignored with "
                                   "num_workers = 0. Set it to 0 or add workers."))
    cores = available_cores()
    if c.num_workers > cores:
        out.append(("num_workers", f"{c.num_workers} workers is more than the {cores} CPU cores of this "
                                   f"machine; they would only compete for the cores. Use at most {cores}."))
    if c.sampler == "distributed" and not distributed:
        out.append(("sampler", "sampler=distributed needs a distributed run (torchrun with "
                               "DistributedDataParallel). Use random for a single process."))
    if distributed and c.sampler in ("random_replacement", "subset_random"):
        out.append(("sampler", f"sampler={c.sampler} is not available in a distributed run; use none, "
                               "sequential, weighted_random or distributed."))
    if n is not None:
        if n == 0:
            out.append(("batch_size", "the dataset is empty: there is nothing to load."))
        elif c.sampler == "subset_random" and c.num_samples is not None and c.num_samples > n:
            out.append(("num_samples", f"a subset of {c.num_samples} images cannot be drawn from "
                                       f"{n} images without repeats; use at most {n}."))
        elif c.drop_last and c.batch_size > _epoch_length(c, n):
            out.append(("drop_last", f"with drop_last and batch_size {c.batch_size} above the "
                                     f"{_epoch_length(c, n)} samples of an epoch, no batch is left at all. "
                                     "Lower batch_size or turn drop_last off."))
    return out


def _epoch_length(c: LoaderConfig, n: int) -> int:
    if c.sampler in SAMPLERS_WITH_NUM_SAMPLES and c.num_samples is not None:
        return c.num_samples
    return n
