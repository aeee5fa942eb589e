"""Models, losses, metrics, schedules, run directories and the label-noise finder, piece by piece."""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from core.config import MODEL_NAMES, load_config
from core.errors import ConfigError, DataError
from core.labels import NUM_CLASSES, encode
from core.train import runs
from core.train.losses import FocalLoss, SoftF1Loss, class_weights, create_loss
from core.train.models import create_model, torchvision_backbone
from core.train.noise import NoiseTracker, relabel_rows, write_suspects, write_suspects_to_relabel
from core.train.optim import create_optimizer, create_scheduler, restore_scheduler
from core.train.submission import validate_submission, write_submission


# ----- metrics: tests/test_metrics.py ----------------------------------------------------------


# ----- losses -------------------------------------------------------------------------------------
def test_focal_with_gamma_zero_is_cross_entropy_and_gamma_down_weights_easy_images():
    torch.manual_seed(0)
    logits, targets = torch.randn(16, NUM_CLASSES), torch.randint(0, NUM_CLASSES, (16,))
    assert FocalLoss(gamma=0)(logits, targets) == pytest.approx(float(F.cross_entropy(logits, targets)), rel=1e-5)
    assert FocalLoss(gamma=2)(logits, targets) < F.cross_entropy(logits, targets)


def test_soft_f1_is_near_zero_for_confident_correct_scores():
    targets = torch.arange(NUM_CLASSES)
    assert float(SoftF1Loss()(F.one_hot(targets, NUM_CLASSES) * 50.0, targets)) < 1e-3
    assert float(SoftF1Loss()(torch.zeros(NUM_CLASSES, NUM_CLASSES), targets)) > 0.9


def test_class_weights_favour_rare_classes_and_every_loss_builds():
    weights = class_weights([0] * 90 + [1] * 10, "inverse")
    assert weights[1] / weights[0] == pytest.approx(9.0)
    assert class_weights([0, 1], "none") is None
    logits, targets = torch.randn(8, NUM_CLASSES, requires_grad=True), torch.randint(0, NUM_CLASSES, (8,))
    for name in ("ce", "focal", "f1", "ce+f1"):
        config = load_config(overrides=[f"loss.name={name}", "loss.class_weights=sqrt_inverse",
                                        "loss.label_smoothing=0.1"]).loss
        loss = create_loss(config, targets.numpy())(logits, targets)
        loss.backward()
        assert torch.isfinite(loss)


# ----- models -------------------------------------------------------------------------------------
def test_small_cnn_gives_18_scores_and_three_heads_give_joint_log_probabilities():
    x = torch.randn(4, 3, 64, 48)
    single = create_model(load_config(overrides=["model.name=small_cnn", "model.width=8"]).model)
    assert single(x).shape == (4, NUM_CLASSES)
    multi = create_model(load_config(overrides=["model.name=small_cnn", "model.width=8", "model.heads=multi"]).model)
    multi.eval()
    joint = multi(x).detach()
    assert joint.shape == (4, NUM_CLASSES)
    assert torch.allclose(joint.exp().sum(1), torch.ones(4), atol=1e-5)
    mask, gender, age = multi.head_logits(x)
    target = torch.tensor([encode(2, 1, 0)] * 4)
    per_head = (F.cross_entropy(mask, torch.full((4,), 2)) + F.cross_entropy(gender, torch.full((4,), 1))
                + F.cross_entropy(age, torch.full((4,), 0)))
    assert float(F.cross_entropy(joint, target)) == pytest.approx(float(per_head.detach()), rel=1e-5)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_gets_an_18_way_head(name):
    model = create_model(load_config(overrides=[f"model.name={name}", "model.pretrained="]).model).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 64, 48)).shape == (1, NUM_CLASSES)


def test_three_heads_on_a_torchvision_backbone_give_18_joint_scores():
    model = create_model(load_config(overrides=["model.name=mobilenet_v3_small", "model.heads=multi"]).model).eval()
    with torch.no_grad():
        joint = model(torch.randn(2, 3, 64, 48))
    assert joint.shape == (2, NUM_CLASSES) and torch.allclose(joint.exp().sum(1), torch.ones(2), atol=1e-5)


