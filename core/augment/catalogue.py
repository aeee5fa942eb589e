"""The transforms a face-mask competitor reaches for, each with its parameters declared once.

The parameter types, library bounds, defaults and descriptions are read from Albumentations itself
(`schema.py`); the table below adds only what the library cannot know: which arguments a widget
should show, slider spans and steps, the values a new step starts with (sized for 384x512 faces
and a 256x192 training size), a one-line purpose, and the torchvision v2 equivalent.
Slider spans only size widgets (`slider_min`/`slider_max`); what is valid is what the transform's
own constructor accepts (`Entry.build`), so a file Albumentations reads is never refused here.
"""
from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field
from functools import cache
from typing import Callable

import albumentations as A
from albumentations.pytorch import ToTensorV2

from core.augment import torchvision_side as tv
from core.augment.face_crop import FaceCrop
from core.augment.library_errors import ACROSS, StepError, library_call
from core.augment.schema import docstring_args, library_defaults, param_from_field, simplify_value
from core.errors import ConfigError
from core.i18n import DEFAULT_LANGUAGE, has_text, localized_error, t, text
from core.params import Param


def _english(key: str) -> str:
    """Our own text of the catalogue in English (locales/en/augment_catalogue.yaml): what a Param and an Entry
    hold, the same in every session; a page shows the session's language through `purpose` and `hint_help`."""
    return text(DEFAULT_LANGUAGE, f"augment_catalogue.{key}")


GROUPS = ("geometric", "photometric", "noise, blur & quality", "occlusion", "normalize", "output")

# OpenCV flags are stored as numbers; widgets show their names.
CHOICE_LABELS = {
    "interpolation": {0: "nearest", 1: "linear", 2: "cubic", 3: "area", 4: "lanczos4", 5: "linear exact",
                      6: "nearest exact"},
    "border_mode": {0: "constant (fill)", 1: "replicate edge", 2: "reflect", 3: "wrap", 4: "reflect 101"},
}

_P_HINT = {"step": 0.05, "help": _english("help.p")}
_INTERP = {"help": _english("help.interpolation")}
_BORDER = {"help": _english("help.border_mode")}


@dataclass(frozen=True)
class Spec:
    """What the library cannot tell us about a transform (hand-written, one per catalogue entry)."""

    name: str
    group: str
    purpose: str
    exposed: tuple[str, ...] = ()
    start: dict = field(default_factory=dict)   # arguments of a newly added step
    hints: dict = field(default_factory=dict)   # per argument: Param fields a widget needs
    torchvision: Callable | None = None          # (args, p) -> v2 transform, or None: no equivalent
    torchvision_note: str = ""
    prepare: Callable[[dict], dict] | None = None  # adjust arguments just before the transform is made


def _affine_prepare(args: dict) -> dict:
    # The library refuses translate_percent and translate_px together; the widget sets the percent.
    if args.get("translate_percent") is not None:
        args = {**args, "translate_px": None}
    return args


