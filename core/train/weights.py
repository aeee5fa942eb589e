"""Pretrained weights without surprises offline: read a local file (a timm or torchvision state dict, a
checkpoint holding one, or .safetensors), or a timm model's weights from the Hugging Face cache when they
are already there; load them by name and shape and say how many tensors matched.

Why by hand rather than `timm.create_model(pretrained=True)`: that call downloads whatever is missing,
and on a machine without internet it fails deep inside huggingface_hub after a long timeout. Here a
missing file stops at once with one line naming what to download and where to put it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from core.errors import ConfigError

# Where a checkpoint dict keeps its weights: timm's train.py, our own run checkpoints, Lightning-style files.
STATE_KEYS = ("state_dict_ema", "model_ema", "state_dict", "model", "ema")
SAFETENSORS_NAME = "model.safetensors"


@dataclass
class WeightsReport:
    """Which weights a model got: shown in the run's log, its status.json and the Training page."""

    source: str
    matched: int
    total: int
    skipped: list

    def line(self) -> str:
        skipped = f"; not loaded: {', '.join(self.skipped[:4])}{' ...' if len(self.skipped) > 4 else ''}" \
            if self.skipped else ""
        return f"weights: {self.source} ({self.matched} of {self.total} tensors matched{skipped})"

    def to_dict(self) -> dict:
        return asdict(self)


def read_state_dict(path) -> dict:
    """The tensors of a weights file: .safetensors, or a torch file holding a state dict or a checkpoint."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError.of("errors_train.weights_not_file", file=file)
    try:
        if file.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(file), device="cpu")
        else:
            state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as error:  # torch and safetensors fail on a foreign file in many ways
        raise ConfigError.of("errors_train.weights_unreadable", file=file, error=str(error)) from None
    for key in STATE_KEYS:
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError.of("errors_train.weights_no_state", file=file)
    # DataParallel / DDP / torch.compile prefixes: the same tensors under another name.
    return {_strip_prefixes(k): v for k, v in state.items()}


def _strip_prefixes(key: str) -> str:
    for prefix in ("module.", "_orig_mod."):
        while key.startswith(prefix):
            key = key[len(prefix):]
    return key


def load_matching(model: nn.Module, state: dict, source: str, model_name: str, head: tuple = (),
                  allow_partial: bool = False) -> WeightsReport:
    """Copy the tensors of `state` whose name and shape fit `model`; returns what was loaded.

    Tensors under the `head` prefixes (the classifier, 18 outputs here against 1000 in ImageNet weights)
    may differ; any other tensor that does not fit stops the load unless `allow_partial`.
    """
    own = model.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    body = [k for k in own if not any(k == h or k.startswith(h + ".") for h in head)]
    missing = [k for k in body if k not in usable]
    if not usable or (missing and not allow_partial):
        counts = dict(source=source, matched=len(usable), total=len(own), model=model_name)
        if not missing:
            raise ConfigError.of("errors_train.weights_mismatch", **counts)
        key = missing[0]
        found = tuple(state[key].shape) if key in state else "absent"
        raise ConfigError.of("errors_train.weights_mismatch_example", **counts, key=key,
                             own_shape=tuple(own[key].shape), file_shape=found)
    model.load_state_dict(usable, strict=False)
    return WeightsReport(source=source, matched=len(usable), total=len(own),
                         skipped=[k for k in own if k not in usable])


def timm_cached_weights(name: str) -> Path:
    """The local file of a timm model's default pretrained weights: the Hugging Face cache, else a download
    where the machine can reach the Hub; else ConfigError saying what to download and where to put it."""
    import timm

    cfg = timm.models.get_pretrained_cfg(name)
    hub_id = getattr(cfg, "hf_hub_id", None) if cfg is not None else None
    if not hub_id:
        raise ConfigError.of("errors_train.timm_no_pretrained", name=name)
    from huggingface_hub import hf_hub_download, try_to_load_from_cache

    cached = try_to_load_from_cache(hub_id, SAFETENSORS_NAME)
    if isinstance(cached, str):
        return Path(cached)
    try:
        return Path(hf_hub_download(hub_id, SAFETENSORS_NAME, etag_timeout=5))
    except Exception as error:  # offline, proxy, DNS, HTTP: each means "not here"
        url = f"https://huggingface.co/{hub_id}/resolve/main/{SAFETENSORS_NAME}"
        raise ConfigError.of("errors_train.timm_not_cached", name=name, error=type(error).__name__, url=url,
                             file=SAFETENSORS_NAME, hub_id=hub_id) from None
