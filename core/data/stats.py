"""Image statistics on a sample: sizes, formats, per-channel mean/std (the Normalize constants), brightness.

The mean and std are pooled over every pixel of the sample (not averaged per image), on the 0..1
scale that `A.Normalize(mean=..., std=..., max_pixel_value=255)` and torchvision's `Normalize`
after `ToTensor` expect. Full-size decodes: a reduced JPEG decode would smooth pixels and shrink
the std.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from core.imagenet import IMAGENET_MEAN, IMAGENET_STD  # noqa: F401  (pages read them from here)
from core.progress import report

# ITU-R BT.601 luma weights: the "brightness" a person sees, dominated by green.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])
PER_IMAGE_COLUMNS = ("path", "width", "height", "format", "mode", "mean_r", "mean_g", "mean_b",
                     "std_r", "std_g", "std_b", "brightness", "contrast")


@dataclass
class ImageStats:
    """Statistics of a sample of images; `per_image` has one row per decoded image."""

    per_image: pd.DataFrame
    mean: tuple[float, float, float]   # 0..1, RGB
    std: tuple[float, float, float]    # 0..1, RGB
    pixels: int
    failed: list[dict] = field(default_factory=list)  # {path, reason}

    @property
    def count(self) -> int:
        return len(self.per_image)

    def sizes(self) -> pd.DataFrame:
        """How many sampled images have each (width, height), most common first."""
        return size_table(self.per_image)

    def formats(self) -> pd.DataFrame:
        table = self.per_image.groupby(["format", "mode"]).size().rename("images").reset_index()
        return table.sort_values("images", ascending=False, ignore_index=True)

    def brightness_summary(self) -> dict:
        values = self.per_image["brightness"]
        if values.empty:
            return {"mean": float("nan"), "min": float("nan"), "max": float("nan"), "darkest": None, "brightest": None}
        return {"mean": float(values.mean()), "min": float(values.min()), "max": float(values.max()),
                "darkest": self.per_image.loc[values.idxmin(), "path"],
                "brightest": self.per_image.loc[values.idxmax(), "path"]}

    def normalize_snippet(self) -> str:
        mean = ", ".join(f"{v:.4f}" for v in self.mean)
        std = ", ".join(f"{v:.4f}" for v in self.std)
        return f"A.Normalize(mean=({mean}), std=({std}), max_pixel_value=255.0)"


def size_table(per_image: pd.DataFrame) -> pd.DataFrame:
    table = per_image.groupby(["width", "height"]).size().rename("images").reset_index()
    return table.sort_values("images", ascending=False, ignore_index=True)


def sample_paths(images: pd.DataFrame, size: int, seed: int = 0) -> list[str]:
    """A reproducible random sample of image paths (all of them when `size` covers the set), sorted."""
    if size <= 0 or images.empty:
        return []
    if size >= len(images):
        return sorted(images["path"])
    return sorted(images["path"].sample(n=size, random_state=seed))


def measure_image(path) -> dict:
    """Size, format and pixel statistics of one image (raises OSError/ValueError if it does not decode)."""
    with Image.open(path) as image:
        fmt, mode = image.format or "?", image.mode
        pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
        width, height = image.size
    # 256-bin histograms give exact integer sums and sums of squares, ~5x faster than float math.
    histograms = np.stack([np.bincount(pixels[:, c], minlength=256) for c in range(3)]).astype(np.int64)
    levels = np.arange(256, dtype=np.int64)
    channel_sum = (histograms @ levels).astype(np.float64)
    channel_sq = (histograms @ (levels * levels)).astype(np.float64)
    count = len(pixels)
    mean = channel_sum / count
    std = np.sqrt(np.maximum(channel_sq / count - mean ** 2, 0.0))
    luma = pixels.astype(np.float32) @ LUMA_WEIGHTS.astype(np.float32)
    return {"width": width, "height": height, "format": fmt, "mode": mode,
            "mean": mean, "std": std, "sum": channel_sum, "sq": channel_sq, "count": count,
            "brightness": float(LUMA_WEIGHTS @ mean), "contrast": float(luma.std(dtype=np.float64))}


def image_stats(data_dir, paths, progress=None) -> ImageStats:
    """Decode each image (paths relative to `data_dir`) and pool its pixels; undecodable ones go to `failed`."""
    data_dir = Path(data_dir)
    rows, failed = [], []
    total_sum, total_sq, total_count = np.zeros(3), np.zeros(3), 0
    total = len(paths)
    report(progress, 0, total)
    for done, rel in enumerate(paths, start=1):
        try:
            measured = measure_image(data_dir / rel)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
            failed.append({"path": rel, "reason": f"cannot decode: {error}"})
        else:
            total_sum += measured["sum"]
            total_sq += measured["sq"]
            total_count += measured["count"]
            mean, std = measured["mean"] / 255.0, measured["std"] / 255.0
            rows.append({"path": rel, "width": measured["width"], "height": measured["height"],
                         "format": measured["format"], "mode": measured["mode"],
                         "mean_r": mean[0], "mean_g": mean[1], "mean_b": mean[2],
                         "std_r": std[0], "std_g": std[1], "std_b": std[2],
                         "brightness": measured["brightness"], "contrast": measured["contrast"]})
        report(progress, done, total)
    if total_count:
        mean = total_sum / total_count
        std = np.sqrt(np.maximum(total_sq / total_count - mean ** 2, 0.0))
        mean, std = tuple(float(v) for v in mean / 255.0), tuple(float(v) for v in std / 255.0)
    else:
        mean = std = (float("nan"),) * 3
    return ImageStats(per_image=pd.DataFrame(rows, columns=list(PER_IMAGE_COLUMNS)), mean=mean, std=std,
                      pixels=int(total_count), failed=failed)


def channel_table(stats: ImageStats) -> pd.DataFrame:
    """Mean and std per channel beside ImageNet's, the constants people copy without checking."""
    return pd.DataFrame({"channel": ["R", "G", "B"],
                         "mean": [round(v, 4) for v in stats.mean],
                         "std": [round(v, 4) for v in stats.std],
                         "ImageNet mean": IMAGENET_MEAN, "ImageNet std": IMAGENET_STD})
