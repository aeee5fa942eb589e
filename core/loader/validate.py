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
        key, name, values = problems[0]
        raise ConfigError.of(f"errors_loader.{name}", setting=f"{prefix}{key}", **values)
    return config


def _problems(c: LoaderConfig, n: int | None, distributed: bool) -> list[tuple[str, str, dict]]:
    """(setting, catalogue name in errors_loader, its values) of each problem, the first one raised."""
    out = []
    if c.shuffle and c.sampler != "none":
        out.append(("shuffle", "shuffle_and_sampler", {"sampler": c.sampler}))
    if c.batch_sampler and c.shuffle:
        out.append(("batch_sampler", "batch_sampler_shuffle", {}))
    if c.num_samples is not None and c.sampler not in SAMPLERS_WITH_NUM_SAMPLES:
        out.append(("num_samples", "num_samples_sampler",
                    {"samplers": ", ".join(SAMPLERS_WITH_NUM_SAMPLES), "sampler": c.sampler}))
    if c.num_workers == 0:
        if c.prefetch_factor is not None:
            out.append(("prefetch_factor", "prefetch_no_workers", {}))
        if c.persistent_workers:
            out.append(("persistent_workers", "persistent_no_workers", {}))
        if c.timeout > 0:
            out.append(("timeout", "timeout_no_workers", {}))
    cores = available_cores()
    if c.num_workers > cores:
        out.append(("num_workers", "too_many_workers", {"workers": c.num_workers, "cores": cores}))
    if c.sampler == "distributed" and not distributed:
        out.append(("sampler", "distributed_sampler_alone", {}))
    if distributed and c.sampler in ("random_replacement", "subset_random"):
        out.append(("sampler", "sampler_not_distributed", {"sampler": c.sampler}))
    if n is not None:
        if n == 0:
            out.append(("batch_size", "empty_dataset", {}))
        elif c.sampler == "subset_random" and c.num_samples is not None and c.num_samples > n:
            out.append(("num_samples", "subset_too_big", {"num_samples": c.num_samples, "images": n}))
        elif c.drop_last and c.batch_size > _epoch_length(c, n):
            out.append(("drop_last", "drop_last_empty", {"batch_size": c.batch_size, "epoch": _epoch_length(c, n)}))
    return out


def _epoch_length(c: LoaderConfig, n: int) -> int:
    if c.sampler in SAMPLERS_WITH_NUM_SAMPLES and c.num_samples is not None:
        return c.num_samples
    return n
