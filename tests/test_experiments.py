"""Experiments (core/experiments/): checked specs, the paired comparison, an A/B experiment through the CLI
with its out-of-fold predictions, and ensembles — on real generated JPEGs and real (tiny) training runs."""
from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest
import yaml

from core.config import load_config
from core.errors import ConfigError
from core.experiments.compare import paired_bootstrap, verdict
from core.experiments.queue import create_experiment, experiments_root, read_queue
from core.experiments.spec import make_spec
from core.labels import NUM_CLASSES
from tests.test_train_support import (PYTHON, REPO, TINY_SETTINGS, flip_pipeline_file, generated_demo,
                                     subprocess_env, tiny_config)


# ----- the paired comparison on constructed predictions -----------------------------------------------
def _predictions(labels, accuracy, rng):
    """Right with probability `accuracy`, else a random other class."""
    wrong = (labels + rng.integers(1, NUM_CLASSES, len(labels))) % NUM_CLASSES
    return np.where(rng.random(len(labels)) < accuracy, labels, wrong)


def test_paired_bootstrap_calls_a_real_difference():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, NUM_CLASSES, 900)
    a = [_predictions(labels, 0.55, rng) for _ in range(2)]
    b = [_predictions(labels, 0.75, rng) for _ in range(2)]
    result = paired_bootstrap(labels, a, b, n_boot=300)
    assert result["significant"] and 0.1 < result["difference"] < 0.3
    assert 0 < result["low"] < result["difference"] < result["high"]
    assert verdict("A", "B", result).startswith("B beats A by 0.")
    flipped = paired_bootstrap(labels, b, a, n_boot=300)
    assert verdict("B", "A", flipped).startswith("B beats A by")  # the winner is named whichever side it is


def test_paired_bootstrap_calls_pure_noise_within_noise():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, NUM_CLASSES, 900)
    # Two independent draws of the same model quality: any difference is noise.
    result = paired_bootstrap(labels, [_predictions(labels, 0.6, rng)], [_predictions(labels, 0.6, rng)], n_boot=300)
    assert not result["significant"] and result["low"] < 0 < result["high"]
    assert "within noise" in verdict("A", "B", result)


def test_the_verdict_is_in_the_language_of_the_page(monkeypatch):
    result = {"difference": -0.031, "low": -0.05, "high": -0.012, "level": 0.95, "significant": True}
    noise = {**result, "difference": 0.004, "low": -0.01, "high": 0.02, "significant": False}
    assert verdict("A", "B", result) == "A beats B by 0.031 (95% interval 0.012-0.050)"  # the CLI's words
    monkeypatch.setenv("MASKLAB_LANG", "ko")  # what the session's choice does on a page
    assert verdict("A", "B", result) == "A이(가) B보다 F1이 0.031 높습니다 (95% 구간 0.012-0.050)"
    assert verdict("A", "B", noise) == "A 대 B: 잡음 범위 안입니다 (차이 +0.004, 95% 구간 -0.010 ~ +0.020)"


def test_paired_bootstrap_pairs_images_so_a_shared_hard_subset_does_not_hide_a_small_gain():
    """B = A with 40 more images right: an unpaired test would drown that in the images both miss."""
    rng = np.random.default_rng(2)
    labels = rng.integers(0, NUM_CLASSES, 1200)
    a = _predictions(labels, 0.5, rng)
    b = a.copy()
    fixable = np.flatnonzero(a != labels)[:120]
    b[fixable] = labels[fixable]
    assert paired_bootstrap(labels, [a], [b], n_boot=300)["significant"]


