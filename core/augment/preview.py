"""What the Augmentation page shows: which images, their augmented draws, and what the model receives.

Draws are reproducible: image i of a preview is augmented by the pipeline reseeded with (seed, i),
so the same seed shows the same grid, and adding an image does not change the others' draws.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.augment.pipeline import (OneOf, Pipeline, Step, always_applied, build_pipeline, make_transform, reseed,
                                   step_where)
from core.augment.applied import describe_applied
from core.data.images import read_image
from core.errors import ConfigError
from core.i18n import t

PICK_MODES = ("random", "class", "person")


def pick_images(images: pd.DataFrame, mode: str = "random", value=None, count: int = 4,
                seed: int = 0) -> pd.DataFrame:
    """Rows of a scan's image table: `count` random ones, or of one class (label) or one person (folder)."""
    if mode == "class":
        chosen = images[images["label"] == int(value)]
    elif mode == "person":
        chosen = images[images["person"] == value].sort_values("path")
        return chosen.head(count)
    elif mode == "random":
        chosen = images
    else:
        raise ConfigError.of("errors_augment.pick", mode=mode, modes=", ".join(PICK_MODES))
    if chosen.empty:
        return chosen
    return chosen.sample(n=min(count, len(chosen)), random_state=seed).sort_values("path")


def load_images(data_dir, rel_paths) -> list[np.ndarray]:
    """Decode images (HxWx3 uint8 RGB); the page caches this, so reruns only augment."""
    return [read_image(Path(data_dir) / rel) for rel in rel_paths]


MAX_UPLOADS = 8  # as many as the preview shows images


def decode_uploads(files) -> list[np.ndarray]:
    """Decode uploaded photos [(name, bytes)] in memory with the project's one decoder (EXIF upright);
    DataError naming the file that is not an image. Nothing is written to disk."""
    import io

    from core.errors import DataError

    if len(files) > MAX_UPLOADS:
        raise DataError.of("errors_augment.too_many_uploads", count=len(files), max=MAX_UPLOADS)
    images = []
    for name, data in files:
        try:
            images.append(read_image(io.BytesIO(data)))
        except DataError as error:  # its text names the buffer, not the file the user chose
            if error.key:  # the same words (errors_data.image_*) naming the user's file
                raise DataError.of(error.key, **{**error.values, "path": name}) from None
            reason = str(error).split(": ", 1)[-1]
            raise DataError.of("errors_augment.upload_unreadable", path=name, reason=reason) from None
    return images


def augment_grid(pipeline: Pipeline, images: list[np.ndarray], draws: int, face_boxes=None) -> list[list]:
    """`draws` augmented versions of each image, the same for the same seed.

    `face_boxes` (one per image, as core.faces.boxes.face_boxes_for gives them) feed a FaceCrop step.
    """
    return [[image for image, _ in row] for row in augment_draws(pipeline, images, draws, face_boxes)]


def augment_draws(pipeline: Pipeline, images: list[np.ndarray], draws: int, face_boxes=None) -> list[list[tuple]]:
    """Like augment_grid, each draw as (image, what it applied in words: "Rotate 12.3°; ColorJitter ...")."""
    compose = build_pipeline(pipeline)
    compose.save_applied_params = True  # records the values each draw used; the draws themselves are unchanged
    rows = []
    for index, image in enumerate(images):
        reseed(compose, pipeline.seed, index)
        data = {"image": image}
        if face_boxes is not None and face_boxes[index] is not None:
            data["face_box"] = face_boxes[index]
        try:
            results = [compose(**data) for _ in range(draws)]
        except Exception as error:  # a step that cannot handle this image (crop larger than it...)
            raise failing_step(pipeline, image, error) from None
        rows.append([(result["image"], describe_applied(result.get("applied_transforms", ()))) for result in results])
    return rows


def failing_step(pipeline: Pipeline, image: np.ndarray, error: Exception) -> ConfigError:
    """The error naming the step that fails on `image`, found by running the steps one by one, each applied (p=1)."""
    for number, step in enumerate(pipeline.steps, start=1):
        if not step.enabled:
            continue
        children = [(index, child) for index, child in enumerate(step.steps, 1) if child.enabled] \
            if isinstance(step, OneOf) else [(None, step)]
        output = image
        for child_index, child in children:
            where = step_where(number, step, child_index)
            try:
                output = make_transform(always_applied(child), where)(image=image)["image"]
            except Exception as child_error:
                return ConfigError.of("errors_augment.step_fails", step=where, size=_size(image), error=child_error)
        image = output
    return ConfigError.of("errors_augment.pipeline_error", error=error)


def _size(image) -> str:
    height, width = (image.shape[-2:] if _is_tensor(image) else image.shape[:2])
    return f"{width}x{height}"


def _is_tensor(image) -> bool:
    return type(image).__module__.startswith("torch")


def normalize_args(pipeline: Pipeline) -> dict | None:
    """The arguments of the last enabled Normalize, if any: how to undo it for display."""
    found = None
    for step in pipeline.enabled_steps():
        for child in (step.steps if isinstance(step, OneOf) else [step]):
            if child.enabled and isinstance(child, Step) and child.name == "Normalize":
                found = child.args
    return found


