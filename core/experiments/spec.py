"""What an experiment is: a base config, named variants (overrides of declared keys), folds and seeds.

    spec = make_spec("aug-ab", base, {"baseline": {}, "strong": {"augment.train": "strong.json"}},
                     folds=3, seeds=[0])
    items = queue_items(spec)    # one run per variant x fold x seed, each config built and checked

Every variant value is parsed by the key's declared Param (core.config.find_param), and every item's
config is built, and its pipelines loaded, before anything is queued: a bad key, value or pipeline file
stops with one line naming it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.config import ExperimentConfig, config_from_dict, config_to_dict, find_param
from core.data.folds import check_fold
from core.errors import ConfigError, MaskLabError

# Keys an experiment sets per item itself; a variant that set them would break the pairing.
ITEM_KEYS = ("data.folds", "data.fold", "train.seed", "train.final_fit", "run.root", "run.name")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass
class ExperimentSpec:
    name: str
    base: dict  # a full config dict (config_to_dict)
    variants: dict  # variant name -> {dotted key: value}
    folds: int = 3
    seeds: list = field(default_factory=lambda: [0])

    def to_dict(self) -> dict:
        return {"name": self.name, "base": self.base, "variants": self.variants, "folds": self.folds,
                "seeds": list(self.seeds)}


# The names the pages check, with their own words in each language; any other `what` (a CLI flag) is shown as given.
NAME_ERRORS = {"experiment name": "errors_experiments.bad_experiment_name",
               "variant name": "errors_experiments.bad_variant_name"}


def check_name(name: str, what: str = "experiment name") -> str:
    name = str(name or "").strip()
    if not NAME_PATTERN.match(name):
        if what in NAME_ERRORS:
            raise ConfigError.of(NAME_ERRORS[what], name=name)
        raise ConfigError.of("errors_experiments.bad_name", what=what, name=name)
    return name


def parse_variant_value(key: str, value, variant: str):
    """Variant `variant`'s value for `key`, typed and checked by the key's declaration."""
    if key in ITEM_KEYS:
        raise ConfigError.of("errors_experiments.item_key", variant=variant, setting=key)
    try:
        param = find_param(key)
        return param.parse(value, where=key) if isinstance(value, str) else param.validate(value, where=key)
    except ConfigError as error:  # the declaration's own words, in the session's language, after the variant
        raise ConfigError.of("errors_experiments.in_variant", variant=variant, error=error) from None


def make_spec(name: str, base, variants: dict, folds: int = 3, seeds=(0,)) -> ExperimentSpec:
    """A checked ExperimentSpec; `base` is an ExperimentConfig or its dict."""
    name = check_name(name)
    base_dict = config_to_dict(base) if isinstance(base, ExperimentConfig) else config_to_dict(config_from_dict(base))
    if base_dict["train"]["final_fit"]:
        raise ConfigError.of("errors_experiments.final_fit_base")
    if not variants:
        raise ConfigError.of("errors_experiments.no_variants")
    checked = {}
    for variant, overrides in variants.items():
        variant = check_name(variant, "variant name")
        if overrides is not None and not isinstance(overrides, dict):
            raise ConfigError.of("errors_experiments.not_overrides", variant=variant, overrides=overrides)
        checked[variant] = {key: _plain(parse_variant_value(key, value, variant))
                            for key, value in (overrides or {}).items()}
    folds = int(folds)
    if not 0 <= folds <= 20:
        raise ConfigError.of("errors_experiments.folds_range", folds=folds)
    seeds = [int(seed) for seed in seeds]
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise ConfigError.of("errors_experiments.seeds", seeds=seeds)
    return ExperimentSpec(name, base_dict, checked, folds, seeds)


def spec_from_dict(data: dict) -> ExperimentSpec:
    if not isinstance(data, dict):
        raise ConfigError.of("errors_experiments.file_not_mapping")
    unknown = set(data) - {"name", "base", "variants", "folds", "seeds"}
    if unknown:
        raise ConfigError.of("errors_experiments.file_unknown_keys", keys=", ".join(sorted(unknown)))
    return make_spec(data.get("name", ""), data.get("base") or {}, data.get("variants") or {},
                     data.get("folds", 3), data.get("seeds", [0]))


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def fold_indices(spec: ExperimentSpec) -> list[int]:
    return list(range(spec.folds)) if spec.folds > 1 else [0]


def item_name(variant: str, fold: int, seed: int) -> str:
    return f"{variant}-f{fold}-s{seed}"


def item_config(spec: ExperimentSpec, variant: str, fold: int, seed: int, runs_dir) -> ExperimentConfig:
    """The full config of one run of the experiment."""
    data = config_to_dict(config_from_dict(spec.base))
    for key, value in spec.variants[variant].items():
        section, name = key.split(".", 1)
        data[section][name] = value
    data["data"]["folds"] = spec.folds
    data["data"]["fold"] = fold
    data["train"]["seed"] = seed
    data["run"]["root"] = str(runs_dir)
    data["run"]["name"] = item_name(variant, fold, seed)
    try:
        config = config_from_dict(data)
    except ConfigError as error:
        raise ConfigError.of("errors_experiments.in_variant", variant=variant, error=error) from None
    check_fold(config.data.folds, config.data.fold)
    return config


def check_item_config(config: ExperimentConfig, variant: str) -> None:
    """Load the pipelines a run will load, so that a missing or broken file stops before queuing."""
    from core.train.inputs import create_transforms

    try:
        create_transforms(config)
    except MaskLabError as error:
        raise ConfigError.of("errors_experiments.in_variant", variant=variant, error=error) from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ConfigError.of("errors_experiments.pipelines_unloadable", variant=variant, train=config.augment.train,
                             val=config.augment.val, kind=type(error).__name__, error=error) from None