def test_pretrained_weights_from_a_local_file_are_loaded(tmp_path):
    source = torchvision_backbone("mobilenet_v3_small", NUM_CLASSES, "", 0.2)
    path = tmp_path / "w.pth"
    torch.save(source.state_dict(), path)
    model = create_model(load_config(overrides=["model.name=mobilenet_v3_small", f"model.pretrained={path}"]).model)
    first = next(iter(source.state_dict()))
    assert torch.equal(model.state_dict()[first], source.state_dict()[first])
    with pytest.raises(ConfigError, match="model.pretrained.*not a file"):
        create_model(load_config(overrides=["model.name=resnet18", f"model.pretrained={tmp_path}/nope.pth"]).model)


def test_imagenet_weights_offline_give_one_clear_message(monkeypatch):
    import torchvision

    def offline(self, *args, **kwargs):
        raise OSError("Temporary failure in name resolution")

    monkeypatch.setattr(torchvision.models.WeightsEnum, "get_state_dict", offline)
    with pytest.raises(ConfigError, match=r"cannot download the ImageNet weights of resnet18.*offline"):
        create_model(load_config(overrides=["model.name=resnet18", "model.pretrained=imagenet"]).model)


# ----- schedules ----------------------------------------------------------------------------------
def test_cosine_schedule_warms_up_then_decays_to_min_lr():
    config = load_config(overrides=["sched.name=cosine", "sched.warmup_epochs=1", "sched.min_lr=0.0001",
                                    "optim.lr=0.01"])
    model = torch.nn.Linear(2, 2)
    optimizer = create_optimizer(config.optim, model.parameters())
    scheduler, per_step = create_scheduler(config.sched, optimizer, epochs=3, steps_per_epoch=10, peak_lr=0.01)
    rates = []
    for _ in range(30):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert per_step and rates[0] < rates[9] == pytest.approx(0.01)
    assert rates[-1] < 0.001 and optimizer.param_groups[0]["lr"] == pytest.approx(0.0001)


def _rates(overrides, epochs=3, steps_per_epoch=10, val_f1=None):
    """The learning rate at each training step of a schedule (val_f1: per-epoch scores for plateau)."""
    config = load_config(overrides=overrides)
    optimizer = create_optimizer(config.optim, torch.nn.Linear(2, 2).parameters())
    scheduler, per_step = create_scheduler(config.sched, optimizer, epochs, steps_per_epoch, config.optim.lr)
    rates = []
    for epoch in range(epochs):
        for _ in range(steps_per_epoch):
            rates.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            if per_step:
                scheduler.step()
        if not per_step:
            scheduler.step(val_f1[epoch])
    return rates, scheduler, optimizer, config


def test_step_schedule_multiplies_by_gamma_every_step_size_epochs():
    rates, *_ = _rates(["sched.name=step", "sched.step_size=2", "sched.gamma=0.5", "optim.lr=0.1"], epochs=5)
    per_epoch = [rates[e * 10] for e in range(5)]
    assert per_epoch == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])


def test_onecycle_rises_to_the_peak_then_anneals_far_below_it():
    rates, *_ = _rates(["sched.name=onecycle", "optim.lr=0.01"], epochs=4)
    peak = int(np.argmax(rates))
    assert max(rates) == pytest.approx(0.01, rel=1e-3) and 0.2 * len(rates) <= peak <= 0.4 * len(rates)
    assert rates[0] < 0.01 / 10 and rates[-1] < 0.01 / 1000


def test_plateau_lowers_the_rate_after_patience_epochs_without_gain():
    rates, *_ = _rates(["sched.name=plateau", "sched.patience=1", "sched.gamma=0.5", "optim.lr=0.1"], epochs=5,
                       val_f1=[0.5, 0.6, 0.6, 0.6, 0.7])
    per_epoch = [rates[e * 10] for e in range(5)]
    # epochs 3 and 4 bring no gain: more than patience=1 such epochs, so epoch 5 trains at half the rate
    assert per_epoch == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.05])


