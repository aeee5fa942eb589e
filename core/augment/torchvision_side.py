"""torchvision.transforms.v2 equivalents of catalogue transforms, built from the same arguments.

Each function takes a step's Albumentations arguments and probability and returns the nearest v2
transform. Equivalents are "same job, same parameter ranges", not bit-exact: the libraries sample
and interpolate differently. Where the mapping is loose the catalogue says so in its note. The v2
side runs on uint8 CHW tensors (`v2.ToImage()` first), the fast path torchvision recommends.
"""
from __future__ import annotations

from functools import partial

import torch
from torchvision.transforms import v2
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as F

# OpenCV interpolation flags (what Albumentations stores) -> the nearest torchvision mode.
_INTERPOLATION = {0: InterpolationMode.NEAREST, 1: InterpolationMode.BILINEAR, 2: InterpolationMode.BICUBIC,
                  3: InterpolationMode.BILINEAR, 4: InterpolationMode.BICUBIC, 5: InterpolationMode.BILINEAR,
                  6: InterpolationMode.NEAREST_EXACT}


def _interpolation(args: dict) -> InterpolationMode:
    return _INTERPOLATION.get(args.get("interpolation", 1), InterpolationMode.BILINEAR)


def _with_p(transform, p: float):
    """torchvision's random transforms have no p of their own: wrap them like Albumentations' p."""
    return transform if p >= 1 else v2.RandomApply([transform], p=p)


def _axis(value, axis: str = "x"):
    """One axis of an Affine argument that may still be {'x': range, 'y': range}."""
    return value[axis] if isinstance(value, dict) else value


def _fill(args: dict):
    fill = args.get("fill", 0)
    return fill if isinstance(fill, (int, float)) else list(fill)


def horizontal_flip(args: dict, p: float):
    return v2.RandomHorizontalFlip(p=p)


def rotate(args: dict, p: float):
    return _with_p(v2.RandomRotation(degrees=list(args["limit"]), interpolation=_interpolation(args),
                                     fill=_fill(args)), p)


def affine(args: dict, p: float):
    translate = args.get("translate_percent")
    translate = None if translate is None else [max(abs(v) for v in _axis(translate, axis)) for axis in "xy"]
    return _with_p(v2.RandomAffine(degrees=list(args["rotate"]), translate=translate,
                                   scale=list(_axis(args["scale"])), shear=list(_axis(args["shear"])),
                                   interpolation=_interpolation(args), fill=_fill(args)), p)


def shift_scale_rotate(args: dict, p: float):
    translate = [max(abs(v) for v in args[name]) for name in ("shift_limit_x", "shift_limit_y")]
    low, high = args["scale_limit"]
    return _with_p(v2.RandomAffine(degrees=list(args["rotate_limit"]), translate=translate,
                                   scale=[1 + low, 1 + high], interpolation=_interpolation(args),
                                   fill=_fill(args)), p)


def random_resized_crop(args: dict, p: float):
    return _with_p(v2.RandomResizedCrop(size=list(args["size"]), scale=list(args["scale"]),
                                        ratio=list(args["ratio"]), interpolation=_interpolation(args),
                                        antialias=True), p)


def center_crop(args: dict, p: float):
    return _with_p(v2.CenterCrop([args["height"], args["width"]]), p)


def crop(args: dict, p: float):
    # torchvision has no "crop to this box" class; the functional crop in a Lambda is the idiom.
    box = partial(F.crop, top=args["y_min"], left=args["x_min"], height=args["y_max"] - args["y_min"],
                  width=args["x_max"] - args["x_min"])
    return _with_p(v2.Lambda(box), p)


def resize(args: dict, p: float):
    return _with_p(v2.Resize([args["height"], args["width"]], interpolation=_interpolation(args),
                             antialias=True), p)


def perspective(args: dict, p: float):
    # Albumentations draws corner offsets from N(0, scale); torchvision from U(0, distortion/2):
    # matching the spread roughly means distortion ~ 2 * the largest scale.
    return v2.RandomPerspective(distortion_scale=min(1.0, 2 * args["scale"][1]), p=p,
                                interpolation=_interpolation(args), fill=_fill(args))


