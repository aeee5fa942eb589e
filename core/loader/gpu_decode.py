"""decode=gpu: workers only read the files; the GPU decodes each batch (nvJPEG through
torchvision.io.decode_jpeg), resizes it, flips it and normalises it.

Where the pipeline allows: a Resize first, then at most a HorizontalFlip, then at most a Normalize — the
steps that have a batch form on the device. Anything else (other steps, mixing collates, no CUDA) falls
back to the CPU path (decode=draft) with one line saying why (`gpu_plan`). The CPU's JPEG draft decode
shrinks while decoding; here the full image is decoded and resized with antialiasing, so the two paths
agree to within a few levels, not bit for bit. EXIF orientation is read from the header on the host (the
CUDA decoder ignores it) and applied on the device.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import albumentations as A
import numpy as np
import torch

from core.i18n import DEFAULT_LANGUAGE, text
from core.loader.fast_pipeline import IMAGENET_NORMALIZE, BatchNormalize, resize_target, split_normalize


@dataclass(frozen=True)
class GpuPlan:
    """What the device does to a batch of encoded JPEGs: resize to `size` (height, width), flip each with
    probability `flip_p`, normalise."""

    size: tuple[int, int]
    flip_p: float
    normalize: BatchNormalize


def gpu_plan(pipeline, config, cuda: bool | None = None, train: bool = True) -> tuple[GpuPlan | None, str | None]:
    """(the plan, None) when decode=gpu can run `pipeline` under LoaderConfig `config` on this machine, else
    (None, the line saying why). Validation and inference loaders never mix, so only `train` checks collate."""
    if cuda is None:
        cuda = torch.cuda.is_available()
    if not cuda:
        return None, text(DEFAULT_LANGUAGE, "errors_loader.gpu_no_cuda")
    if config.cache == "memmap":
        return None, text(DEFAULT_LANGUAGE, "errors_loader.gpu_cache")
    if train and config.collate != "default":
        return None, text(DEFAULT_LANGUAGE, "errors_loader.gpu_mixing", collate=config.collate)
    return plan_for(pipeline)


def plan_for(pipeline) -> tuple[GpuPlan | None, str | None]:
    """The device plan of a pipeline, whatever the machine (tests run it on the CPU)."""
    size = resize_target(pipeline)
    per_image, normalize = split_normalize(pipeline)
    steps = list(getattr(per_image, "transforms", []) or [])
    if size is None or not steps:
        first = type(steps[0]).__name__ if steps else "(no Resize)"
        return None, text(DEFAULT_LANGUAGE, "errors_loader.gpu_pipeline", step=first)
    flip_p = 0.0
    for step in steps[1:]:
        if isinstance(step, A.HorizontalFlip) and flip_p == 0.0:
            flip_p = float(step.p)
        else:
            return None, text(DEFAULT_LANGUAGE, "errors_loader.gpu_pipeline", step=type(step).__name__)
    if normalize is None and any(isinstance(s, A.Normalize) for s in steps):
        return None, text(DEFAULT_LANGUAGE, "errors_loader.gpu_pipeline", step="Normalize")
    return GpuPlan(size, flip_p, normalize or IMAGENET_NORMALIZE), None


class EncodedReader:
    """A file's bytes as a 1-D uint8 array: what a worker hands over under decode=gpu."""

    def __call__(self, path) -> np.ndarray:
        return np.fromfile(path, dtype=np.uint8)

    def __repr__(self) -> str:
        return "EncodedReader()"


def orientation_of(data: torch.Tensor) -> int:
    """The EXIF orientation of an encoded JPEG (1 when it has none); DataError when it is not a JPEG."""
    from PIL import ExifTags, Image

    from core.errors import DataError

    try:
        with Image.open(io.BytesIO(data.numpy().tobytes())) as header:
            if header.format != "JPEG":
                raise DataError.of("errors_loader.gpu_not_jpeg", format=header.format)
            return int(header.getexif().get(ExifTags.Base.Orientation, 1))
    except (OSError, SyntaxError, ValueError) as error:
        raise DataError.of("errors_loader.jpeg_header", error=str(error)) from None


def upright(image: torch.Tensor, orientation: int) -> torch.Tensor:
    """A CxHxW image as EXIF `orientation` says it is meant to be seen (PIL's exif_transpose)."""
    if orientation in (2, 4, 5, 7):
        image = image.flip(-1)  # mirrored ones: undo the mirror on the stored pixels first
        orientation = {2: 1, 4: 3, 5: 6, 7: 8}[orientation]
    turns = {3: 2, 6: -1, 8: 1}.get(orientation, 0)  # rot90 counter-clockwise turns
    return torch.rot90(image, turns, dims=(-2, -1)) if turns else image


class GpuDecoder:
    """Encoded JPEG batch (a list of 1-D uint8 tensors) -> NxCxHxW float32, normalised, on `device`."""

    def __init__(self, plan: GpuPlan):
        self.plan = plan

    def __call__(self, encoded: list, device, channels_last: bool = False) -> torch.Tensor:
        import torch.nn.functional as F
        from torchvision.io import ImageReadMode, decode_jpeg

        device = torch.device(device)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torchvision's notice about its image decoders' future
            images = decode_jpeg(list(encoded), mode=ImageReadMode.RGB, device=device)
        height, width = self.plan.size
        out = torch.empty((len(images), 3, height, width), dtype=torch.float32, device=device)
        for index, (data, image) in enumerate(zip(encoded, images)):
            image = upright(image, orientation_of(data))
            out[index] = F.interpolate(image[None].float(), size=(height, width), mode="bilinear",
                                       align_corners=False, antialias=True)[0]
        out.round_().clamp_(0, 255)  # the CPU path's uint8 values
        if self.plan.flip_p > 0:
            flips = torch.rand(len(out)) < self.plan.flip_p  # the trainer's checkpointed torch stream
            if flips.any():
                chosen = flips.nonzero().flatten().to(device)
                out[chosen] = out[chosen].flip(-1)
        return self.plan.normalize(out, channels_last=channels_last)

    def __repr__(self) -> str:
        return f"GpuDecoder({self.plan})"