@pytest.mark.parametrize("name", ["cosine", "onecycle", "step"])
def test_a_restored_schedule_keeps_the_new_plan_and_the_old_progress(name):
    settings = [f"sched.name={name}", "optim.lr=0.01", "sched.step_size=1", "sched.gamma=0.5"]
    _, short, _, config = _rates(settings, epochs=2)
    longer_rates, *_ = _rates(settings, epochs=4)
    optimizer = create_optimizer(config.optim, torch.nn.Linear(2, 2).parameters())
    resumed, _ = create_scheduler(config.sched, optimizer, 4, 10, config.optim.lr)
    restore_scheduler(resumed, short.state_dict())
    # At step 20 of a 4-epoch plan, exactly as a run planned for 4 epochs from the start.
    rates = []
    for _ in range(20):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        resumed.step()
    assert rates == pytest.approx(longer_rates[20:], rel=1e-6)


# ----- run directories ----------------------------------------------------------------------------
def test_run_dirs_are_never_reused_and_status_and_metrics_round_trip(tmp_path):
    first = runs.create_run_dir(tmp_path, "exp")
    second = runs.create_run_dir(tmp_path, "exp")
    third = runs.create_run_dir(tmp_path, "exp")
    assert [p.name for p in (first, second, third)] == ["exp", "exp-2", "exp-3"]
    runs.write_status(first, {"state": "running", "pid": os.getpid(), "epoch": 1, "best_val_f1": 0.5})
    runs.update_status(first, state="finished")
    status = runs.read_status(first)
    assert status["state"] == "finished" and status["epoch"] == 1 and "updated_at" in status
    runs.append_metrics(first, {"kind": "step", "epoch": 1, "step": 1})
    runs.append_metrics(first, {"kind": "epoch", "epoch": 1, "val_f1": 0.5})
    runs.append_metrics(first, {"kind": "step", "epoch": 2, "step": 1})
    with open(first / runs.METRICS_FILE, "a") as handle:
        handle.write('{"kind": "ep')  # a half-written line, as a reader may see mid-write
    assert [r["epoch"] for r in runs.read_metrics(first, "epoch")] == [1]
    runs.truncate_metrics(first, 1)
    assert [r["kind"] for r in runs.read_metrics(first)] == ["step", "epoch"]
    runs.write_status(second, {"state": "running", "pid": 999_999_999, "best_val_f1": 0.7})
    board = runs.list_runs(tmp_path)
    assert list(board["name"][:2]) == ["exp-2", "exp"]  # best F1 first
    assert not bool(board.set_index("name").loc["exp-2", "alive"])  # its trainer does not exist


def test_runs_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MASKLAB_RUNS_DIR", str(tmp_path))
    assert runs.runs_root("runs") == tmp_path
    assert runs.runs_root("/elsewhere") == runs.Path("/elsewhere")


# ----- label-noise finder -------------------------------------------------------------------------
def _images(labels):
    return pd.DataFrame({"path": [f"train/images/p{i}/mask1.jpg" for i in range(len(labels))], "label": labels})


def test_noise_finder_lists_images_wrong_in_most_epochs():
    images = _images([0, 0, 7, 3])
    tracker = NoiseTracker(4)
    tracker.record_epoch([0, 1, 2, 3], [0.1, 0.2, 3.0, 0.5], [9, 9, 9, 9])
    assert tracker.suspects(images, skip_epochs=1).empty  # only the skipped epoch so far: nothing to say yet
    tracker = NoiseTracker(4)
    for epoch in range(5):
        # item 2 is predicted 1 from epoch 1 on; item 3 wrong only once
        tracker.record_epoch([0, 1, 2, 3], [0.1, 0.2, 3.0, 0.5], [0, 0, 1 if epoch else 7, 9 if epoch == 2 else 3])
    suspects = tracker.suspects(images, skip_epochs=1, min_fraction=0.5)
    assert list(suspects["path"]) == ["train/images/p2/mask1.jpg"]
    assert suspects.iloc[0]["predicted_label"] == 1 and suspects.iloc[0]["given_label"] == 7
    restored = NoiseTracker(0)
    restored.load_state_dict(tracker.state_dict())
    assert restored.suspects(images).equals(tracker.suspects(images))


