"""Losses on the 18 class scores: cross-entropy (with label smoothing), focal, soft macro-F1, and
class weights against the imbalance.

The three-head model returns joint log-probabilities, so cross-entropy on its 18 scores is exactly
the sum of the mask, gender and age cross-entropies; every loss here serves both model kinds.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.labels import NUM_CLASSES

LOSSES = ("ce", "focal", "f1", "ce+f1")
CLASS_WEIGHTS = ("none", "inverse", "sqrt_inverse")


def class_weights(labels, mode: str, num_classes: int = NUM_CLASSES) -> torch.Tensor | None:
    """Per-class weights from the training labels, normalised to mean 1; None for mode 'none'.

    Classes missing from the training set get the largest weight seen (they cannot hurt: no sample uses it).
    """
    if mode == "none":
        return None
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=num_classes).astype(np.float64)
    present = counts > 0
    weights = np.zeros(num_classes)
    weights[present] = 1.0 / counts[present]
    if mode == "sqrt_inverse":
        weights = np.sqrt(weights)
    weights[~present] = weights[present].max() if present.any() else 1.0
    weights = weights / weights[present].mean()
    return torch.tensor(weights, dtype=torch.float32)


class FocalLoss(nn.Module):
    """Cross-entropy scaled by (1 - p_true)^gamma: easy, well-classified images weigh less."""

    def __init__(self, gamma: float = 2.0, weight=None, label_smoothing: float = 0.0):
        super().__init__()
        self.gamma = gamma
        self.label_smoothing = label_smoothing
        self.register_buffer("weight", weight)

    def forward(self, logits, targets):
        log_probs = F.log_softmax(logits.float(), dim=1)
        ce = F.nll_loss(log_probs, targets, reduction="none")
        if self.label_smoothing:
            ce = (1 - self.label_smoothing) * ce - self.label_smoothing * log_probs.mean(dim=1)
        p_true = log_probs.gather(1, targets[:, None]).squeeze(1).exp()
        loss = (1 - p_true) ** self.gamma * ce
        if self.weight is not None:
            w = self.weight[targets]
            return (loss * w).sum() / w.sum()
        return loss.mean()


class SoftF1Loss(nn.Module):
    """1 - macro F1 computed on softmax probabilities: optimises the leaderboard metric directly."""

    def __init__(self, num_classes: int = NUM_CLASSES, epsilon: float = 1e-7):
        super().__init__()
        self.num_classes = num_classes
        self.epsilon = epsilon

    def forward(self, logits, targets):
        probs = F.softmax(logits.float(), dim=1)
        onehot = F.one_hot(targets, self.num_classes).float()
        tp = (probs * onehot).sum(0)
        fp = (probs * (1 - onehot)).sum(0)
        fn = ((1 - probs) * onehot).sum(0)
        f1 = 2 * tp / (2 * tp + fp + fn + self.epsilon)
        return 1 - f1.mean()


class CombinedLoss(nn.Module):
    def __init__(self, first: nn.Module, second: nn.Module, second_weight: float):
        super().__init__()
        self.first, self.second, self.second_weight = first, second, second_weight

    def forward(self, logits, targets):
        return self.first(logits, targets) + self.second_weight * self.second(logits, targets)


def create_loss(config, train_labels=None) -> nn.Module:
    """The loss of `config.loss` (a LossConfig); class weights come from `train_labels`."""
    weight = class_weights(train_labels, config.class_weights) if train_labels is not None else None
    if config.name == "ce":
        return nn.CrossEntropyLoss(weight=weight, label_smoothing=config.label_smoothing)
    if config.name == "focal":
        return FocalLoss(config.focal_gamma, weight=weight, label_smoothing=config.label_smoothing)
    if config.name == "f1":
        return SoftF1Loss()
    ce = nn.CrossEntropyLoss(weight=weight, label_smoothing=config.label_smoothing)
    return CombinedLoss(ce, SoftF1Loss(), config.f1_weight)