def to_display(image, normalize: dict | None = None) -> np.ndarray:
    """An HxWx3 uint8 picture of any pipeline output: tensors transposed, Normalize undone.

    'standard' normalisation is inverted exactly (x * std + mean) * max_pixel_value; other
    normalisations (per image) cannot be inverted, so their output is stretched to 0..255.
    """
    array = image.detach().cpu().numpy().transpose(1, 2, 0) if _is_tensor(image) else np.asarray(image)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    if array.dtype == np.uint8:
        return array
    array = array.astype(np.float32)
    if normalize and normalize.get("normalization") == "standard" and normalize.get("mean") is not None:
        maximum = normalize.get("max_pixel_value") or 255.0
        array = (array * np.asarray(normalize["std"], np.float32) + np.asarray(normalize["mean"], np.float32)) * maximum
    else:
        low, high = float(array.min()), float(array.max())
        array = (array - low) / (high - low or 1.0) * 255.0
    return np.clip(array + 0.5, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class ModelInput:
    """What one pipeline output looks like to the model."""

    shape: tuple        # as the model sees it: (C, H, W)
    dtype: str
    minimum: float
    maximum: float
    channel_mean: tuple
    channel_std: tuple
    layout: str         # "HWC array" or "CHW tensor"

    def warnings(self) -> list[str]:
        notes = []
        if self.dtype == "uint8":
            notes.append(t("augmentation.uint8_note"))
        if self.layout == "HWC array":
            notes.append(t("augmentation.hwc_note"))
        return notes


def model_input(output) -> ModelInput:
    if _is_tensor(output):
        array, layout = output.detach().cpu().numpy(), "CHW tensor"
    else:
        array, layout = np.asarray(output), "HWC array"
        array = array[:, :, None] if array.ndim == 2 else array
        array = array.transpose(2, 0, 1)
    values = array.astype(np.float64).reshape(array.shape[0], -1)
    return ModelInput(shape=tuple(array.shape), dtype=str(array.dtype), minimum=float(values.min()),
                      maximum=float(values.max()), channel_mean=tuple(round(float(v), 3) for v in values.mean(axis=1)),
                      channel_std=tuple(round(float(v), 3) for v in values.std(axis=1)), layout=layout)


def received_by_model(outputs: list) -> tuple[ModelInput, list[str]]:
    """What the model receives over every draw shown: ranges over all of them, and the notes of any.

    A draw unlike the first (another size, another dtype) is exactly what one draw would hide: a batch
    cannot stack it.
    """
    inputs = [model_input(output) for output in outputs]
    first = inputs[0]
    values = np.concatenate([np.asarray(m.channel_mean)[None] for m in inputs])
    combined = ModelInput(shape=first.shape, dtype=first.dtype, minimum=min(m.minimum for m in inputs),
                          maximum=max(m.maximum for m in inputs),
                          channel_mean=tuple(round(float(v), 3) for v in values.mean(axis=0)),
                          channel_std=tuple(round(float(v), 3) for v in
                                            np.mean([m.channel_std for m in inputs], axis=0)), layout=first.layout)
    notes = list(dict.fromkeys(note for m in inputs for note in m.warnings()))
    shapes = sorted({m.shape for m in inputs})
    if len(shapes) > 1:
        notes.append(t("augmentation.shapes_differ", shapes=", ".join(map(str, shapes))))
    dtypes = sorted({m.dtype for m in inputs})
    if len(dtypes) > 1:
        notes.append(t("augmentation.dtypes_differ", dtypes=", ".join(dtypes)))
    return combined, notes


def sample_images(data_dir, count: int, seed: int = 0, progress=None) -> tuple[list[np.ndarray], list[str]]:
    """`count` random readable train images of a data directory (decoded) and their relative paths.

    Unreadable files are passed over (the Data page reports them), so one bad JPEG does not stop a benchmark.
    """
    from core.data.layout import scan_train
    from core.errors import DataError

    scan = scan_train(data_dir, check=False)
    rows = pick_images(scan.images, "random", count=count, seed=seed)
    images, paths = [], []
    for done, rel in enumerate(rows["path"], start=1):
        try:
            images.append(read_image(Path(data_dir) / rel))
            paths.append(rel)
        except DataError:
            pass
        if progress is not None:
            progress(done, len(rows))
    if not images:
        raise DataError.of("errors_augment.no_images", data_dir=data_dir)
    return images, paths


def torchvision_draws(pipeline: Pipeline, image: np.ndarray, draws: int) -> tuple[list, list[str]]:
    """`draws` outputs of the torchvision v2 equivalent on one image (seeded), and the steps it lacks."""
    import torch

    from core.augment.pipeline import build_torchvision

    compose, skipped = build_torchvision(pipeline)
    tensor = torch.from_numpy(np.array(image)).permute(2, 0, 1)  # a copy: cached previews are read-only
    with torch.random.fork_rng():  # seed torchvision's draws without disturbing anyone else's
        torch.manual_seed(pipeline.seed)
        try:
            outputs = [compose(tensor) for _ in range(draws)]
        except Exception as error:  # e.g. v2.JPEG after Normalize: torchvision wants uint8 there
            raise ConfigError.of("errors_augment.torchvision_side", error=str(error).splitlines()[0]) from None
    return outputs, skipped
