"""Optuna search (core/experiments/search.py): checked spaces, one study shared by two worker processes on
one local SQLite storage, the best trial's config reproducible as a run."""
from __future__ import annotations

import re
import subprocess

import pytest

from core.config import load_config
from core.errors import ConfigError
from core.experiments.search import best_trial, check_space, create_search, study_trials
from tests.test_train_support import PYTHON, REPO, TINY_SETTINGS, subprocess_env

SPACE = {"optim.lr": {"low": 1.0e-3, "high": 1.0e-2, "log": True}, "loss.name": {"choices": ["ce", "focal"]},
         "data.age_edges": {"choices": [[30, 60], [30, 58]]}}


@pytest.mark.parametrize("space, message", [
    ({}, "search space: empty"),
    ({"optim.lrr": {"low": 0.1, "high": 0.2}}, "unknown key optim.lrr"),
    ({"optim.lr": {"low": 0.1, "high": 0.01}}, "search space: optim.lr: low 0.1 must be below high 0.01"),
    ({"optim.lr": {"low": -1, "high": 0.01}}, "search space: optim.lr: -1.0 is below the minimum"),
    ({"loss.name": {"choices": ["ce", "hinge"]}}, "search space: loss.name: 'hinge' is not one of"),
    ({"loss.name": {"low": 1, "high": 2}}, "search space: loss.name: is a choice; give choices"),
    ({"optim.lr": {"low": 0.001, "high": 0.01, "spread": 2}}, "search space: optim.lr: a range has low, high"),
    ({"run.name": {"choices": ["a"]}}, "search space: run.name is set per trial"),
])
def test_bad_search_spaces_are_one_line_errors(space, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        check_space(space)


def test_a_study_name_taken_by_another_space_is_refused(tmp_path):
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    create_search("s", load_config(), SPACE, storage=storage, root=tmp_path)
    create_search("s", load_config(), SPACE, storage=storage, root=tmp_path)  # the same space: joins it
    with pytest.raises(ConfigError, match="--study s: exists in .* with another search space"):
        create_search("s", load_config(), {"optim.lr": {"low": 1.0e-4, "high": 1.0e-2}}, storage=storage, root=tmp_path)


def test_an_unreachable_storage_is_named(tmp_path):
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'optuna.db'}"
    with pytest.raises(ConfigError, match=f"--storage {url}: cannot be reached"):
        create_search("s", load_config(), SPACE, storage=url, root=tmp_path)
    with pytest.raises(ConfigError, match="--study nope: no such study"):
        study_trials("nope", f"sqlite:///{tmp_path / 'optuna.db'}")


def test_two_workers_share_one_study(tmp_path_factory):
    from tests.test_train_support import demo40_dir

    data_dir = demo40_dir(tmp_path_factory)
    root = tmp_path_factory.mktemp("search")
    storage = f"sqlite:///{root / 'optuna.db'}"
    base = load_config(overrides=[*TINY_SETTINGS, f"data.dir={data_dir}", "train.epochs=2"])
    create_search("shared", base, SPACE, storage=storage, root=root)
    command = [PYTHON, "-m", "core", "experiment", "worker", "--study", "shared", "--storage", storage, "--trials", "2"]
    workers = [subprocess.Popen(command, cwd=REPO, env=subprocess_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [worker.communicate(timeout=900) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], [err for _, err in outputs]

    trials = study_trials("shared", storage)
    assert sorted(t["number"] for t in trials) == [0, 1, 2, 3]
    assert {t["state"] for t in trials} <= {"COMPLETE", "PRUNED"}
    assert len({t["worker"] for t in trials}) == 2  # both workers ran trials
    assert len({t["run_dir"] for t in trials}) == 4  # none ran twice
    for trial in trials:
        config = load_config(f"{trial['run_dir']}/config.yaml")
        assert config.optim.lr == pytest.approx(trial["params"]["optim.lr"])
        assert list(config.data.age_edges) == trial["params"]["data.age_edges"]

    # The best trial's config, trained again as a plain run, gives the same model and score.
    best = best_trial("shared", storage, out=root / "best.yaml")
    assert best["value"] == max(t["value"] for t in trials if t["state"] == "COMPLETE")
    again = subprocess.run([PYTHON, "-m", "core", "train", "--config", best["config_path"], "--set",
                            f"run.root={root / 'again'}"], cwd=REPO, env=subprocess_env(), capture_output=True,
                           text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    from core.experiments.search import validation_f1

    assert validation_f1(again.stdout.strip().splitlines()[-1]) == pytest.approx(best["value"])