def random_brightness_contrast(args: dict, p: float):
    brightness = [max(0.0, 1 + v) for v in args["brightness_limit"]]
    contrast = [max(0.0, 1 + v) for v in args["contrast_limit"]]
    return _with_p(v2.ColorJitter(brightness=brightness, contrast=contrast), p)


def color_jitter(args: dict, p: float):
    return _with_p(v2.ColorJitter(brightness=list(args["brightness"]), contrast=list(args["contrast"]),
                                  saturation=list(args["saturation"]), hue=list(args["hue"])), p)


def hue_saturation_value(args: dict, p: float):
    # Albumentations shifts OpenCV's uint8 hue (180 steps per turn) and adds to saturation and value
    # (0..255); ColorJitter shifts hue by a fraction of the turn (the same, exactly) but multiplies
    # saturation and brightness: 1 + shift/128 gives the same change at a mid-level (128) pixel.
    hue = [min(0.5, max(-0.5, v / 180)) for v in args["hue_shift_limit"]]
    saturation, brightness = ([max(0.0, 1 + v / 128) for v in args[name]] for name in ("sat_shift_limit",
                                                                                      "val_shift_limit"))
    return _with_p(v2.ColorJitter(brightness=brightness, saturation=saturation, hue=hue), p)


def to_gray(args: dict, p: float):
    if args.get("num_output_channels", 3) == 1:
        return _with_p(v2.Grayscale(num_output_channels=1), p)
    return v2.RandomGrayscale(p=p)


def gaussian_blur(args: dict, p: float):
    sigma = list(args["sigma_limit"])
    kernel = args["blur_limit"][1] or int(sigma[1] * 3.5) * 2 + 1  # the kernel Albumentations uses at sigma max
    kernel += 1 - kernel % 2
    return _with_p(v2.GaussianBlur(kernel_size=kernel, sigma=[max(sigma[0], 1e-3), max(sigma[1], 1e-3)]), p)


def gauss_noise(args: dict, p: float):
    # Both libraries scale noise as a fraction of the dtype's maximum. v2.GaussianNoise has one fixed sigma,
    # so sigma is drawn from five evenly spaced levels of std_range; the mean is mean_range's middle, and
    # the noise is always per channel (Albumentations' per_channel=False shares it across channels).
    low, high = args["std_range"]
    mean = sum(args["mean_range"]) / 2
    levels = [low + (high - low) * step / 4 for step in range(5)] if high > low else [low]
    noises = [v2.GaussianNoise(mean=mean, sigma=sigma, clip=True) for sigma in levels]
    return _with_p(noises[0] if len(noises) == 1 else v2.RandomChoice(noises), p)


def image_compression(args: dict, p: float):
    if args.get("compression_type", "jpeg") != "jpeg":
        return None
    return _with_p(v2.JPEG(quality=list(args["quality_range"])), p)


def coarse_dropout(args: dict, p: float):
    heights, widths = args["hole_height_range"], args["hole_width_range"]
    area = [max(heights[0] * widths[0], 1e-4), max(heights[1] * widths[1], 1e-4)]
    aspect = sorted([max(heights[0], 1e-3) / max(widths[1], 1e-3), max(heights[1], 1e-3) / max(widths[0], 1e-3)])
    fill = args.get("fill", 0)
    value = float(fill) if isinstance(fill, (int, float)) else 0.0
    return v2.RandomErasing(p=p, scale=area, ratio=aspect, value=value)


def normalize(args: dict, p: float):
    if args.get("normalization", "standard") != "standard" or args.get("max_pixel_value") != 255.0:
        return None
    mean = _per_channel(args["mean"])
    std = _per_channel(args["std"])
    return v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean=mean, std=std)])


def _per_channel(value) -> list[float]:
    return [float(value)] * 3 if isinstance(value, (int, float)) else [float(v) for v in value]


def to_tensor(args: dict, p: float):
    return v2.Identity()  # the v2 side already works on tensors
