"""The transform catalogue: parameters read from Albumentations' schemas, every entry builds and runs."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.augment.catalogue import catalogue, choice_label, get_entry
from core.augment.pipeline import make_transform, new_step, torchvision_step
from core.data.images import read_image
from core.errors import ConfigError
from core.params import Param

REQUIRED = {"HorizontalFlip", "Affine", "ShiftScaleRotate", "Rotate", "RandomResizedCrop", "CenterCrop", "Crop",
            "Resize", "Perspective", "GridDistortion", "RandomBrightnessContrast", "ColorJitter",
            "HueSaturationValue", "RandomGamma", "CLAHE", "ToGray", "GaussNoise", "GaussianBlur", "MotionBlur",
            "ImageCompression", "CoarseDropout", "Normalize"}
TORCHVISION = {"HorizontalFlip", "Rotate", "Affine", "ShiftScaleRotate", "RandomResizedCrop", "CenterCrop", "Crop",
               "Resize", "Perspective", "ColorJitter", "RandomBrightnessContrast", "GaussianBlur", "ToGray",
               "Normalize", "ImageCompression", "CoarseDropout", "GaussNoise", "HueSaturationValue"}
# (height, width) out of a 512x384 face where a step's starting arguments change the size
OUTPUT_SIZE = {"Resize": (256, 192), "RandomResizedCrop": (256, 192), "CenterCrop": (384, 320), "Crop": (384, 320),
               "FaceCrop": (307, 230)}  # no box given: the centred 0.6-high box at width/height 0.75


@pytest.fixture(scope="module")
def face(demo_data_dir) -> np.ndarray:
    return read_image(next((demo_data_dir / "train" / "images").glob("*/mask1.jpg"))).copy()  # writable, as torch wants


def test_catalogue_has_every_transform_the_issue_lists():
    assert REQUIRED <= set(catalogue())
    assert {name for name, entry in catalogue().items() if entry.torchvision is not None} >= TORCHVISION


@pytest.mark.parametrize("name", list(catalogue()))
def test_every_entry_builds_with_its_defaults_and_runs_on_a_real_jpeg(name, face):
    entry = get_entry(name)
    for param in entry.params:  # the declared defaults pass their own declaration
        assert param.validate(entry.defaults[param.name], param.name) is not None or param.optional
    transform = make_transform(new_step(name, p=1.0), name)
    transform.set_random_seed(0)
    output = transform(image=face)["image"]
    height, width = (output.shape[-2:] if isinstance(output, torch.Tensor) else output.shape[:2])
    assert (height, width) == OUTPUT_SIZE.get(name, face.shape[:2])  # the starting sizes fit 384x512 faces
    if name == "ToTensorV2":
        assert torch.equal(output, torch.from_numpy(face).permute(2, 0, 1))  # a layout change, same values
    elif (height, width) == face.shape[:2]:
        assert not np.array_equal(np.asarray(output), face)  # applied with p=1, it changes the picture


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_torchvision_equivalent_builds_from_the_same_arguments_and_runs(name, face):
    transform = torchvision_step(new_step(name), 1.0)
    output = transform(torch.from_numpy(face.copy()).permute(2, 0, 1))
    assert output.ndim == 3 and output.shape[0] in (1, 3)


def test_parameter_declarations_come_from_the_library_schema():
    assert get_entry("GaussNoise").param("std_range").kind == "float_range"
    assert (get_entry("GaussNoise").param("std_range").min, get_entry("GaussNoise").param("std_range").max) == (0, 1)
    quality = get_entry("ImageCompression").param("quality_range")
    assert (quality.kind, quality.min, quality.max) == ("int_range", 1, 100)  # from check_range_bounds(1, 100)
    assert get_entry("Resize").param("height").min == 1                        # from Ge(1)
    assert get_entry("Rotate").p.default == 0.5 and get_entry("Resize").p.default == 1.0  # __init__ defaults
    assert get_entry("Rotate").param("interpolation").choices == (0, 1, 2, 3, 4)         # Literal[...]
    assert get_entry("ToGray").param("method").kind == "choice"
    assert get_entry("Perspective").param("keep_size").kind == "bool"
    # help text is the docstring's first sentence where the catalogue adds none
    assert get_entry("GridDistortion").param("num_steps").help.startswith("Number of grid cells")


@pytest.mark.parametrize("name, args, expected", [
    ("CoarseDropout", {"num_holes_range": (5, 1)},
     "step 1 (CoarseDropout): num_holes_range: the low end 5 is above the high end 1"),
    ("Resize", {"height": -5}, "step 1 (Resize): height: -5 is below the minimum 1"),
    ("Resize", {"height": 0}, "step 1 (Resize): height: 0 is below the minimum 1"),
    ("Resize", {"width": "wide"}, "step 1 (Resize): width: 'wide' is not a valid int"),
    ("Rotate", {"limit": "wide"}, "step 1 (Rotate): limit: 'wide' is not a valid float_range"),
    ("GaussNoise", {"std_range": (0.1, 2.0)}, "step 1 (GaussNoise): std_range: 2.0 is above the maximum 1"),
    ("Rotate", {"interpolation": 9}, "step 1 (Rotate): interpolation: 9 is not one of 0, 1, 2, 3, 4"),
    ("Normalize", {"mean": [0.5, 0.5]}, "step 1 (Normalize): mean: [0.5, 0.5] must be one number or three"),
    ("Rotate", {"angle": 10}, "step 1 (Rotate): unknown parameter angle"),
])
def test_bad_values_are_rejected_naming_step_and_parameter(name, args, expected):
    step = new_step(name, **args)
    with pytest.raises(ConfigError) as caught:
        make_transform(step, f"step 1 ({name})")
    assert str(caught.value).startswith(expected)


@pytest.mark.parametrize("name, args", [
    ("Affine", {"scale": (0.5, 3.0)}),
    ("Rotate", {"limit": (-360.0, 360.0)}),
    ("Resize", {"height": 5000}),
    ("HueSaturationValue", {"hue_shift_limit": (-300.0, 300.0)}),
])
def test_values_the_library_accepts_are_accepted_whatever_the_slider_spans(name, args):
    step = new_step(name, p=1.0, **args)
    transform = make_transform(step, "step 1")
    for key, value in args.items():
        assert get_entry(name).check_args(step.args, "step 1")[key] == value
    assert isinstance(transform, get_entry(name).transform_cls)


def test_a_value_the_library_reads_is_kept_in_its_normal_form():
    # Our Param would call (20, -20) backwards; Albumentations accepts it and stores (-20, 20).
    assert get_entry("Rotate").check_args({"limit": (20, -20)}, "step 1")["limit"] == (-20.0, 20.0)


def _beyond(param):
    """A value just outside `param`'s declared valid range, of the right type."""
    cast = int if param.kind in ("int", "int_range", "int_pair") else float
    out = cast(param.min - 1) if param.min is not None else cast(param.max + 1)
    inside = param.default if param.kind in ("int", "float") else param.default[1]
    return out if param.kind in ("int", "float") else ((out, inside) if param.min is not None else (inside, out))


