"""What the trainer refuses before it writes anything, what a resume may change, and what a failed save
leaves behind: bad settings stop before a run directory exists, a refused resume leaves the run as it
was, a full disk keeps last.pt/best.pt and says why, validation is scored on the competition's labels."""
from __future__ import annotations

import errno

import numpy as np
import pytest
import torch

from core.config import check_config, load_config
from core.data.layout import label_images
from core.errors import ConfigError, DataError
from core.labels import DEFAULT_AGE_EDGES
from core.loader.validate import available_cores
from core.train import checkpoints, runs
from core.train.checkpoints import resume_config, restore_scaler
from core.train.run_data import create_run_data
from core.train.trainer import train_run
from tests.test_train_support import tiny_config


def _quiet(config, resume_dir=None):
    return train_run(config, resume_dir=resume_dir, log=lambda text: None)


@pytest.mark.parametrize("override, named", [
    ("optim.lr=nan", "optim.lr"),
    ("optim.lr=inf", "optim.lr"),
    (f"train.seed={2**32}", "train.seed"),
    ("data.image_size=[24, 24]", "data.image_size"),
])
def test_a_setting_no_run_could_use_is_refused_naming_it(override, named):
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_config(overrides=[override])


def test_age_edges_out_of_order_stop_before_a_run_directory_exists(demo_data_dir, tmp_path):
    config = tiny_config(demo_data_dir, tmp_path / "runs", "data.age_edges=[60, 30]")
    with pytest.raises(ConfigError, match=r"data\.age_edges"):
        _quiet(config)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_missing_data_directory_leaves_no_failed_run_behind(tmp_path):
    config = load_config(overrides=[f"data.dir={tmp_path / 'no-data'}", f"run.root={tmp_path / 'runs'}",
                                    "run.name=broken"])
    with pytest.raises(DataError, match="no-data"):
        _quiet(config)
    assert not (tmp_path / "runs" / "broken").exists()


def test_more_workers_than_cores_are_lowered_with_a_warning():
    cores = available_cores()
    config = load_config(overrides=[f"loader.num_workers={cores + 3}", "loader.persistent_workers=true"])
    lines = []
    checked = check_config(config, warn=lines.append)
    assert checked.loader.num_workers == cores and config.loader.num_workers == cores + 3
    assert len(lines) == 1 and "loader.num_workers" in lines[0] and str(cores) in lines[0]
    lines.clear()
    assert check_config(checked, warn=lines.append) == checked and lines == []


def _snapshot(run_dir):
    return {name: (run_dir / name).read_bytes() for name in (runs.STATUS_FILE, runs.METRICS_FILE, runs.CONFIG_FILE)}


@pytest.fixture
def finished_run(demo_data_dir, tmp_path):
    return _quiet(tiny_config(demo_data_dir, tmp_path / "runs", "train.epochs=2", "sched.name=none"))


def test_a_refused_resume_leaves_the_run_as_it_was(finished_run):
    before = _snapshot(finished_run)
    with pytest.raises(ConfigError, match=r"model\.width"):
        _quiet(resume_config(finished_run, ["model.width=16", "train.epochs=3"]), resume_dir=finished_run)
    assert _snapshot(finished_run) == before
    (finished_run / "last.pt").write_bytes((finished_run / "last.pt").read_bytes()[:100])  # a killed copy
    with pytest.raises(ConfigError, match=r"last\.pt: cannot be read"):
        _quiet(resume_config(finished_run, ["train.epochs=3"]), resume_dir=finished_run)
    assert _snapshot(finished_run) == before


def test_a_resume_with_nothing_left_to_do_keeps_the_best_score(finished_run):
    status = runs.read_status(finished_run)
    assert status["best_val_f1"] is not None
    _quiet(resume_config(finished_run), resume_dir=finished_run)
    again = runs.read_status(finished_run)
    assert again["state"] == "finished" and again["epoch"] == 2
    assert (again["best_val_f1"], again["best_epoch"]) == (status["best_val_f1"], status["best_epoch"])


