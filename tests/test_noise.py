"""The label-noise finder: evidence measured within each class, and fixes written only as the user chose them."""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.labels import encode
from core.train.noise import EVIDENCE_MIN, NoiseTracker, class_evidence, relabel_rows, still_suspect

EASY, HARD = encode(0, 1, 0), encode(1, 0, 2)  # wear/female/<30 (common) and incorrect/male/>=60 (rare)


def tracker_with_a_hard_class(epochs: int = 4):
    """20 easy images learnt well but one wrong throughout; 10 hard ones all wrong at a similar, high loss but
    one far above them."""
    rng = np.random.default_rng(0)
    labels = [EASY] * 20 + [HARD] * 10
    images = pd.DataFrame({"path": [f"train/images/p{i}/mask1.jpg" for i in range(30)], "label": labels})
    tracker = NoiseTracker(30)
    for _ in range(epochs):
        losses = np.concatenate([rng.uniform(0.05, 0.15, 20), rng.uniform(1.9, 2.5, 10)])
        predictions = np.array([EASY] * 20 + [HARD - 1] * 10)
        losses[5], predictions[5] = 3.0, HARD  # an easy image the model keeps calling something else
        losses[25] = 6.0                      # a hard image far worse than the other hard ones
        tracker.record_epoch(range(30), losses, predictions)
    return images, tracker


def test_a_hard_class_is_not_flagged_for_being_hard_only_its_outlier_is():
    images, tracker = tracker_with_a_hard_class()
    often_wrong = tracker.suspects(images, skip_epochs=1)  # what suspects.csv holds: every often-wrong image
    assert len(often_wrong) == 11  # every hard image plus the easy outlier
    assert set(often_wrong["path"].head(2)) == {"train/images/p5/mask1.jpg", "train/images/p25/mask1.jpg"}
    suspects = tracker.suspects(images, skip_epochs=1, evidence_min=EVIDENCE_MIN)
    assert set(suspects["path"]) == {"train/images/p5/mask1.jpg", "train/images/p25/mask1.jpg"}
    assert suspects["evidence"].is_monotonic_decreasing and (suspects["evidence"] >= 3).all()


def test_class_evidence_is_a_robust_score_within_the_class():
    losses = np.array([0.1, 0.2, 0.1, 0.3, 0.2, 2.0, 2.2, 1.8, 2.0, 2.1, np.nan])
    given = np.array([0] * 5 + [1] * 5 + [1])
    evidence = class_evidence(losses, given)
    assert np.isnan(evidence[-1])
    assert abs(evidence[0] - evidence[8]) < 1.0  # each at its class's typical loss: similar scores, not 0.1 vs 2.0
    assert evidence[5:10].max() < 3  # a hard class, none an outlier


def test_fixes_carry_only_the_values_chosen_and_never_an_age_not_typed():
    suspect = {"path": "train/images/p/normal.jpg", "given_label": encode(2, 0, 0), "predicted_label": encode(0, 1, 2)}
    assert relabel_rows(suspect, values={"mask": None, "gender": None, "age": None}) == []
    assert relabel_rows(suspect, values={"mask": 1, "gender": 0, "age": None}) == [
        {"path": "train/images/p/normal.jpg", "field": "mask", "value": 1}]  # gender 0 is the given one: no row
    assert relabel_rows(suspect, person=True, values={"age": 71}) == [
        {"path": "train/images/p", "field": "age", "value": 71}]
    # Without chosen values the model's mask and gender are taken; its age band is not turned into a year.
    assert [row["field"] for row in relabel_rows(suspect)] == ["mask", "gender"]


def test_a_suspect_whose_label_was_fixed_is_no_longer_one():
    suspects = pd.DataFrame({"path": ["a.jpg", "b.jpg", "gone.jpg"], "given_label": [3, 4, 5]})
    images = pd.DataFrame({"path": ["a.jpg", "b.jpg"], "label": [3, 9]})
    assert still_suspect(suspects, images).tolist() == [True, False, False]