SPECS = (
    # geometric
    Spec("HorizontalFlip", "geometric", _english("purposes.HorizontalFlip"),
         torchvision=tv.horizontal_flip, torchvision_note="RandomHorizontalFlip"),
    Spec("Affine", "geometric", _english("purposes.Affine"),
         ("scale", "translate_percent", "rotate", "shear", "interpolation", "border_mode", "keep_ratio"),
         start={"scale": (0.9, 1.1), "translate_percent": (-0.05, 0.05), "rotate": (-15.0, 15.0)},
         hints={"scale": {"slider_min": 0.5, "slider_max": 2.0, "step": 0.01,
                          "help": _english("help.Affine.scale")},
                "translate_percent": {"slider_min": -0.5, "slider_max": 0.5, "step": 0.01,
                                      "help": _english("help.Affine.translate_percent")},
                "rotate": {"slider_min": -180, "slider_max": 180, "step": 1.0, "help": _english("help.Affine.rotate")},
                "shear": {"slider_min": -45, "slider_max": 45, "step": 1.0, "help": _english("help.Affine.shear")},
                "interpolation": _INTERP, "border_mode": _BORDER},
         torchvision=tv.affine, torchvision_note="RandomAffine (shift drawn symmetric, x-axis ranges)",
         prepare=_affine_prepare),
    Spec("ShiftScaleRotate", "geometric", _english("purposes.ShiftScaleRotate"),
         ("shift_limit_x", "shift_limit_y", "scale_limit", "rotate_limit", "interpolation", "border_mode"),
         start={"rotate_limit": (-15, 15), "shift_limit": (-0.05, 0.05)},
         hints={"shift_limit_x": {"slider_min": -0.5, "slider_max": 0.5, "step": 0.01, "optional": False,
                                  "help": _english("help.ShiftScaleRotate.shift_limit_x")},
                "shift_limit_y": {"slider_min": -0.5, "slider_max": 0.5, "step": 0.01, "optional": False,
                                  "help": _english("help.ShiftScaleRotate.shift_limit_y")},
                "scale_limit": {"slider_min": -0.9, "slider_max": 1.0, "step": 0.01, "help": _english("help.ShiftScaleRotate.scale_limit")},
                "rotate_limit": {"slider_min": -180, "slider_max": 180, "step": 1.0,
                                 "help": _english("help.ShiftScaleRotate.rotate_limit")},
                "interpolation": _INTERP, "border_mode": _BORDER},
         torchvision=tv.shift_scale_rotate, torchvision_note="RandomAffine"),
    Spec("Rotate", "geometric", _english("purposes.Rotate"),
         ("limit", "interpolation", "border_mode", "crop_border"),
         start={"limit": (-30, 30)},
         hints={"limit": {"slider_min": -180, "slider_max": 180, "step": 1.0, "help": _english("help.Rotate.limit")},
                "interpolation": _INTERP, "border_mode": _BORDER},
         torchvision=tv.rotate, torchvision_note="RandomRotation"),
    Spec("RandomResizedCrop", "geometric", _english("purposes.RandomResizedCrop"),
         ("size", "scale", "ratio", "interpolation"),
         start={"size": (256, 192), "scale": (0.6, 1.0), "ratio": (0.6, 0.9)},
         hints={"size": {"kind": "int_pair", "slider_max": 2048, "help": _english("help.RandomResizedCrop.size")},
                "scale": {"slider_min": 0.01, "slider_max": 1.0, "step": 0.01,
                          "help": _english("help.RandomResizedCrop.scale")},
                "ratio": {"slider_min": 0.2, "slider_max": 3.0, "step": 0.01, "help": _english("help.RandomResizedCrop.ratio")},
                "interpolation": _INTERP},
         torchvision=tv.random_resized_crop, torchvision_note="RandomResizedCrop"),
    Spec("CenterCrop", "geometric", _english("purposes.CenterCrop"),
         ("height", "width", "pad_if_needed"),
         start={"height": 384, "width": 320},
         hints={"height": {"slider_max": 4096, "help": _english("help.CenterCrop.height")},
                "width": {"slider_max": 4096, "help": _english("help.CenterCrop.width")}},
         torchvision=tv.center_crop, torchvision_note="CenterCrop"),
    Spec("Crop", "geometric", _english("purposes.Crop"),
         ("x_min", "y_min", "x_max", "y_max", "pad_if_needed"),
         start={"x_min": 32, "y_min": 64, "x_max": 352, "y_max": 448},
         hints={name: {"slider_max": 4096} for name in ("x_min", "y_min", "x_max", "y_max")},
         torchvision=tv.crop, torchvision_note="functional.crop in a Lambda (no Crop class in v2)"),
    Spec("FaceCrop", "geometric", _english("purposes.FaceCrop"),
         ("margin", "aspect", "min_score", "fallback_height"),
         hints={"margin": {"step": 0.05, "slider_max": 1.0}, "aspect": {"step": 0.05, "slider_min": 0.25, "slider_max": 2.0},
                "min_score": {"step": 0.1, "slider_min": -1.0, "slider_max": 2.0},
                "fallback_height": {"step": 0.05, "slider_min": 0.1}}),
    Spec("Resize", "geometric", _english("purposes.Resize"),
         ("height", "width", "interpolation", "area_for_downscale"),
         start={"height": 256, "width": 192},
         hints={"height": {"slider_max": 4096, "help": _english("help.Resize.height")},
                "width": {"slider_max": 4096, "help": _english("help.Resize.width")},
                "interpolation": _INTERP},
         torchvision=tv.resize, torchvision_note="Resize (antialias=True)"),
    Spec("Perspective", "geometric", _english("purposes.Perspective"),
         ("scale", "keep_size", "fit_output", "interpolation", "border_mode"),
         hints={"scale": {"slider_max": 0.5, "step": 0.01, "help": _english("help.Perspective.scale")},
                "interpolation": _INTERP, "border_mode": _BORDER},
         torchvision=tv.perspective, torchvision_note="RandomPerspective (distortion ~ 2 x scale; approximate)"),
    Spec("GridDistortion", "geometric", _english("purposes.GridDistortion"),
         ("num_steps", "distort_limit", "normalized", "interpolation", "border_mode"),
         hints={"num_steps": {"slider_max": 20}, "distort_limit": {"slider_min": -1.0, "slider_max": 1.0, "step": 0.01},
                "interpolation": _INTERP, "border_mode": _BORDER}),
    # photometric
    Spec("RandomBrightnessContrast", "photometric", _english("purposes.RandomBrightnessContrast"),
         ("brightness_limit", "contrast_limit", "brightness_by_max", "ensure_safe_range"),
         hints={"brightness_limit": {"slider_min": -1.0, "slider_max": 1.0, "step": 0.01,
                                     "help": _english("help.RandomBrightnessContrast.brightness_limit")},
                "contrast_limit": {"slider_min": -1.0, "slider_max": 1.0, "step": 0.01,
                                   "help": _english("help.RandomBrightnessContrast.contrast_limit")}},
         torchvision=tv.random_brightness_contrast, torchvision_note="ColorJitter(brightness, contrast)"),
    Spec("ColorJitter", "photometric", _english("purposes.ColorJitter"),
         ("brightness", "contrast", "saturation", "hue"),
         start={"hue": (-0.05, 0.05)},
         hints={"brightness": {"slider_min": 0.0, "slider_max": 3.0, "step": 0.01, "help": _english("help.ColorJitter.brightness")},
                "contrast": {"slider_min": 0.0, "slider_max": 3.0, "step": 0.01, "help": _english("help.ColorJitter.contrast")},
                "saturation": {"slider_min": 0.0, "slider_max": 3.0, "step": 0.01, "help": _english("help.ColorJitter.saturation")},
                "hue": {"slider_min": -0.5, "slider_max": 0.5, "step": 0.01,
                        "help": _english("help.ColorJitter.hue")}},
         torchvision=tv.color_jitter, torchvision_note="ColorJitter"),
    Spec("HueSaturationValue", "photometric", _english("purposes.HueSaturationValue"),
         ("hue_shift_limit", "sat_shift_limit", "val_shift_limit"),
         hints={"hue_shift_limit": {"slider_min": -180, "slider_max": 180, "step": 1.0},
                "sat_shift_limit": {"slider_min": -255, "slider_max": 255, "step": 1.0},
                "val_shift_limit": {"slider_min": -255, "slider_max": 255, "step": 1.0}},
         torchvision=tv.hue_saturation_value,
         torchvision_note="ColorJitter (hue shift exact; saturation/value added here but multiplied there: "
                          "factor 1 + shift/128, equal at a mid-level pixel, approximate elsewhere)"),
    Spec("RandomGamma", "photometric", _english("purposes.RandomGamma"),
         ("gamma_limit",),
         hints={"gamma_limit": {"slider_max": 300, "step": 1.0, "help": _english("help.RandomGamma.gamma_limit")}}),
    Spec("CLAHE", "photometric", _english("purposes.CLAHE"),
         ("clip_limit", "tile_grid_size"),
         hints={"clip_limit": {"slider_max": 16.0, "step": 0.5, "help": _english("help.CLAHE.clip_limit")},
                "tile_grid_size": {"kind": "int_pair", "slider_max": 32, "help": _english("help.CLAHE.tile_grid_size")}}),
    Spec("ToGray", "photometric", _english("purposes.ToGray"),
         ("method",), torchvision=tv.to_gray, torchvision_note="RandomGrayscale"),
    # noise, blur, quality
    Spec("GaussNoise", "noise, blur & quality", _english("purposes.GaussNoise"),
         ("std_range", "mean_range", "per_channel", "noise_scale_factor"),
         start={"std_range": (0.03, 0.1)},
         hints={"std_range": {"step": 0.01}, "mean_range": {"step": 0.01}, "noise_scale_factor": {"step": 0.05}},
         torchvision=tv.gauss_noise,
         torchvision_note="GaussianNoise (sigma from 5 levels of std_range, mean = middle of mean_range, "
                          "always per channel)"),
    Spec("GaussianBlur", "noise, blur & quality", _english("purposes.GaussianBlur"),
         ("sigma_limit", "blur_limit"),
         hints={"sigma_limit": {"slider_max": 10.0, "step": 0.1, "help": _english("help.GaussianBlur.sigma_limit")},
                "blur_limit": {"slider_min": 0, "slider_max": 31, "step": 1,
                               "help": _english("help.GaussianBlur.blur_limit")}},
         torchvision=tv.gaussian_blur, torchvision_note="GaussianBlur (kernel sized for the largest sigma)"),
    Spec("MotionBlur", "noise, blur & quality", _english("purposes.MotionBlur"),
         ("blur_limit", "angle_range", "direction_range", "allow_shifted"),
         hints={"blur_limit": {"slider_min": 3, "slider_max": 31, "step": 1, "kind": "int_range",
                               "help": _english("help.MotionBlur.blur_limit")},
                "angle_range": {"step": 1.0}, "direction_range": {"step": 0.05}}),
    Spec("ImageCompression", "noise, blur & quality", _english("purposes.ImageCompression"),
         ("quality_range", "compression_type"),
         start={"quality_range": (40, 90)},
         hints={"quality_range": {"step": 1, "help": _english("help.ImageCompression.quality_range")}},
         torchvision=tv.image_compression, torchvision_note="JPEG (jpeg only)"),
    # occlusion
    Spec("CoarseDropout", "occlusion", _english("purposes.CoarseDropout"),
         ("num_holes_range", "hole_height_range", "hole_width_range"),
         start={"num_holes_range": (1, 4), "hole_height_range": (0.05, 0.15), "hole_width_range": (0.05, 0.15)},
         hints={"num_holes_range": {"slider_max": 20, "help": _english("help.CoarseDropout.num_holes_range")},
                "hole_height_range": {"slider_min": 0.0, "slider_max": 1.0, "step": 0.01,
                                      "help": _english("help.CoarseDropout.hole_height_range")},
                "hole_width_range": {"slider_min": 0.0, "slider_max": 1.0, "step": 0.01,
                                     "help": _english("help.CoarseDropout.hole_width_range")}},
         torchvision=tv.coarse_dropout, torchvision_note="RandomErasing (one box per image)"),
    # normalize / output
    Spec("Normalize", "normalize", _english("purposes.Normalize"),
         ("mean", "std", "max_pixel_value", "normalization"),
         hints={"mean": {"help": _english("help.Normalize.mean")},
                "std": {"help": _english("help.Normalize.std")},
                "max_pixel_value": {"slider_min": 1.0}},
         torchvision=tv.normalize, torchvision_note="ToDtype(float32, scale=True) + Normalize"),
    Spec("ToTensorV2", "output", _english("purposes.ToTensorV2"),
         torchvision=tv.to_tensor, torchvision_note="(already a tensor on the torchvision side)"),
)


