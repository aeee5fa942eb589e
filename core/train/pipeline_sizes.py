"""The image size a run's train and val pipelines produce, so a run cannot silently train at one size and
validate (and predict) at another.

A pipeline's output size is measured, not read from its Resize step: a crop, a pad or a OneOf may
change it too, and running the pipeline once on a blank image of the competition's size is exact.
"""
from __future__ import annotations

import albumentations as A
import numpy as np

from core.augment import Pipeline, build_pipeline, load_pipeline, resolve_pipeline
from core.errors import ConfigError
from core.i18n import t

SOURCE_SIZE = (512, 384)  # height, width of a competition image


def output_size(pipeline, image_size, source_size=SOURCE_SIZE) -> tuple[int, int]:
    """(height, width) of what `pipeline` makes of a `source_size` image.

    `pipeline`: empty/None = the built-in Resize to `image_size`; a preset name or file path (an
    augment.* value); a Pipeline (the Augmentation page's); or an A.Compose.
    """
    if not pipeline:
        return int(image_size[0]), int(image_size[1])
    if isinstance(pipeline, Pipeline):
        transform = build_pipeline(pipeline)
    elif isinstance(pipeline, A.BaseCompose):
        transform = pipeline
    else:
        transform = load_pipeline(resolve_pipeline(pipeline))
    blank = np.zeros((*source_size, 3), dtype=np.uint8)
    height, width = transform(image=blank)["image"].shape[:2]
    return int(height), int(width)


def size_mismatch(train, val, image_size) -> str | None:
    """A warning in words when the train and val pipelines produce different sizes; None when they agree."""
    train_size, val_size = output_size(train, image_size), output_size(val, image_size)
    if train_size == val_size:
        return None

    def size(pair) -> str:
        return t("training.sizes.size", height=pair[0], width=pair[1])

    next_step = t("training.sizes.pick_val", size=size(train_size))
    if not val:
        next_step += t("training.sizes.or_image_size", image_size=list(train_size))
    return t("training.sizes.mismatch", train=size(train_size), val=size(val_size), next_step=next_step)


def _size(size) -> str:
    return f"{size[0]} high x {size[1]} wide"


def check_sizes(train, val, image_size) -> None:
    """ConfigError naming augment.train / augment.val when the two pipelines make different sizes.

    A run that trains at one size and validates at another is refused: the adaptive pooling of every
    model hides it, and the score, the checkpoint's use and the time per epoch all go wrong silently.
    """
    train_size, val_size = output_size(train, image_size), output_size(val, image_size)
    if train_size != val_size:
        raise ConfigError.of("errors_train.pipeline_sizes", train=_size(train_size), val=_size(val_size),
                             image_size=list(image_size))
