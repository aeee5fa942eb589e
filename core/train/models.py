"""`create_model(config)`: a small CNN for CPU demos, a torchvision backbone, or any timm model
(`timm/<name>`), with an 18-way head or three heads (mask, gender, age) combined into the 18 classes.
Pretrained weights come through core.train.weights (local files, the Hugging Face cache), never a
surprise download.

Every model returns 18 class scores. The three-head model returns joint log-probabilities
log p(mask) + log p(gender) + log p(age) in class order (6*mask + 3*gender + age): softmax of them is
the product of the heads' probabilities, and cross-entropy on them is the sum of the heads' losses.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from core.config import MODEL_NAMES, TIMM_PREFIX
from core.errors import ConfigError
from core.labels import NUM_CLASSES
from core.train.weights import WeightsReport, load_matching, read_state_dict, timm_cached_weights

TORCHVISION_MODELS = tuple(name for name in MODEL_NAMES if name != "small_cnn")  # the names live in core.config
HEADS = ("single", "multi")
HEAD_SIZES = (3, 2, 3)  # mask, gender, age


class SmallCNN(nn.Module):
    """A strided stem and four conv blocks with global pooling (~0.2M parameters at width 24):
    cheap enough to train on a laptop CPU in minutes, deep enough to see masks, hair and grey hair."""

    def __init__(self, out_features: int, width: int = 32, dropout: float = 0.2):
        super().__init__()
        layers = [nn.Conv2d(3, width, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
        channels = width
        for multiplier in (1, 2, 4, 8):
            out = width * multiplier
            layers += [nn.Conv2d(channels, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2)]
            channels = out
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels, out_features))

    def forward(self, x):
        return self.classifier(self.pool(self.features(x)))


class ThreeHeads(nn.Module):
    """A backbone emitting 3+2+3 scores; forward gives the 18 joint log-probabilities."""

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone

    def head_logits(self, x) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return torch.split(self.backbone(x), HEAD_SIZES, dim=1)

    def forward(self, x):
        mask, gender, age = (F.log_softmax(part.float(), dim=1) for part in self.head_logits(x))
        joint = mask[:, :, None, None] + gender[:, None, :, None] + age[:, None, None, :]
        return joint.reshape(x.shape[0], NUM_CLASSES)


def create_model(config) -> nn.Module:
    """The model of `config.model` (a ModelConfig), pretrained weights loaded when asked."""
    return build_model(config)[0]


def build_model(config) -> tuple[nn.Module, WeightsReport | None]:
    """(model, which pretrained weights it got, or None) for `config.model`."""
    out_features = NUM_CLASSES if config.heads == "single" else sum(HEAD_SIZES)
    check_model_name(config.name)
    report = None
    if config.name == "small_cnn":
        if config.pretrained:
            raise ConfigError.of("errors_train.small_cnn_pretrained")
        backbone = SmallCNN(out_features, width=config.width, dropout=config.dropout)
    elif config.name.startswith(TIMM_PREFIX):
        backbone, report = timm_backbone(config, out_features)
    else:
        backbone, report = torchvision_model(config.name, out_features, config.pretrained, config.dropout,
                                             config.partial_load)
    if config.drop_path and not config.name.startswith(TIMM_PREFIX):
        raise ConfigError.of("errors_train.no_drop_path", name=config.name)
    return (backbone if config.heads == "single" else ThreeHeads(backbone)), report


def timm_model_names() -> list[str]:
    """Every architecture timm can build, as model.name values (timm/<name>)."""
    import timm

    return [TIMM_PREFIX + name for name in timm.list_models()]


def search_timm_models(query: str, limit: int = 200) -> list[str]:
    """timm architectures whose name contains every word of `query` (timm/<name>), at most `limit`."""
    words = query.lower().replace("timm/", "").split()
    if not words:
        return []
    return [name for name in timm_model_names() if all(word in name[len(TIMM_PREFIX):] for word in words)][:limit]


def check_model_name(name: str) -> None:
    """ConfigError naming close matches when `name` is neither ours nor a timm architecture."""
    if name in MODEL_NAMES:
        return
    if name.startswith(TIMM_PREFIX):
        import timm

        if timm.is_model(name[len(TIMM_PREFIX):]):
            return
    import difflib

    known = list(MODEL_NAMES) + timm_model_names()
    bare = name[len(TIMM_PREFIX):] if name.startswith(TIMM_PREFIX) else name
    close = difflib.get_close_matches(name, known, n=4, cutoff=0.6) or \
        difflib.get_close_matches(TIMM_PREFIX + bare, known, n=4, cutoff=0.6)
    if close:
        raise ConfigError.of("errors_train.unknown_model_close", name=name, ours=", ".join(MODEL_NAMES),
                             close=", ".join(close))
    raise ConfigError.of("errors_train.unknown_model", name=name, ours=", ".join(MODEL_NAMES))


def timm_backbone(config, out_features: int) -> tuple[nn.Module, WeightsReport | None]:
    """timm.create_model without its download: weights come from a file or the Hugging Face cache."""
    import timm

    name = config.name[len(TIMM_PREFIX):]
    kwargs = {"num_classes": out_features, "drop_rate": config.dropout}
    if config.drop_path:
        kwargs["drop_path_rate"] = config.drop_path
    try:
        model = timm.create_model(name, pretrained=False, **kwargs)
    except TypeError as error:  # an architecture without stochastic depth refuses the keyword
        if "drop_path_rate" in str(error):
            raise ConfigError.of("errors_train.timm_no_drop_path", name=name) from None
        raise
    if not config.pretrained:
        return model, None
    path = timm_cached_weights(name) if config.pretrained == "imagenet" else Path(config.pretrained).expanduser()
    classifier = model.pretrained_cfg.get("classifier") or ()
    head = (classifier,) if isinstance(classifier, str) else tuple(classifier)
    report = load_matching(model, read_state_dict(path), str(path), config.name, head=head,
                           allow_partial=config.partial_load)
    return model, report


def torchvision_backbone(name: str, out_features: int, pretrained: str, dropout: float) -> nn.Module:
    return torchvision_model(name, out_features, pretrained, dropout)[0]


def torchvision_model(name: str, out_features: int, pretrained: str, dropout: float,
                      allow_partial: bool = False) -> tuple[nn.Module, WeightsReport | None]:
    import torchvision

    weights = imagenet_weights(name) if pretrained == "imagenet" else None
    model = torchvision.models.get_model(name, weights=weights)
    report = WeightsReport(f"torchvision {weights.name} ({weights.url})", len(model.state_dict()),
                           len(model.state_dict()), []) if weights is not None else None
    head = replace_head(model, out_features, dropout)
    if pretrained and pretrained != "imagenet":
        report = load_matching(model, read_state_dict(pretrained), str(Path(pretrained).expanduser()), name,
                               head=(head,), allow_partial=allow_partial)
    return model, report


def imagenet_weights(name: str):
    """torchvision's default ImageNet weights, downloaded now so a failure reads as one clear line."""
    import torchvision

    weights = torchvision.models.get_model_weights(name).DEFAULT
    try:
        weights.get_state_dict(progress=False, check_hash=True)  # cached in $TORCH_HOME after the first time
    except Exception as error:  # urllib/SSL/socket errors differ by platform; all mean "no weights"
        raise ConfigError.of("errors_train.imagenet_download", name=name, error=f"{type(error).__name__}: {error}",
                             url=weights.url, file=Path(weights.url).name) from None
    return weights


def replace_head(model: nn.Module, out_features: int, dropout: float) -> str:
    """Swap the last Linear layer (fc / classifier[-1]) for one with `out_features` outputs; returns its name."""
    parent, attribute, last, path = None, None, None, ""
    for module_name, module in model.named_modules():
        for child_name, child in module.named_children():
            if isinstance(child, nn.Linear):
                parent, attribute, last = module, child_name, child
                path = f"{module_name}.{child_name}" if module_name else child_name
    if last is None:
        raise ConfigError.of("errors_train.no_linear_head")
    head = nn.Linear(last.in_features, out_features)
    setattr(parent, attribute, nn.Sequential(nn.Dropout(dropout), head) if dropout and attribute == "fc" else head)
    return path