@dataclass(frozen=True)
class Entry:
    """A catalogue transform: its class, its declared parameters and its torchvision equivalent."""

    name: str
    group: str
    purpose: str
    transform_cls: type
    p: Param
    params: tuple[Param, ...]  # the arguments a widget shows, in the catalogue's order
    defaults: dict             # every argument of a new step (shown or not), as the library stores it
    spec: Spec

    def param(self, name: str) -> Param:
        for param in self.params:
            if param.name == name:
                return param
        raise KeyError(name)

    @property
    def torchvision(self) -> Callable | None:
        return self.spec.torchvision

    def build(self, args: dict, p: float, where: str):
        """(the transform, its arguments) for a step; StepError naming each parameter the library refuses.

        The library decides what is valid: our Params coerce widget values and word a refusal with the
        value and its range, but a value the library accepts is accepted (stored in the library's form
        where our Param could not read it, e.g. limit=(20, -20) becomes (-20.0, 20.0)). One rule is ours:
        a per-channel mean/std needs one number or three, since our images are RGB and the library
        would accept two and fail on the first image.
        """
        unknown = sorted(set(args) - set(self.defaults))
        if unknown:
            raise StepError(where, {ACROSS: f"unknown parameter {', '.join(unknown)} "
                                            f"(known: {', '.join(sorted(self.defaults)) or 'none'})"})
        candidate, worded, shown = {**self.defaults, **args}, {}, {}
        for param in (self.p, *self.params):
            value = p if param is self.p else candidate[param.name]
            try:
                value = param.validate(value, param.name)
            except ConfigError as error:
                worded[param.name], shown[param.name] = str(error), localized_error(error)
                continue
            if param.kind == "list" and value is not None:
                value = _per_channel(value, where, param.name)
            if param is self.p:
                p = value
            else:
                candidate[param.name] = value
        prepared = self.spec.prepare(candidate) if self.spec.prepare is not None else candidate
        try:
            transform = library_call(lambda: self.transform_cls(**prepared, p=p), where)
        except StepError as error:
            raise StepError(where, {name: worded.get(name, line) for name, line in error.problems.items()},
                            {name: shown[name] for name in error.problems if name in shown}) from None
        normal = transform.get_transform_init_args()
        candidate.update({name: simplify_value(normal[name]) for name in worded if name in normal})
        return transform, candidate

    def check_args(self, args: dict, where: str) -> dict:
        """The step's arguments once the library has accepted them (see `build`)."""
        return self.build(args, self.p.default, where)[1]


