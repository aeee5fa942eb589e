"""Validation metrics in numpy (no sklearn): confusion matrix, per-class F1, macro F1, accuracy.

"macro F1" (`f1`) is the grader's: the mean F1 over ALL classes 0..num_classes-1, a class with no true
and no predicted image counting as 0 — `sklearn.metrics.f1_score(labels=range(18), average="macro",
zero_division=0)`. So a validation set that lacks a class scores below 1 even when every image is right;
that is what the leaderboard does. `f1_present` (the mean over the classes seen in the truth or the
predictions, sklearn's default without `labels`) is kept beside it for reading small validation sets.
"""
from __future__ import annotations

import numpy as np

from core.labels import NUM_CLASSES


def confusion_matrix(targets, predictions, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Counts [true class, predicted class]."""
    targets = np.asarray(targets, dtype=np.int64).ravel()
    predictions = np.asarray(predictions, dtype=np.int64).ravel()
    if targets.shape != predictions.shape:
        raise ValueError(f"{len(targets)} targets but {len(predictions)} predictions")
    flat = np.bincount(targets * num_classes + predictions, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def per_class_f1(confusion: np.ndarray) -> np.ndarray:
    """F1 of each class; 0.0 where the class has neither true nor predicted images (zero_division=0)."""
    true_positive = np.diag(confusion).astype(np.float64)
    support = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    denominator = support + predicted
    return np.divide(2 * true_positive, denominator, out=np.zeros_like(true_positive), where=denominator > 0)


def macro_f1(targets, predictions, num_classes: int = NUM_CLASSES) -> float:
    """The grader's macro F1: mean over all num_classes classes, absent ones counting 0."""
    return classification_metrics(targets, predictions, num_classes)["f1"]


def accuracy(targets, predictions) -> float:
    targets = np.asarray(targets).ravel()
    return float((targets == np.asarray(predictions).ravel()).mean()) if len(targets) else 0.0


def classification_metrics(targets, predictions, num_classes: int = NUM_CLASSES) -> dict:
    """{accuracy, f1 (the grader's macro F1), f1_present, per_class_f1 [num_classes], confusion} as JSON-safe values."""
    confusion = confusion_matrix(targets, predictions, num_classes)
    f1 = per_class_f1(confusion)
    present = (confusion.sum(axis=0) + confusion.sum(axis=1)) > 0
    return {
        "accuracy": accuracy(targets, predictions),
        "f1": float(f1.mean()),
        "f1_present": float(f1[present].mean()) if present.any() else 0.0,
        "per_class_f1": [round(float(v), 6) for v in f1],
        "confusion": confusion.tolist(),
    }