def test_suspects_become_relabel_rows_for_the_attributes_that_differ(tmp_path):
    rows = relabel_rows({"path": "a.jpg", "given_label": encode(0, 0, 0), "predicted_label": encode(0, 1, 2)}, (30, 60))
    assert rows == [{"path": "a.jpg", "field": "gender", "value": 1}]  # no age: the model names a band, not a year
    run_dir, data_dir = tmp_path / "run", tmp_path / "data"
    run_dir.mkdir(), data_dir.mkdir()
    (run_dir / "config.yaml").write_text("data:\n  age_edges: [30, 58]\n")
    write_suspects(run_dir, pd.DataFrame([{"path": "train/images/x/normal.jpg", "given_label": encode(2, 0, 1),
                                            "predicted_label": encode(0, 0, 1)}]))
    written = write_suspects_to_relabel(run_dir, data_dir, ["train/images/x/normal.jpg"])
    assert written == [{"path": "train/images/x/normal.jpg", "field": "mask", "value": 0}]
    assert "train/images/x/normal.jpg,mask,0" in (data_dir / "relabel.csv").read_text()
    with pytest.raises(DataError, match="not a suspect"):
        write_suspects_to_relabel(run_dir, data_dir, ["other.jpg"])


def test_a_gender_or_age_fix_can_name_the_whole_person(demo_copy, tmp_path):
    from core.data.layout import scan_train

    images = scan_train(demo_copy).images
    person = images["path"].iloc[0].rsplit("/", 1)[0]
    photos = images[images["path"].str.startswith(person + "/")]
    normal, masked = (photos[photos["mask"] == 2].iloc[0], photos[photos["mask"] == 0].iloc[0])
    flipped = lambda row: encode(int(row["mask"]), 1 - int(row["gender_label"]), int(row["age_label"]))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text("data:\n  age_edges: [30, 60]\n")
    write_suspects(run_dir, pd.DataFrame([{"path": row["path"], "given_label": int(row["label"]),
                                           "predicted_label": flipped(row)} for row in (normal, masked)]))
    written = write_suspects_to_relabel(run_dir, demo_copy, [normal["path"], masked["path"]], person=True)
    assert written == [{"path": person, "field": "gender", "value": 1 - int(normal["gender_label"])}]  # once
    after = scan_train(demo_copy).images
    changed = after[after["path"].str.startswith(person + "/")]
    assert len(changed) == 7 and (changed["gender_label"] == 1 - int(normal["gender_label"])).all()


# ----- submission validator -----------------------------------------------------------------------
def test_submission_validator_checks_rows_ids_and_range(tmp_path):
    info = pd.DataFrame({"ImageID": ["a.jpg", "b.jpg", "c.jpg"], "ans": ["0", "0", "0"]})
    path = write_submission(info, [0, 17, 5], tmp_path / "s.csv")
    assert validate_submission(path, info=info)["ans"].tolist() == [0, 17, 5]
    bad = {"rows": "ImageID,ans\na.jpg,0\nb.jpg,1\n", "order": "ImageID,ans\nb.jpg,0\na.jpg,1\nc.jpg,2\n",
           "range": "ImageID,ans\na.jpg,0\nb.jpg,18\nc.jpg,2\n", "text": "ImageID,ans\na.jpg,0\nb.jpg,x\nc.jpg,2\n",
           "columns": "id,ans\na.jpg,0\nb.jpg,1\nc.jpg,2\n"}
    messages = {"rows": "2 rows but", "order": "row 2 has ImageID 'b.jpg'", "range": "row 3 has ans",
                "text": "row 3 has ans", "columns": "columns must be"}
    for name, text in bad.items():
        (tmp_path / f"{name}.csv").write_text(text)
        with pytest.raises(DataError, match=messages[name]):
            validate_submission(tmp_path / f"{name}.csv", info=info)
    with pytest.raises(DataError):
        write_submission(info, [0, 1, 99], tmp_path / "never.csv")
    assert not (tmp_path / "never.csv").exists()