def _per_channel(value: list, where: str, name: str) -> tuple:
    if len(value) not in (1, 3) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise StepError(where, {name: f"{name}: {value!r} must be one number or three (R, G, B)"})
    return tuple(float(v) for v in value)


def _transform_class(name: str) -> type:
    return {"ToTensorV2": ToTensorV2, "FaceCrop": FaceCrop}.get(name) or getattr(A, name)


def _build_entry(spec: Spec) -> Entry:
    cls = _transform_class(spec.name)
    docs = docstring_args(cls)
    p_default = float(inspect.signature(cls.__init__).parameters["p"].default)
    p = dataclasses.replace(param_from_field(cls, "p", p_default, docs), **_P_HINT)
    defaults = library_defaults(cls, spec.start)
    params = tuple(dataclasses.replace(param_from_field(cls, name, defaults[name], docs), **spec.hints.get(name, {}))
                   for name in spec.exposed)
    return Entry(name=spec.name, group=spec.group, purpose=spec.purpose, transform_cls=cls, p=p,
                 params=params, defaults=defaults, spec=spec)


# More of Albumentations 2.0.8's image transforms, editable with every parameter their InitSchema declares
# (help from their docstrings) and no hand-written hints. Left out on purpose: steps that turn a face on its
# side or upside down (VerticalFlip, Transpose, RandomRotate90), that change the size per draw or pad
# only small images (RandomScale, PadIfNeeded), that change nothing with their defaults (XYMasking,
# AdvancedBlur on a 384x512 photo), plain Blur (GaussianBlur does its job; it stays the example of a
# read-only step), that no photo of the task needs
# (InvertImg, ChannelShuffle, weather effects), that take over 0.1 s per 256x192 image (ThinPlateSpline,
# FancyPCA, Superpixels), and those whose arguments need a rule of their own (LongestMaxSize, RandomCrop,
# CropAndPad, RandomShadow's region...). Imported files keep any of them, read-only.
LIBRARY_TRANSFORMS = {
    "geometric": ("SafeRotate", "ElasticTransform", "OpticalDistortion"),
    "photometric": ("RandomToneCurve", "Sharpen", "Emboss", "Posterize", "Solarize", "RGBShift",
                    "PlanckianJitter", "ChannelDropout", "PlasmaBrightnessContrast", "AutoContrast", "UnsharpMask",
                    "Illumination", "ToSepia", "PlasmaShadow"),
    "noise, blur & quality": ("Downscale", "ISONoise", "MultiplicativeNoise", "MedianBlur", "GlassBlur",
                              "Defocus", "ZoomBlur", "RingingOvershoot", "SaltAndPepper",
                              "AdditiveNoise"),
    "occlusion": ("GridDropout", "Erasing"),
}
LIBRARY_START: dict[str, dict] = {}
# Arguments about masks and keypoints (not in this task) or set in the pipeline's Compose; `fill` mixes
# a number with per-channel tuples or named methods, which one widget cannot show: it keeps the library's
# default (black), as in the hand-written entries.
NOT_IMAGE_ARGS = {"p", "strict", "fill", "fill_mask", "mask_interpolation", "mask_fill_value",
                  "keypoint_remapping_method"}


