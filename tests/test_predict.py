"""Inference: a trained run writes a valid submission in info.csv order that scores above chance."""
from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest

from core.config import load_config
from core.errors import ConfigError
from core.labels import NUM_CLASSES
from core.train.metrics import classification_metrics
from core.train.predict import predict
from core.train.submission import validate_submission
from tests.test_train_support import DEMO40_EVAL_PEOPLE, PYTHON, REPO, demo40_dir, subprocess_env, trained_run

TRUTH_FILE = ".masklab-demo-eval-truth.csv"


def _truth_and_answers(submission_path, data_dir) -> tuple[np.ndarray, np.ndarray]:
    truth = pd.read_csv(data_dir / TRUTH_FILE, dtype={"ImageID": str})
    submission = pd.read_csv(submission_path, dtype={"ImageID": str})
    merged = truth.merge(submission, on="ImageID", suffixes=("_true", "_pred"))
    assert len(merged) == len(truth)
    return merged["ans_true"].to_numpy(), merged["ans_pred"].to_numpy()


def _luck_ceiling(truth: np.ndarray, draws: int = 2000) -> dict:
    """The 99.9th percentile of the grader's F1 and of accuracy over answers that learned nothing from the
    images but know the eval set's exact class mix (shuffles of the true answers)."""
    rng = np.random.default_rng(0)
    scores = [classification_metrics(truth, rng.permutation(truth)) for _ in range(draws)]
    return {key: float(np.quantile([s[key] for s in scores], 0.999)) for key in ("f1", "accuracy")}


def test_predict_writes_a_valid_submission_that_beats_chance(tmp_path_factory):
    run_dir, data_dir = trained_run(tmp_path_factory), demo40_dir(tmp_path_factory)
    result = predict(run_dir, data_dir, tta=True)
    path = run_dir / "submission.csv"
    assert result["path"] == str(path) and result["rows"] == 7 * DEMO40_EVAL_PEOPLE and result["tta"]
    submission = validate_submission(path, data_dir)
    info = pd.read_csv(data_dir / "eval" / "info.csv", dtype=str)
    assert list(submission["ImageID"]) == list(info["ImageID"])
    assert submission["ans"].between(0, NUM_CLASSES - 1).all()
    truth, answers = _truth_and_answers(path, data_dir)
    score, luck = classification_metrics(truth, answers), _luck_ceiling(truth)
    # The trained model scores about twice the luck ceiling (0.30-0.32 against 0.15); one that learned nothing
    # stays under it in 999 of 1000 draws.
    assert score["f1"] > luck["f1"] and score["accuracy"] > luck["accuracy"], (score["f1"], luck)


def test_cli_predict_with_the_last_checkpoint_to_a_chosen_file(tmp_path_factory, tmp_path):
    run_dir, data_dir = trained_run(tmp_path_factory), demo40_dir(tmp_path_factory)
    out = tmp_path / "out" / "sub.csv"
    result = subprocess.run([PYTHON, "-m", "core", "predict", "--run", str(run_dir), "--data-dir", str(data_dir),
                             "--out", str(out), "--checkpoint", "last"], cwd=REPO, env=subprocess_env(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    validate_submission(out, data_dir)


def test_predict_rejects_an_unknown_checkpoint(tmp_path_factory):
    with pytest.raises(ConfigError, match="best or last"):
        predict(trained_run(tmp_path_factory), demo40_dir(tmp_path_factory), checkpoint="middle")


def test_a_damaged_checkpoint_is_named_with_the_next_step(tmp_path_factory, tmp_path):
    import shutil
    run_dir = tmp_path / "copy"
    shutil.copytree(trained_run(tmp_path_factory), run_dir)
    (run_dir / "last.pt").write_bytes((run_dir / "last.pt").read_bytes()[:200])  # a killed copy
    with pytest.raises(ConfigError, match=r"last\.pt: cannot be read as a checkpoint .*use this run's best\.pt"):
        predict(run_dir, demo40_dir(tmp_path_factory), checkpoint="last")


def test_predict_to_an_existing_directory_is_refused_without_stray_files(tmp_path_factory, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ConfigError, match=r"--out .*out: is a directory"):
        predict(trained_run(tmp_path_factory), demo40_dir(tmp_path_factory), out=out)
    assert list(out.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_flip_tta_is_the_mean_of_the_plain_and_the_flipped_probabilities(tmp_path_factory):
    import albumentations as A

    from core.train.inputs import IMAGENET_MEAN, IMAGENET_STD
    from core.train.predict import load_run_model, predict_scores
    from core.train.run_data import create_loader_for, create_val_dataset

    model, config, _ = load_run_model(trained_run(tmp_path_factory), "best")
    device = next(model.parameters()).device
    dataset = create_val_dataset(config, demo40_dir(tmp_path_factory))
    loader = create_loader_for(dataset, config, train=False)
    plain = predict_scores(model, loader, device)
    tta = predict_scores(model, loader, device, tta=True)
    height, width = config.data.image_size
    # The mirror image made by the pipeline, not by the model's input tensor.
    dataset.transform = A.Compose([A.Resize(height, width), A.HorizontalFlip(p=1.0),
                                   A.Normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD)])
    mirrored = predict_scores(model, create_loader_for(dataset, config, train=False), device)
    assert not np.allclose(plain, mirrored, atol=1e-4)  # the flip changes what the model sees
    assert np.allclose(tta, (plain + mirrored) / 2, atol=1e-5)


def test_validation_scores_of_a_run_are_probabilities_that_give_its_best_epoch_accuracy(tmp_path_factory):
    from core.data.layout import scan_train
    from core.data.split import split_by_profile
    from core.train import runs
    from core.train.predict import predict_val_scores

    run_dir, data_dir = trained_run(tmp_path_factory), demo40_dir(tmp_path_factory)
    result = predict_val_scores(run_dir, "best")
    config = load_config(run_dir / "config.yaml")
    _, val_images = split_by_profile(scan_train(data_dir).images, config.data.val_ratio, config.data.split_seed)
    assert list(result["paths"]) == list(val_images["path"])
    assert np.array_equal(result["labels"], val_images["label"].to_numpy())
    assert result["scores"].shape == (len(val_images), NUM_CLASSES)
    assert np.allclose(result["scores"].sum(1), 1.0, atol=1e-5)
    best = next(row for row in runs.read_metrics(run_dir, "epoch") if row["epoch"] == result["epoch"])
    accuracy = float((result["scores"].argmax(1) == result["labels"]).mean())
    assert accuracy == pytest.approx(best["val_acc"], abs=1e-6)
