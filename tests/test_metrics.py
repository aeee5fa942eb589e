"""Macro F1 is the grader's: sklearn f1_score(labels=range(18), average="macro", zero_division=0), by hand."""
from __future__ import annotations

import numpy as np
import pytest

from core.labels import NUM_CLASSES
from core.train.metrics import classification_metrics, confusion_matrix, macro_f1


def test_metrics_match_a_hand_computed_example():
    targets = [0, 0, 1, 1, 2, 2]
    predictions = [0, 1, 1, 1, 2, 0]
    result = classification_metrics(targets, predictions, num_classes=3)
    # class 0: tp1 fp1 fn1 -> 0.5; class 1: tp2 fp1 fn0 -> 0.8; class 2: tp1 fp0 fn1 -> 2/3
    assert result["per_class_f1"] == pytest.approx([0.5, 0.8, 2 / 3], abs=1e-6)
    assert result["f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert result["accuracy"] == pytest.approx(4 / 6)
    assert result["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]


def test_a_class_never_present_counts_as_zero_in_the_macro_average():
    # The same images with a 4th class that is neither true nor predicted: the grader still averages over it.
    result = classification_metrics([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0], num_classes=4)
    assert result["per_class_f1"] == pytest.approx([0.5, 0.8, 2 / 3, 0.0], abs=1e-6)
    assert result["f1"] == pytest.approx((0.5 + 0.8 + 2 / 3 + 0.0) / 4)
    assert result["f1_present"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)


def test_a_class_predicted_but_never_true_scores_zero_and_is_averaged():
    # class 0: tp1 fn1 -> 2/3; class 1: 1.0; class 2: predicted once, never true -> 0; class 3 absent -> 0
    result = classification_metrics([0, 0, 1], [0, 2, 1], num_classes=4)
    assert result["per_class_f1"] == pytest.approx([2 / 3, 1.0, 0.0, 0.0], abs=1e-6)
    assert result["f1"] == pytest.approx((2 / 3 + 1.0) / 4)
    assert result["f1_present"] == pytest.approx((2 / 3 + 1.0 + 0.0) / 3)


def test_perfect_predictions_of_two_classes_score_two_eighteenths_over_all_labels():
    result = classification_metrics([0, 5, 5], [0, 5, 5])
    assert result["f1"] == pytest.approx(2 / NUM_CLASSES)  # the grader averages over all 18 labels
    assert result["f1_present"] == 1.0 and result["accuracy"] == 1.0
    assert macro_f1([0, 5, 5], [0, 5, 5]) == result["f1"]
    assert len(result["per_class_f1"]) == NUM_CLASSES
    assert np.asarray(confusion_matrix([3], [4])).sum() == 1


def test_every_class_right_scores_one():
    labels = list(range(NUM_CLASSES)) * 2
    assert classification_metrics(labels, labels)["f1"] == 1.0