def _library_spec(name: str, group: str) -> Spec:
    """A Spec read from the library alone: purpose = the docstring's first sentence; every argument a widget
    can show (a free-text or structured argument keeps the library's default)."""
    cls = getattr(A, name)
    shown = tuple(field_name for field_name in cls.InitSchema.model_fields if field_name not in NOT_IMAGE_ARGS
                  and param_from_field(cls, field_name, None, {}).kind != "str")
    purpose = (inspect.getdoc(cls) or name).split("\n\n")[0].replace("\n", " ")
    return Spec(name, group, purpose.split(". ")[0].rstrip(".") + ".", shown, start=LIBRARY_START.get(name, {}))


@cache
def catalogue() -> dict[str, Entry]:
    """Every catalogue entry by transform name, in display order (built once per process)."""
    specs = [*SPECS, *(_library_spec(name, group) for group, names in LIBRARY_TRANSFORMS.items() for name in names)]
    return {spec.name: _build_entry(spec) for spec in specs}


def get_entry(name: str) -> Entry:
    entries = catalogue()
    if name not in entries:
        raise ConfigError.of("errors_augment.unknown_transform", name=name, known=", ".join(entries))
    return entries[name]


def choice_label(param_name: str, value) -> str:
    """'1 · linear' for OpenCV flags, the value itself otherwise."""
    label = CHOICE_LABELS.get(param_name, {}).get(value)
    return f"{value} · {label}" if label else str(value)