# ----- bad input stops before anything is queued --------------------------------------------------------
@pytest.mark.parametrize("variants, message", [
    ({"a": {"optim.lrr": "0.1"}}, "variant a: unknown key optim.lrr"),
    ({"a": {"optim.lr": "fast"}}, "variant a: optim.lr: 'fast' is not a valid float"),
    ({"a": {"loss.name": "hinge"}}, "variant a: loss.name: 'hinge' is not one of"),
    ({"a": {"data.fold": "1"}}, "variant a: data.fold is set by the experiment itself"),
    ({}, "variants: an experiment needs at least one variant"),
    ({"a b": {}}, "variant name: 'a b' must be letters"),
])
def test_bad_variants_are_one_line_errors(variants, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        make_spec("bad", load_config(), variants)


def test_missing_pipeline_file_is_named_and_nothing_is_queued(tmp_path):
    spec = make_spec("pipes", load_config(), {"a": {}, "b": {"augment.train": str(tmp_path / "nope.json")}}, folds=2)
    with pytest.raises(ConfigError, match="variant b: .*nope.json"):
        create_experiment(spec, root=tmp_path)
    assert not (experiments_root(tmp_path) / "pipes").exists()


def test_bad_folds_and_seeds_are_named():
    with pytest.raises(ConfigError, match="folds: 25 is out of range"):
        make_spec("folds", load_config(), {"a": {}}, folds=25)
    with pytest.raises(ConfigError, match=re.escape("seeds: [1, 1] must be distinct")):
        make_spec("seeds", load_config(), {"a": {}}, seeds=[1, 1])


# ----- an A/B experiment end to end through the CLI -----------------------------------------------------
@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return generated_demo(tmp_path_factory, people=24, eval_people=3, seed=5)


@pytest.fixture(scope="module")
def ab_experiment(data_dir, tmp_path_factory):
    """Two pipelines x 2 folds x 1 seed, 1 epoch each, plus a variant whose runs fail at start (weights
    asked for a model that has none): run by `python -m core experiment create ... --start foreground`."""
    root = tmp_path_factory.mktemp("exproot")
    flip = flip_pipeline_file(root / "flip.json", image_size=(48, 36))
    base = [f"--set={s}" for s in [*TINY_SETTINGS, f"data.dir={data_dir}", "train.epochs=1"]]
    command = [PYTHON, "-m", "core", "experiment", "create", "--root", str(root), "--name", "ab", *base,
               "--variant", "plain", "--variant", "flip", f"augment.train={flip}",
               "--variant", "broken", f"model.pretrained={root / 'missing.pth'}", "--folds", "2",
               "--start", "foreground"]
    done = subprocess.run(command, cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    return root, experiments_root(root) / "ab", done


def test_ab_experiment_runs_every_item_and_a_crash_does_not_stop_the_queue(ab_experiment):
    _, folder, done = ab_experiment
    states = {item["name"]: item["state"] for item in read_queue(folder)}
    assert states == {"plain-f0-s0": "finished", "plain-f1-s0": "finished", "flip-f0-s0": "finished",
                      "flip-f1-s0": "finished", "broken-f0-s0": "failed", "broken-f1-s0": "failed"}
    broken = [item for item in read_queue(folder) if item["variant"] == "broken"]
    assert all("model.pretrained: small_cnn has no pretrained weights" in item["error"] for item in broken)
    for item in read_queue(folder):  # ordinary run directories, grouped under the experiment
        if item["state"] == "finished":
            config = load_config(f"{item['run_dir']}/config.yaml")
            assert (config.data.folds, config.data.fold, config.train.seed) == (2, item["fold"], item["seed"])


def test_out_of_fold_predictions_cover_every_image_exactly_once(ab_experiment, data_dir):
    from core.data.layout import scan_train
    from core.experiments.compare import collect_predictions
    from core.experiments.oof import out_of_fold

    _, folder, _ = ab_experiment
    every_image = sorted(scan_train(data_dir).images["path"])
    for variant, seeds in collect_predictions(read_queue(folder)).items():
        parts = seeds[0]
        assert len(parts) == 2
        assert not set(parts[0]["paths"]) & set(parts[1]["paths"])
        oof = out_of_fold(parts)
        assert list(oof["paths"]) == every_image, variant
        assert np.allclose(oof["probs"].sum(1), 1, atol=1e-4)


def test_compare_reports_spread_oof_and_a_verdict(ab_experiment):
    root, _, _ = ab_experiment
    done = subprocess.run([PYTHON, "-m", "core", "experiment", "compare", "ab", "--root", str(root), "--json",
                           "--bootstrap", "200"], cwd=REPO, env=subprocess_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    rows = {row["variant"]: row for row in result["variants"]}
    assert rows["plain"]["runs"] == 2 and rows["broken"]["runs"] == 0 and rows["broken"]["oof_f1"] is None
    assert rows["plain"]["f1_min"] <= rows["plain"]["f1_mean"] <= rows["plain"]["f1_max"]
    assert len(rows["flip"]["per_class_f1"]) == NUM_CLASSES
    assert rows["plain"]["final_epochs"] == 1 and rows["broken"]["final_epochs"] is None  # 1-epoch runs
    [pair] = result["pairs"]
    assert (pair["a"], pair["b"]) == ("plain", "flip") and pair["images"] == 24 * 7
    assert pair["low"] <= pair["difference"] <= pair["high"]
    assert pair["verdict"].startswith(("plain vs flip: within noise", "plain beats flip", "flip beats plain"))


def test_status_names_the_failed_runs(ab_experiment):
    root, _, _ = ab_experiment
    done = subprocess.run([PYTHON, "-m", "core", "experiment", "status", "ab", "--root", str(root)], cwd=REPO,
                          env=subprocess_env(), capture_output=True, text=True)
    assert done.returncode == 0 and "4 finished, 2 failed" in done.stdout
    assert "broken-f0-s0" in done.stdout and "model.pretrained" in done.stdout


def test_an_existing_experiment_name_is_refused(ab_experiment):
    root, folder, _ = ab_experiment
    with pytest.raises(ConfigError, match="experiment ab: .* already exists"):
        create_experiment(make_spec("ab", load_config(), {"a": {}}), root=root)


# ----- ensembles ----------------------------------------------------------------------------------------
def test_ensemble_of_two_runs_is_the_mean_of_their_probabilities(ab_experiment, data_dir, tmp_path):
    from core.experiments.ensemble import ensemble_members, eval_probabilities, run_ensemble
    from core.train.submission import validate_submission

    _, folder, _ = ab_experiment
    members = [f"{folder}/runs/plain-f0-s0", f"{folder}/runs/flip-f1-s0"]
    result = run_ensemble(ensemble_members(members, weights=[3, 1]), out=tmp_path / "submission.csv")
    expected = (3 * eval_probabilities(members[0]) + eval_probabilities(members[1])) / 4
    saved = np.load(tmp_path / "probs.npy")
    assert np.allclose(saved, expected, atol=1e-5)
    submission = validate_submission(tmp_path / "submission.csv", data_dir=data_dir)
    assert (submission["ans"].to_numpy() == saved.argmax(1)).all()
    assert result["val_f1"] is not None and result["val_images"] == 24 * 7  # two folds: every image once


def test_ensemble_of_a_variants_folds_reports_its_out_of_fold_f1(ab_experiment, tmp_path):
    from core.experiments.compare import compare_experiment
    from core.experiments.ensemble import ensemble_members, run_ensemble

    root, folder, _ = ab_experiment
    result = run_ensemble(ensemble_members(experiment="ab", variant="plain", root=root), out=tmp_path / "s.csv")
    plain = {row["variant"]: row for row in compare_experiment(folder, n_boot=10)["variants"]}["plain"]
    assert len(result["members"]) == 2 and result["val_f1"] == pytest.approx(plain["oof_f1"])


def test_ensemble_refuses_runs_with_other_image_sizes_or_age_edges(ab_experiment, tmp_path):
    from core.experiments.ensemble import check_compatible, ensemble_members

    root, folder, _ = ab_experiment
    other = tmp_path / "other-run"
    shutil.copytree(f"{folder}/runs/plain-f0-s0", other)
    config = yaml.safe_load((other / "config.yaml").read_text())
    config["data"]["age_edges"] = [30, 58]
    (other / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match=f"{other}: trained with data.age_edges=\\[30, 58\\]"):
        check_compatible(ensemble_members([f"{folder}/runs/plain-f1-s0", str(other)]))
    with pytest.raises(ConfigError, match="--variant: 'nope' is not a variant of experiment ab"):
        ensemble_members(experiment="ab", variant="nope", root=root)


# ----- cancel, then resume the queue ----------------------------------------------------------------------
def test_cancel_stops_the_running_run_resumably_and_run_resumes_it(data_dir, tmp_path):
    import time

    from core.experiments.queue import (cancel_experiment, experiment_progress, run_queue, runner_pid,
                                        start_runner)
    from core.train import runs

    config = tiny_config(data_dir, tmp_path, "train.epochs=500")  # far more than a test waits for
    folder = create_experiment(make_spec("long", config, {"a": {}}, folds=0), root=tmp_path)
    start_runner(folder)
    [item] = read_queue(folder)
    deadline = time.monotonic() + 300
    while int(runs.read_status(item["run_dir"]).get("epoch") or 0) < 1:
        assert time.monotonic() < deadline, (folder / "runner.log").read_text()
        time.sleep(0.5)
    assert cancel_experiment(folder) == ["a-f0-s0"]
    while runner_pid(folder):
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert experiment_progress(folder)["state"] == "cancelled"
    assert read_queue(folder)[0]["state"] == "cancelled"
    status = runs.read_status(item["run_dir"])
    assert status["state"] == "cancelled" and (tmp_path / "experiments/long/runs/a-f0-s0/last.pt").exists()

    # Shorten the run so that the resumed queue ends now; the run continues in its own directory.
    saved = yaml.safe_load(open(f"{item['run_dir']}/config.yaml"))
    saved["train"]["epochs"] = int(status["epoch"]) + 1
    open(f"{item['run_dir']}/config.yaml", "w").write(yaml.safe_dump(saved))
    [done] = run_queue(folder, log=lambda text: None)
    assert done["state"] == "finished" and done["run_dir"] == item["run_dir"]
    epochs = [record["epoch"] for record in runs.read_metrics(item["run_dir"], "epoch")]
    assert epochs == list(range(1, int(status["epoch"]) + 2))  # one uninterrupted history
