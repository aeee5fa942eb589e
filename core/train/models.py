"""`create_model(config)`: a small CNN for CPU demos, or a torchvision backbone with an 18-way head
or three heads (mask, gender, age) combined into the 18 classes.

Every model returns 18 class scores. The three-head model returns joint log-probabilities
log p(mask) + log p(gender) + log p(age) in class order (6*mask + 3*gender + age): softmax of them is
the product of the heads' probabilities, and cross-entropy on them is the sum of the heads' losses.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from core.config import MODEL_NAMES
from core.errors import ConfigError
from core.labels import NUM_CLASSES

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
    out_features = NUM_CLASSES if config.heads == "single" else sum(HEAD_SIZES)
    if config.name == "small_cnn":
        if config.pretrained:
            raise ConfigError("model.pretrained: small_cnn has no pretrained weights; leave it empty")
        backbone = SmallCNN(out_features, width=config.width, dropout=config.dropout)
    elif config.name in TORCHVISION_MODELS:
        backbone = torchvision_backbone(config.name, out_features, config.pretrained, config.dropout)
    else:
        raise ConfigError(f"model.name: {config.name!r} is not one of {', '.join(MODEL_NAMES)}")
    return backbone if config.heads == "single" else ThreeHeads(backbone)


def torchvision_backbone(name: str, out_features: int, pretrained: str, dropout: float) -> nn.Module:
    import torchvision

    weights = imagenet_weights(name) if pretrained == "imagenet" else None
    model = torchvision.models.get_model(name, weights=weights)
    if pretrained and pretrained != "imagenet":
        load_weights_file(model, pretrained, name)
    replace_head(model, out_features, dropout)
    return model


def imagenet_weights(name: str):
    """torchvision's default ImageNet weights, downloaded now so a failure reads as one clear line."""
    import torchvision

    weights = torchvision.models.get_model_weights(name).DEFAULT
    try:
        weights.get_state_dict(progress=False, check_hash=True)  # cached in $TORCH_HOME after the first time
    except Exception as error:  # urllib/SSL/socket errors differ by platform; all mean "no weights"
        raise ConfigError(
            f"model.pretrained: cannot download the ImageNet weights of {name} ({type(error).__name__}: {error}). "
            f"This machine may be offline: download {weights.url} elsewhere and set "
            f"model.pretrained=/path/to/{Path(weights.url).name}, or leave model.pretrained empty") from None
    return weights


def load_weights_file(model: nn.Module, path: str, name: str) -> None:
    """Load a state dict (or a checkpoint holding one) into `model`; the classifier may differ."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(f"model.pretrained: {file} is not a file (give a .pth state dict, 'imagenet' or nothing)")
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ConfigError(f"model.pretrained: cannot read {file} as a PyTorch state dict ({error})") from None
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    own = model.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if len(usable) < len(own) // 2:
        raise ConfigError(f"model.pretrained: {file} matches only {len(usable)} of {len(own)} tensors of {name}; "
                          f"is it a {name} state dict?")
    model.load_state_dict(usable, strict=False)


def replace_head(model: nn.Module, out_features: int, dropout: float) -> None:
    """Swap the last Linear layer (fc / classifier[-1]) for one with `out_features` outputs."""
    parent, attribute, last = None, None, None
    for module_name, module in model.named_modules():
        for child_name, child in module.named_children():
            if isinstance(child, nn.Linear):
                parent, attribute, last = module, child_name, child
    if last is None:
        raise ConfigError("model.name: this model has no Linear classifier to replace")
    head = nn.Linear(last.in_features, out_features)
    setattr(parent, attribute, nn.Sequential(nn.Dropout(dropout), head) if dropout and attribute == "fc" else head)