BOUNDED = [(name, param.name) for name, entry in catalogue().items() for param in entry.params
           if (param.min is not None or param.max is not None) and param.default is not None
           and param.kind in ("int", "float", "int_range", "float_range", "int_pair")]


@pytest.mark.parametrize("name, param_name", BOUNDED)
def test_every_declared_bound_is_one_the_library_enforces(name, param_name):
    """Validation bounds come from the library only; a slider span must never reject a value."""
    entry = get_entry(name)
    param = entry.param(param_name)
    with pytest.raises(ConfigError, match=rf"^step 1 \({name}\): {param_name}: "):
        entry.build({param_name: _beyond(param)}, 1.0, f"step 1 ({name})")
    # ...and the library itself refuses it, not only our wording of it
    with pytest.raises(ValueError):
        entry.transform_cls(**{**entry.defaults, param_name: _beyond(param)})


def test_bad_probability_is_rejected_naming_p():
    with pytest.raises(ConfigError, match=r"step 2 \(Rotate\): p: 1.5 is above the maximum 1"):
        make_transform(new_step("Rotate", p=1.5), "step 2 (Rotate)")


def test_rules_across_arguments_come_from_the_library_and_still_name_the_step():
    with pytest.raises(ConfigError, match=r"^step 1 \(Crop\): x_max must be greater than x_min"):
        make_transform(new_step("Crop", x_min=300, x_max=100), "step 1 (Crop)")
    with pytest.raises(ConfigError, match=r"^step 1 \(RandomResizedCrop\): size: "):
        make_transform(new_step("RandomResizedCrop", size=(0, 10)), "step 1 (RandomResizedCrop)")


def test_two_number_kinds_parse_validate_and_keep_order_rules():
    limit = Param("limit", "float_range", (-30.0, 30.0), "angle", min=-180, max=180)
    assert limit.parse("-10, 20") == (-10.0, 20.0)
    assert limit.parse("[1, 2.5]") == (1.0, 2.5)
    assert limit.validate([-5, 5]) == (-5.0, 5.0)
    with pytest.raises(ConfigError, match="limit: 'x' is not a valid float_range"):
        limit.validate("x")
    with pytest.raises(ConfigError, match="limit: \\[1\\] is not a valid"):
        limit.validate([1])
    size = Param("size", "int_pair", (256, 192), "(h, w)", min=1)
    assert size.validate([300, 100]) == (300, 100)  # a pair need not be increasing
    with pytest.raises(ConfigError, match="size: \\[2.5, 3\\] is not a valid int_pair"):
        size.validate([2.5, 3])


def test_choice_labels_name_opencv_flags():
    assert choice_label("interpolation", 1) == "1 · linear"
    assert choice_label("border_mode", 0) == "0 · constant (fill)"
    assert choice_label("method", "pca") == "pca"
