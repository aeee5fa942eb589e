"""What the Loader page shows: one batch as pictures, and the classes the sampler draws."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import ConfigError
from core.labels import NUM_CLASSES, class_name
from core.loader.config import LoaderConfig
from core.loader.factory import create_loader
from core.loader.fast_pipeline import split_normalize
from core.loader.samplers import build_sampler, wrap_in_batches
from core.loader.validate import validate_loader_config


def preview_batch(dataset, config: LoaderConfig, seed: int = 0,
                  limit: int = 16) -> tuple[list[np.ndarray], list[str], int]:
    """The first batch the config yields (in this process, mixing included) as display images + captions
    (its first `limit` images), and how many images the batch holds."""
    quick = replace(config, num_workers=0, persistent_workers=False, prefetch_factor=None, timeout=0.0,
                    pin_memory=False)
    batch = next(iter(create_loader(dataset, quick, seed=seed, **preview_ranks(config))))
    images = [to_display(image) for image in batch["image"][:limit]]
    captions = []
    for row in range(len(images)):
        caption = f"{int(batch['label'][row])} {class_name(int(batch['label'][row]))}"
        if "mix_index" in batch:
            partner = int(batch["mix_index"][row])
            caption += f" + {float(1 - batch['mix_lambda']):.2f} x {int(batch['label'][partner])}"
        captions.append(caption)
    return images, captions, len(batch["label"])


def preview_ranks(config: LoaderConfig) -> dict:
    """create_loader's distributed arguments for a preview: rank 0 of 2 processes for sampler=distributed.

    DistributedSampler only exists inside a torchrun run; one process here shows the share that the
    first of two processes would draw (the other process gets the rest, no image twice).
    """
    if config.sampler == "distributed":
        return {"distributed": True, "rank": 0, "world_size": 2}
    return {"distributed": False, "rank": 0, "world_size": 1}


def to_display(image) -> np.ndarray:
    """CxHxW uint8 or float (0..255, or normalised) -> HxWx3 uint8 for st.image."""
    array = image.detach().cpu().numpy() if hasattr(image, "detach") else np.asarray(image)
    array = array.transpose(1, 2, 0) if array.ndim == 3 and array.shape[0] in (1, 3) else array
    if array.dtype != np.uint8:
        low, high = float(array.min()), float(array.max())
        array = (array - low) / (high - low or 1.0) * 255.0 if (low < 0 or high <= 1.0) else array
        array = np.clip(array, 0, 255).astype(np.uint8)
    return array


def display_pipeline(pipeline):
    """The pipeline without its final Normalize, so previews show real colours."""
    return split_normalize(pipeline)[0]


def sampled_class_counts(labels, config: LoaderConfig, batches: int = 10, seed: int = 0) -> pd.DataFrame:
    """Class counts in the first `batches` batches the sampler draws, beside the dataset's own shares.

    Only indices are drawn (no image is decoded), so this is instant even for large samples. For
    sampler=distributed the counts are rank 0's share of a 2-process run (see preview_ranks).
    Columns: class, name, source ('sampled' / 'dataset'), count, share.
    """
    labels = np.asarray(labels, dtype=np.int64)
    ranks = preview_ranks(config)
    validate_loader_config(config, len(labels), distributed=ranks["distributed"])
    sampler = build_sampler(config.sampler, len(labels), shuffle=config.shuffle, num_samples=config.num_samples,
                            labels=labels, seed=seed, **ranks)
    batch_sampler = wrap_in_batches(sampler, len(labels), config.batch_size, config.drop_last)
    drawn = []
    for number, indices in enumerate(batch_sampler):
        if number >= batches:
            break
        drawn.extend(indices)
    rows = []
    for source, values in (("sampled", labels[drawn]), ("dataset", labels)):
        counts = np.bincount(values, minlength=NUM_CLASSES)
        total = max(int(counts.sum()), 1)
        rows += [{"class": c, "name": class_name(c), "source": source, "count": int(counts[c]),
                  "share": counts[c] / total} for c in range(NUM_CLASSES)]
    return pd.DataFrame(rows)


BENCHMARK_PIPELINE = "benchmark (Resize 256x192 + flip + Normalize)"
TYPED_PIPELINE = "another file (type its path)"
PIPELINE_SUFFIXES = (".yaml", ".yml", ".json")


def pipeline_choice_namer():
    """How the page names a pipeline choice: the two fixed entries in the session's language, files and presets
    as they are (the values stay English, so a choice survives a change of language). The words are looked up
    now, in the page's run: Streamlit may name the options again outside it."""
    from core.i18n import t

    names = {BENCHMARK_PIPELINE: t("loader.pipeline_benchmark"), TYPED_PIPELINE: t("loader.pipeline_typed")}
    return lambda choice: names.get(choice, choice)


def exported_pipeline_files() -> list[Path]:
    """The pipeline files in the folder the Augmentation page saves to, newest first."""
    from core.augment.serialize import export_dir

    folder = export_dir()
    if not folder.is_dir():
        return []
    files = [path for path in folder.iterdir() if path.is_file() and path.suffix.lower() in PIPELINE_SUFFIXES]
    return sorted(files, key=lambda path: path.stat().st_mtime, reverse=True)


def pipeline_choices() -> list[str]:
    """Benchmark pipeline, the Augmentation page's saved files (as paths), the presets, then 'type a path'.

    Every choice but the first and the last is a value `augment.train` accepts as it is.
    """
    try:
        from core.augment import preset_names
    except ImportError:
        return [BENCHMARK_PIPELINE, TYPED_PIPELINE]
    return [BENCHMARK_PIPELINE, *map(str, exported_pipeline_files()), *preset_names(), TYPED_PIPELINE]


def pipeline_source(choice: str, typed_path: str = "") -> str | None:
    """What `augment.train` should say for a page choice: a preset name, a file path, or None (benchmark)."""
    if choice == BENCHMARK_PIPELINE:
        return None
    if choice == TYPED_PIPELINE:
        if not typed_path.strip():
            raise ConfigError.of("errors_loader.pipeline_no_path")
        return str(Path(typed_path.strip()).expanduser().resolve())
    return choice


def load_pipeline_source(source: str | None):
    """The A.Compose for a `pipeline_source` value; ConfigError naming the file when it cannot be loaded."""
    if source is None:
        from core.loader.bench import default_pipeline

        return default_pipeline()
    from core.augment import load_pipeline, resolve_pipeline

    try:
        return load_pipeline(resolve_pipeline(source))
    except ConfigError as error:
        if str(error).startswith(source):  # the error already names the file
            raise ConfigError.of("errors_loader.pipeline_unloadable_named", error=error) from None
        raise ConfigError.of("errors_loader.pipeline_unloadable", source=source, error=error) from None


def preview_dataset(data_dir, pipeline, config: LoaderConfig, scan=None, progress=None):
    """The train split as the trainer would read it (reader of the config), shown without Normalize."""
    from core.data import create_dataset
    from core.loader.fast_pipeline import resize_target
    from core.loader.readers import reader_for

    paths = None
    if scan is not None and config.cache == "memmap":
        paths = [str(scan.data_dir / path) for path in scan.images["path"]]
    reader = reader_for(config, data_dir, resize_target(pipeline), paths=paths, progress=progress)
    return create_dataset(data_dir, "train", transform=display_pipeline(pipeline), reader=reader, scan=scan)
