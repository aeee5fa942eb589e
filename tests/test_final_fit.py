"""The final fit (train.final_fit): every person trains, no validation, best.pt = the last epoch; the
`experiment final` command takes its epoch count from the experiment's folds. Real tiny runs on generated JPEGs."""
from __future__ import annotations

import json
import re
import subprocess

import numpy as np
import pandas as pd
import pytest
import torch

from core.config import load_config
from core.errors import ConfigError
from core.experiments.queue import create_experiment, experiments_root, final_fit_config, read_queue, run_queue
from core.experiments.spec import make_spec
from core.train import runs
from core.train.checkpoints import load_checkpoint
from core.train.run_data import scan_run_images, split_run_images
from core.train.trainer import train_run
from tests.test_train_support import PYTHON, REPO, TINY_SETTINGS, generated_demo, subprocess_env, tiny_config

EPOCHS = 2


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return generated_demo(tmp_path_factory, people=12, eval_people=3, seed=3)


@pytest.fixture(scope="module")
def final_run(data_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("finalruns")
    config = tiny_config(data_dir, root, "train.final_fit=true", f"train.epochs={EPOCHS}", "run.name=final")
    return train_run(config, log=lambda text: None)


def _epoch_rows(run_dir) -> list[dict]:
    lines = (run_dir / runs.METRICS_FILE).read_text().splitlines()
    return [row for row in map(json.loads, lines) if row["kind"] == "epoch"]


def test_final_split_puts_every_image_in_training(data_dir, tmp_path):
    scan = scan_run_images(tiny_config(data_dir, tmp_path), data_dir)
    train, val = split_run_images(tiny_config(data_dir, tmp_path, "train.final_fit=true"), scan)
    assert len(val) == 0 and sorted(train["path"]) == sorted(scan.images["path"])
    plain_train, plain_val = split_run_images(tiny_config(data_dir, tmp_path), scan)
    assert len(plain_val) > 0 and len(plain_train) < len(scan.images)  # the plain split still holds people out


def test_final_fit_trains_on_every_image_and_keeps_the_last_epoch_as_best(final_run, data_dir, tmp_path):
    images = len(scan_run_images(tiny_config(data_dir, tmp_path), data_dir).images)
    status = runs.read_status(final_run)
    assert status["state"] == "finished" and status["best_val_f1"] is None and status["best_epoch"] == EPOCHS
    assert f"{images} train / 0 val images" in (final_run / runs.LOG_FILE).read_text()
    assert status["steps_per_epoch"] == -(-images // 16)  # batch 16, no drop_last: every image each epoch
    rows = _epoch_rows(final_run)
    assert [row["epoch"] for row in rows] == list(range(1, EPOCHS + 1))
    assert all(row["val_f1"] is None and row["val_loss"] is None and row["confusion"] is None for row in rows)
    assert all(row["train_loss"] > 0 for row in rows)
    best, last = load_checkpoint(final_run / runs.BEST_CHECKPOINT), load_checkpoint(final_run / runs.LAST_CHECKPOINT)
    assert best["epoch"] == last["epoch"] == EPOCHS
    assert all(torch.equal(best["model"][key], last["model"][key]) for key in last["model"])


def test_final_fit_run_predicts_a_valid_submission(final_run, data_dir):
    from core.data.layout import read_eval
    from core.train.predict import predict

    result = predict(final_run, data_dir=data_dir)
    submission = pd.read_csv(result["path"])
    assert result["epoch"] == EPOCHS and len(submission) == len(read_eval(data_dir)) == result["rows"]
    assert submission["ans"].between(0, 17).all()


def test_leaderboard_and_runs_page_show_a_final_fit_run(final_run, monkeypatch):
    from streamlit import config as st_config
    from streamlit.testing.v1 import AppTest

    from core.train.leaderboard import leaderboard

    board = leaderboard(final_run.parent)
    assert board["run"].tolist() == ["final"] and pd.isna(board["best val F1"][0])
    monkeypatch.setenv("MASKLAB_RUNS_DIR", str(final_run.parent))
    before = st_config.get_option("server.address")
    st_config.set_option("server.address", "127.0.0.1")  # local: no password gate
    try:
        at = AppTest.from_file(str(REPO / "pages" / "5_Runs.py"), default_timeout=60).run()
    finally:
        st_config.set_option("server.address", before)
    assert not at.exception, [e.value for e in at.exception]
    assert at.dataframe[0].value["run"].tolist() == ["final"]


@pytest.mark.parametrize("setting, key", [
    ("sched.name=plateau", "sched.name"),
    ("train.early_stop_patience=2", "train.early_stop_patience"),
    ("data.folds=3", "data.folds"),
])
def test_settings_that_need_validation_are_refused_before_a_run_directory(data_dir, tmp_path, setting, key):
    config = tiny_config(data_dir, tmp_path / "runs", "train.final_fit=true", setting)
    with pytest.raises(ConfigError, match=rf"^{re.escape(key)}: .*needs a validation set.*train\.final_fit"):
        train_run(config, log=lambda text: None)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_variant_cannot_set_final_fit():
    with pytest.raises(ConfigError, match="variant a: train.final_fit is set by the experiment itself"):
        make_spec("bad", load_config(), {"a": {"train.final_fit": "true"}})


def test_final_config_needs_finished_runs_or_epochs(data_dir, tmp_path):
    spec = make_spec("fresh", tiny_config(data_dir, tmp_path), {"plain": {}}, folds=2)
    folder = create_experiment(spec, root=tmp_path)
    with pytest.raises(ConfigError, match="--variant plain: no finished run .* pass --epochs N"):
        final_fit_config(folder, "plain")
    with pytest.raises(ConfigError, match="--variant other: not in experiment fresh"):
        final_fit_config(folder, "other", epochs=3)
    with pytest.raises(ConfigError, match="--epochs: 0 is below the minimum 1"):
        final_fit_config(folder, "plain", epochs=0)
    config = final_fit_config(folder, "plain", epochs=3)
    assert (config.train.final_fit, config.train.epochs, config.data.folds) == (True, 3, 0)
    assert config.run.name == "plain-final" and config.run.root == str(folder / "runs")


def test_final_command_trains_for_the_epochs_the_folds_chose(data_dir, tmp_path):
    """A 2-fold, 3-epoch experiment, then `experiment final`: the final run trains every image for the
    median of the fold runs' best epochs."""
    overrides = [*TINY_SETTINGS, f"data.dir={data_dir}", "train.epochs=3"]
    spec = make_spec("picked", load_config(overrides=overrides), {"plain": {}}, folds=2)
    folder = create_experiment(spec, root=tmp_path)
    items = run_queue(folder, log=lambda text: None)
    assert [item["state"] for item in items] == ["finished", "finished"]
    best_epochs = [runs.read_status(item["run_dir"])["best_epoch"] for item in read_queue(folder)]
    chosen = int(round(float(np.median(best_epochs))))
    command = [PYTHON, "-m", "core", "experiment", "final", "--root", str(tmp_path), "--name", "picked",
               "--variant", "plain"]
    done = subprocess.run(command, cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    run_dir = folder / "runs" / "plain-final"
    assert done.stdout.strip() == str(run_dir)
    config = load_config(run_dir / runs.CONFIG_FILE)
    assert config.train.final_fit and config.train.epochs == chosen and config.data.folds == 0
    assert [row["epoch"] for row in _epoch_rows(run_dir)] == list(range(1, chosen + 1))
    assert load_checkpoint(run_dir / runs.BEST_CHECKPOINT)["epoch"] == chosen
    assert experiments_root(tmp_path) / "picked" == folder and len(read_queue(folder)) == 2  # not queued


def test_final_command_refuses_an_unfinished_experiment_in_one_line(data_dir, tmp_path):
    spec = make_spec("empty", tiny_config(data_dir, tmp_path), {"plain": {}}, folds=2)
    create_experiment(spec, root=tmp_path)
    command = [PYTHON, "-m", "core", "experiment", "final", "--root", str(tmp_path), "--name", "empty",
               "--variant", "plain"]
    done = subprocess.run(command, cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "no finished run" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_experiments_and_searches_refuse_a_final_fit_base_or_key(tmp_path):
    from core.experiments.search import check_space, create_search

    final = load_config(overrides=["train.final_fit=true"])
    with pytest.raises(ConfigError, match="base: train.final_fit=true leaves no validation"):
        make_spec("bad", final, {"a": {}})
    with pytest.raises(ConfigError, match="search space: train.final_fit leaves no validation"):
        check_space({"train.final_fit": {"choices": [True, False]}})
    with pytest.raises(ConfigError, match="base: train.final_fit=true leaves no validation"):
        create_search("bad", final, {"optim.lr": {"low": 1e-4, "high": 1e-2}}, root=tmp_path)
    assert not any(tmp_path.iterdir())  # no study storage was created
