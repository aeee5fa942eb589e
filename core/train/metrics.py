"""Validation metrics in numpy (no sklearn): confusion matrix, per-class F1, macro F1, accuracy.

Macro F1 averages over the classes present in the truth or the predictions — what
`sklearn.metrics.f1_score(average="macro")` does, and so what the leaderboard computes. Per-class F1
lists all classes; a class neither present nor predicted reads 0.0 there.
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
    true_positive = np.diag(confusion).astype(np.float64)
    support = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    denominator = support + predicted
    return np.divide(2 * true_positive, denominator, out=np.zeros_like(true_positive), where=denominator > 0)


def macro_f1(targets, predictions, num_classes: int = NUM_CLASSES) -> float:
    return classification_metrics(targets, predictions, num_classes)["f1"]


def accuracy(targets, predictions) -> float:
    targets = np.asarray(targets).ravel()
    return float((targets == np.asarray(predictions).ravel()).mean()) if len(targets) else 0.0


def classification_metrics(targets, predictions, num_classes: int = NUM_CLASSES) -> dict:
    """{accuracy, f1 (macro), per_class_f1 [num_classes], confusion [[...]]} as plain JSON-safe values."""
    confusion = confusion_matrix(targets, predictions, num_classes)
    f1 = per_class_f1(confusion)
    present = (confusion.sum(axis=0) + confusion.sum(axis=1)) > 0
    return {
        "accuracy": accuracy(targets, predictions),
        "f1": float(f1[present].mean()) if present.any() else 0.0,
        "per_class_f1": [round(float(v), 6) for v in f1],
        "confusion": confusion.tolist(),
    }