def purpose(entry: Entry) -> str:
    """The entry's purpose in the session's language: ours from the catalogue files, a library transform's
    from its docstring (English; Korean where locales/ko/params_augment.yaml has `<name>.purpose`)."""
    key = f"augment_catalogue.purposes.{entry.name}"
    if has_text(key, DEFAULT_LANGUAGE):
        return t(key)
    return _korean_only(f"params_augment.{entry.name}.purpose") or entry.purpose


def group_name(group: str) -> str:
    return t(f"augment_catalogue.groups.{group}")


def hint_help(entry_name: str, param: Param) -> str | None:
    """A widget's help in the session's language: our hint, else the Korean of the library's docstring
    (params_augment.<transform>.<parameter>, then params_augment.<parameter>), else the declared help."""
    for key in (f"augment_catalogue.help.{entry_name}.{param.name}", f"augment_catalogue.help.{param.name}"):
        if has_text(key, DEFAULT_LANGUAGE) and text(DEFAULT_LANGUAGE, key) == param.help:
            return t(key)
    return (_korean_only(f"params_augment.{entry_name}.{param.name}") or _korean_only(f"params_augment.{param.name}")
            or param.help or None)


def _korean_only(key: str) -> str | None:
    """Text that only the session's language has (Albumentations' English lives in its docstrings)."""
    from core.i18n import catalogue, current_language

    language = current_language()
    return None if language == DEFAULT_LANGUAGE else catalogue(language).get(key)