def test_a_resume_applies_a_new_learning_rate(finished_run):
    _quiet(resume_config(finished_run, ["train.epochs=3", "optim.lr=0.0003"]), resume_dir=finished_run)
    steps = runs.read_metrics(finished_run, "step")
    before, after = [s["lr"] for s in steps if s["epoch"] <= 2], [s["lr"] for s in steps if s["epoch"] == 3]
    assert before and after
    assert before == pytest.approx([1e-3] * len(before)) and after == pytest.approx([3e-4] * len(after))
    assert load_config(finished_run / "config.yaml").optim.lr == pytest.approx(3e-4)


def test_a_new_learning_rate_under_a_plateau_schedule_is_refused_with_the_reason(demo_data_dir, tmp_path):
    run_dir = _quiet(tiny_config(demo_data_dir, tmp_path / "runs", "train.epochs=1", "sched.name=plateau"))
    with pytest.raises(ConfigError, match=r"optim\.lr under sched\.name=plateau"):
        _quiet(resume_config(run_dir, ["train.epochs=2", "optim.lr=0.01"]), resume_dir=run_dir)


def test_an_empty_scaler_state_from_a_cpu_or_bf16_run_loads_into_an_fp16_scaler():
    saved = torch.amp.GradScaler("cuda", enabled=False).state_dict()  # what a CPU or bf16 run saves
    assert saved == {}
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)  # enabled, as fp16 on a GPU is
    with pytest.raises(RuntimeError):
        scaler.load_state_dict(saved)  # why the guard exists
    restore_scaler(scaler, saved)
    assert scaler.get_scale() == 1024.0
    other = torch.amp.GradScaler("cpu", init_scale=8.0)
    restore_scaler(other, scaler.state_dict())  # a real state still loads
    assert other.get_scale() == 1024.0


def test_a_full_disk_during_a_save_fails_the_run_and_keeps_the_checkpoints(demo_data_dir, tmp_path, monkeypatch):
    real_save = torch.save

    def save_until_the_disk_fills(state, path):
        if state["epoch"] == 2 and str(path).endswith("last.pt.tmp"):
            with open(path, "wb") as handle:
                handle.write(b"half a checkpoint")
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save(state, path)

    monkeypatch.setattr(checkpoints.torch, "save", save_until_the_disk_fills)
    config = tiny_config(demo_data_dir, tmp_path / "runs", "train.epochs=3", "run.name=full")
    with pytest.raises(DataError, match="disk is full"):
        _quiet(config)
    monkeypatch.undo()
    run_dir = tmp_path / "runs" / "full"
    status = runs.read_status(run_dir)
    assert status["state"] == "failed" and "last.pt" in status["error"] and "disk is full" in status["error"]
    assert sorted(path.name for path in run_dir.iterdir() if path.name.endswith(".tmp")) == []
    assert torch.load(run_dir / "last.pt", weights_only=True)["epoch"] == 1
    assert torch.load(run_dir / "best.pt", weights_only=True)["epoch"] in (1, 2)


def test_validation_is_scored_on_the_competition_labels_whatever_the_edges(demo_data_dir, tmp_path):
    moved = tiny_config(demo_data_dir, tmp_path / "runs", "train.epochs=1", "data.age_edges=[20, 40]")
    data = create_run_data(moved, demo_data_dir)
    competition = label_images(data.val_images, DEFAULT_AGE_EDGES)["label"].to_numpy()
    under_moved_edges = label_images(data.val_images, (20, 40))["label"].to_numpy()
    assert (competition != under_moved_edges).any()  # the edges do move some validation labels
    assert np.array_equal(data.val_set.labels, competition)
    train_bands = data.train_images["age"].map(lambda age: 0 if age < 20 else 1 if age < 40 else 2)
    assert np.array_equal(data.train_set.labels % 3, train_bands.to_numpy())  # training follows the edges
    run_dir = _quiet(moved)
    confusion = np.array(runs.read_metrics(run_dir, "epoch")[-1]["confusion"])
    assert np.array_equal(confusion.sum(1), np.bincount(competition, minlength=18))
