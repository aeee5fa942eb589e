"""One experiment config, declared once: sections data, augment, loader, model, loss, optim, sched,
train, run. YAML in and out; `--set section.key=value` overrides; the pages draw a widget per setting.

    config = load_config("configs/demo.yaml", overrides=["train.epochs=3"])
    text = config_to_yaml(config)

Unknown keys and bad values raise ConfigError naming the key ("train.epochs: 0 is below the minimum 1").
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from core.errors import ConfigError
from core.labels import DEFAULT_AGE_EDGES, MAX_AGE_EDGE, MIN_AGE_EDGE
from core.loader.config import LoaderConfig
from core.params import Param, params_of, section_from_dict, section_to_dict, setting

MODEL_NAMES = ("small_cnn", "resnet18", "resnet34", "resnet50", "efficientnet_b0", "efficientnet_b1",
               "efficientnet_b2", "efficientnet_b3", "efficientnet_b4", "mobilenet_v3_small", "mobilenet_v3_large",
               "convnext_tiny")
TIMM_PREFIX = "timm/"  # model.name=timm/<any timm architecture>, e.g. timm/efficientnetv2_s


@dataclass
class DataConfig:
    dir: str = setting("data/demo", "Data directory holding train/ and eval/ (the demo dataset is generated "
                                    "there when it is the default and missing)")
    val_ratio: float = setting(0.2, "Share of people held out for validation (split by person)", min=0.05, max=0.5,
                               step=0.05)
    split_seed: int = setting(42, "Seed of the train/validation split by person", min=0)
    folds: int = setting(0, "K-fold by person: 0 or 1 = the plain split by data.val_ratio; K >= 2 = fold "
                            "data.fold of K is validation (stratified by gender and age band)", min=0, max=20)
    fold: int = setting(0, "Which fold of data.folds is the validation set (0..folds-1)", min=0, max=19)
    image_size: tuple = setting((256, 192), "Height, width the built-in pipelines resize to (and the JPEG "
                                            "draft decode aims at); at least 32: every model halves the image "
                                            "five times", kind="int_pair", min=32, max=1024)
    age_edges: tuple = setting(DEFAULT_AGE_EDGES, "Age band edges: young < first <= middle < second <= old",
                               kind="int_pair", min=MIN_AGE_EDGE, max=MAX_AGE_EDGE)


@dataclass
class AugmentConfig:
    train: str = setting("", "Training pipeline: an Albumentations file (A.save, YAML/JSON) or a preset name; "
                             "empty = Resize to data.image_size + Normalize")
    val: str = setting("", "Validation/inference pipeline (file or preset); empty = Resize + Normalize")


@dataclass
class ModelConfig:
    name: str = setting("resnet18", "Network: small_cnn for CPU demos, a torchvision backbone "
                                    f"({', '.join(MODEL_NAMES[1:])}), or timm/<name> for any timm architecture "
                                    "(checked before a run starts)")
    heads: str = setting("single", "single = one 18-way head; multi = mask, gender and age heads combined "
                                   "into the 18 classes", choices=("single", "multi"))
    pretrained: str = setting("", "Pretrained weights: empty = none; 'imagenet' = torchvision's download, or for "
                                  "timm/ models the Hugging Face cache (downloaded only where the machine can); "
                                  "or a file: .pth/.pt/.bin state dict or checkpoint (timm or torchvision), "
                                  ".safetensors")
    partial_load: bool = setting(False, "Load pretrained weights even when some of the model's tensors (other "
                                        "than the classifier) are not in the file; the log says how many matched")
    width: int = setting(32, "Channels of the first small_cnn block (doubles each block)", min=4, max=256)
    dropout: float = setting(0.2, "Dropout before the classifier", min=0.0, max=0.9, step=0.05)
    drop_path: float = setting(0.0, "Stochastic depth rate (timm models that have it: EfficientNet, ConvNeXt, "
                                    "ViT, Swin...); 0 = off", min=0.0, max=0.9, step=0.05)


@dataclass
class LossConfig:
    name: str = setting("ce", "ce = cross-entropy, focal, f1 = soft macro-F1, ce+f1 = both",
                        choices=("ce", "focal", "f1", "ce+f1"))
    label_smoothing: float = setting(0.0, "Label smoothing of ce/focal", min=0.0, max=0.5, step=0.05)
    focal_gamma: float = setting(2.0, "Focal loss exponent: higher = easy images weigh less", min=0.0, max=10.0)
    class_weights: str = setting("none", "Weight classes against imbalance: inverse or sqrt_inverse frequency",
                                 choices=("none", "inverse", "sqrt_inverse"))
    f1_weight: float = setting(1.0, "Weight of the F1 term in ce+f1", min=0.0, max=10.0)


@dataclass
class OptimConfig:
    name: str = setting("adamw", "Optimizer", choices=("adamw", "adam", "sgd"))
    lr: float = setting(1e-3, "Peak learning rate (typical: 1e-4 to 3e-3 for AdamW, 1e-2 to 1e-1 for SGD)",
                        min=1e-7, max=10.0, scale="log")
    weight_decay: float = setting(1e-4, "Weight decay (typical: 1e-5 to 5e-2)", min=0.0, max=1.0, scale="log")
    momentum: float = setting(0.9, "SGD momentum", min=0.0, max=0.999)
    grad_clip: float = setting(0.0, "Clip the gradient norm to this value; 0 = no clipping", min=0.0)


@dataclass
class SchedConfig:
    name: str = setting("cosine", "Learning-rate schedule: cosine decay, step decay, one-cycle, "
                                  "reduce on val-F1 plateau, or constant",
                        choices=("none", "cosine", "step", "onecycle", "plateau"))
    warmup_epochs: float = setting(0.0, "Linear warm-up from 0 over this many epochs (cosine/step/none)",
                                   min=0.0, max=100.0)
    min_lr: float = setting(0.0, "Lowest learning rate of cosine decay", min=0.0, scale="log")
    step_size: int = setting(10, "step: multiply the rate by gamma every this many epochs", min=1)
    gamma: float = setting(0.1, "step/plateau: factor applied to the rate", min=0.0, max=1.0)
    patience: int = setting(2, "plateau: epochs without val-F1 gain before lowering the rate", min=0)


@dataclass
class TrainConfig:
    epochs: int = setting(10, "Training epochs", min=1, max=1000)
    seed: int = setting(0, "Seed of model init, shuffling and augmentation", min=0, max=2**32 - 1)  # numpy's range
    device: str = setting("auto", "auto = CUDA when available, else CPU", choices=("auto", "cuda", "cpu"))
    amp: bool = setting(True, "Mixed precision on CUDA (bf16 when supported, else fp16 with loss scaling)")
    channels_last: bool = setting(True, "channels_last memory format on CUDA (faster convolutions)")
    compile: bool = setting(False, "torch.compile the model on CUDA (slow first epoch, faster after)")
    early_stop_patience: int = setting(0, "Stop after this many epochs without a better val F1; 0 = never", min=0)
    final_fit: bool = setting(False, "Train on every person (no validation split): best.pt is the last epoch; "
                                     "take the epoch count from an experiment's folds (its final_epochs)")
    log_every: int = setting(10, "Write a step line to metrics.jsonl every this many steps (the only times a "
                                 "step waits for the GPU; under torchrun also how often the ranks check for a "
                                 "cancel)", min=1)
    accum_steps: int = setting(1, "Gradient accumulation: one optimizer step every this many batches (effective "
                                  "batch = loader.batch_size x accum_steps x GPUs); the LR schedule counts "
                                  "optimizer steps", min=1, max=1024)
    ema: bool = setting(False, "Keep an exponential moving average of the weights (timm ModelEmaV3), validated "
                               "and checkpointed beside the raw weights")
    ema_decay: float = setting(0.999, "EMA decay per optimizer step, strictly between 0 and 1 (0.999 averages about "
                                      "the last 1000 steps)", min=0.0, max=1.0, step=0.0001)
    average: str = setting("none", "Weight averaging into averaged.pt: swa = average of the last "
                                   "train.average_epochs epochs' weights (BatchNorm recomputed), best = average of "
                                   "the train.average_epochs best checkpoints", choices=("none", "swa", "best"))
    average_epochs: int = setting(3, "Epochs (swa) or best checkpoints (best) averaged", min=2, max=100)
    noise_skip_epochs: int = setting(1, "Label-noise finder: ignore the first epochs (everything is wrong early)",
                                     min=0)
    noise_min_fraction: float = setting(0.5, "Label-noise finder: list images misclassified in more than this "
                                             "share of the counted epochs", min=0.0, max=1.0, step=0.05)


@dataclass
class RunConfig:
    root: str = setting("runs", "Folder of run directories ($MASKLAB_RUNS_DIR replaces the default 'runs')")
    name: str = setting("", "Run name; empty = <date-time>-<model>; a taken name gets -2, -3...")


@dataclass
class ExperimentConfig:
    data: DataConfig = field(default_factory=DataConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    loader: LoaderConfig = field(default_factory=LoaderConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    sched: SchedConfig = field(default_factory=SchedConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    run: RunConfig = field(default_factory=RunConfig)


SECTIONS = tuple(f.name for f in dataclasses.fields(ExperimentConfig))


def config_from_dict(data: dict | None) -> ExperimentConfig:
    config = section_from_dict(ExperimentConfig, data or {})
    check_model_name_form(config.model.name)
    return config


def check_model_name_form(name: str) -> None:
    """model.name is ours or timm/<name>; whether timm has that name is checked before a run starts
    (core.train.models.check_model_name: importing timm takes seconds, too slow for every page rerun)."""
    if name in MODEL_NAMES or (name.startswith(TIMM_PREFIX) and len(name) > len(TIMM_PREFIX)):
        return
    import difflib

    close = difflib.get_close_matches(name, MODEL_NAMES, n=3, cutoff=0.6)
    if close:
        raise ConfigError.of("errors_config.not_a_model_close", name=name, names=", ".join(MODEL_NAMES),
                             close=", ".join(close))
    raise ConfigError.of("errors_config.not_a_model", name=name, names=", ".join(MODEL_NAMES))


def config_to_dict(config: ExperimentConfig) -> dict:
    return section_to_dict(config)


class _ConfigDumper(yaml.SafeDumper):
    """Sections as blocks, short lists (image_size: [96, 72]) on one line."""


_ConfigDumper.add_representer(list, lambda dumper, data: dumper.represent_sequence(
    "tag:yaml.org,2002:seq", data, flow_style=True))


def config_to_yaml(config: ExperimentConfig) -> str:
    return yaml.dump(config_to_dict(config), Dumper=_ConfigDumper, sort_keys=False, default_flow_style=False)


def save_config(config: ExperimentConfig, path) -> Path:
    path = Path(path)
    path.write_text(config_to_yaml(config), encoding="utf-8")
    return path


def load_config(path=None, overrides=()) -> ExperimentConfig:
    """Defaults, then the YAML file at `path` (if any), then each "section.key=value" override."""
    data = {}
    if path is not None:
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as error:
            raise ConfigError.of("errors_config.cannot_read", path=path, reason=error.strerror) from None
        except yaml.YAMLError as error:
            raise ConfigError.of("errors_config.not_yaml", path=path, error=error) from None
        if not isinstance(data, dict):
            raise ConfigError.of("errors_config.not_sections", path=path, sections=", ".join(SECTIONS),
                                 kind=type(data).__name__)
    try:
        config = config_from_dict(data)
    except ConfigError as error:
        if path is None:
            raise
        raise ConfigError.of("errors_config.in_file", path=path, error=error) from None
    for override in overrides or ():
        config = apply_override(config, override)
    return config


def check_config(config: ExperimentConfig, warn=None) -> ExperimentConfig:
    """The checks that span several settings or the machine, made before a run directory exists.

    Returns the config to run: loader.num_workers above this machine's cores is lowered to the cores
    (with a line to `warn`), so that a server's config still runs on a laptop. Raises ConfigError naming
    the setting otherwise (train and val pipelines that make different sizes included).
    """
    from core.labels import check_age_edges
    from core.loader.validate import available_cores, validate_loader_config
    from core.errors import DataError

    try:
        check_age_edges(config.data.age_edges, name="data.age_edges")
    except DataError as error:  # the same words (and key, so a page shows them in its language) as a config error
        raise (ConfigError.of(error.key, **error.values) if error.key else ConfigError(str(error))) from None
    if not 0.0 < config.train.ema_decay < 1.0:
        raise ConfigError.of("errors_config.ema_decay", value=config.train.ema_decay)
    if config.train.average == "swa" and config.train.average_epochs > config.train.epochs:
        raise ConfigError.of("errors_config.average_epochs", average_epochs=config.train.average_epochs,
                             epochs=config.train.epochs)
    from core.train.models import check_model_name  # timm is imported only for a timm/ name

    check_model_name(config.model.name)
    if config.train.final_fit:
        # Each of these needs a validation score, and a final fit computes none.
        for key, needs_validation in (("sched.name", config.sched.name == "plateau"),
                                      ("train.early_stop_patience", config.train.early_stop_patience > 0),
                                      ("data.folds", config.data.folds > 1),
                                      ("train.average", config.train.average == "best")):
            if needs_validation:
                section, name = key.split(".")
                raise ConfigError.of("errors_config.needs_validation", setting=key,
                                     value=getattr(getattr(config, section), name))
    cores = available_cores()
    if config.loader.num_workers > cores:
        if warn is not None:
            warn(f"loader.num_workers: {config.loader.num_workers} is more than the {cores} CPU cores here; "
                 f"using {cores}")
        config = dataclasses.replace(config, loader=dataclasses.replace(config.loader, num_workers=cores))
    from core.train.pipeline_sizes import check_sizes

    check_sizes(config.augment.train, config.augment.val, config.data.image_size)
    # Under torchrun (WORLD_SIZE set) the distributed samplers are valid.
    validate_loader_config(config.loader, None, distributed=int(os.environ.get("WORLD_SIZE", "1")) > 1)
    return config


def find_param(key: str) -> Param:
    """The Param declared at a dotted key like 'train.epochs'; ConfigError naming the key if none."""
    section_name, _, name = key.partition(".")
    section_fields = {f.name: f for f in dataclasses.fields(ExperimentConfig)}
    if section_name not in section_fields or not name:
        raise ConfigError.of("errors_config.unknown_section", setting=key, sections=", ".join(SECTIONS))
    params = {p.name: p for p in params_of(section_fields[section_name].default_factory)}
    if name not in params:
        raise ConfigError.of("errors_config.unknown_key", setting=key, known=", ".join(params))
    return params[name]


def apply_override(config: ExperimentConfig, assignment: str) -> ExperimentConfig:
    """A new config with one "section.key=value" applied (value parsed as the key's type and checked)."""
    key, sep, text = assignment.partition("=")
    key = key.strip()
    if not sep:
        raise ConfigError.of("errors_config.not_assignment", assignment=assignment)
    value = find_param(key).parse(text, where=key)
    data = config_to_dict(config)
    section, name = key.split(".", 1)
    data[section][name] = value
    return config_from_dict(data)


def config_params() -> list[tuple[str, Param]]:
    """Every setting as ('section.key', Param), in declaration order: what a page draws widgets for."""
    return [(f"{f.name}.{p.name}", p) for f in dataclasses.fields(ExperimentConfig)
            for p in params_of(f.default_factory)]
