"""The trainer's toolkit (issue #15): timm models, offline pretrained weights, gradient accumulation, EMA,
weight averaging, TTA choices; each on real demo JPEGs or a toy model where the arithmetic is the point."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from core.config import check_config, load_config
from core.errors import ConfigError
from core.labels import NUM_CLASSES
from core.train import runs
from core.train.averaging import AVERAGED_CHECKPOINT
from core.train.checkpoints import resume_config
from core.train.models import build_model, create_model
from core.train.predict import TTA_SCORES_FILE, predict, tta_val_f1
from core.train.trainer import Trainer, TrainingParts, accumulation_window, optimizer_steps, train_run, train_step
from core.train.tta import TTA_CHOICES, tta_probabilities
from tests.test_train_support import REPO, subprocess_env, tiny_config

TIMM_TINY = "timm/test_efficientnet"  # ~0.1M parameters, has stochastic depth
TIMM_SETTINGS = (f"model.name={TIMM_TINY}", "data.image_size=[64, 48]")


def _quiet(config, resume_dir=None):
    return train_run(config, resume_dir=resume_dir, log=lambda text: None)


def _model_config(*overrides):
    return load_config(overrides=list(overrides)).model


# ----- timm models and their weights ---------------------------------------------------------------
def test_a_timm_model_trains_with_ema_accumulation_and_swa_then_predicts(demo_data_dir, tmp_path):
    from core.train.follow import run_weights_line

    weights = tmp_path / "start.pth"
    torch.save(create_model(_model_config(f"model.name={TIMM_TINY}")).state_dict(), weights)
    config = tiny_config(demo_data_dir, tmp_path / "runs", *TIMM_SETTINGS, "model.drop_path=0.1", "train.epochs=2",
                         "train.ema=true", "train.ema_decay=0.9", "train.accum_steps=2", "train.average=swa",
                         "train.average_epochs=2", f"model.pretrained={weights}")
    run_dir = _quiet(config)
    assert run_dir.name.endswith("-timm-test_efficientnet")  # one folder, not timm/
    tensors = len(torch.load(weights, weights_only=True))
    assert f"weights: {weights} ({tensors} of {tensors} tensors matched)" in (run_dir / "train.log").read_text()
    assert f"{weights} — {tensors} of {tensors} tensors matched" in run_weights_line(run_dir)
    assert runs.read_status(run_dir)["state"] == "finished"
    epochs = runs.read_metrics(run_dir, "epoch")
    assert [e["epoch"] for e in epochs] == [1, 2] and all("ema_val_f1" in e for e in epochs)
    last = torch.load(run_dir / "last.pt", weights_only=True)
    assert last["ema"].keys() == last["model"].keys()
    assert any(not torch.equal(last["ema"][k], last["model"][k]) for k in last["model"])  # an average, not a copy
    averaged = torch.load(run_dir / AVERAGED_CHECKPOINT, weights_only=True)
    assert averaged["averaged_epochs"] == [1, 2]
    assert "averaged weights (swa, epochs 1, 2)" in (run_dir / "train.log").read_text()
    # 4 batches of 16 per epoch, two per optimizer step: the schedule saw 2 steps per epoch.
    assert last["scheduler"]["last_epoch"] == 2 * optimizer_steps(4, 2)

    for checkpoint, weights in (("best", "ema"), ("averaged", "raw")):
        result = predict(run_dir, demo_data_dir, checkpoint=checkpoint, weights=weights, tta="flip")
        assert result["rows"] == 28 and result["weights"] == weights and result["tta"] == "flip"
    with pytest.raises(ConfigError, match="--tta: 'mirror' is not a TTA choice"):
        predict(run_dir, demo_data_dir, tta="mirror")


def test_weights_saved_to_a_file_load_back_to_identical_outputs(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(3)
    source = create_model(_model_config(f"model.name={TIMM_TINY}")).eval()
    torch.save({"state_dict": source.state_dict()}, tmp_path / "timm-checkpoint.pth")  # timm train.py's layout
    save_file(source.state_dict(), str(tmp_path / "model.safetensors"))
    x = torch.randn(2, 3, 64, 48)
    for file in ("timm-checkpoint.pth", "model.safetensors"):
        torch.manual_seed(99)  # another random init underneath, so equal outputs mean the file was loaded
        model, report = build_model(_model_config(f"model.name={TIMM_TINY}", f"model.pretrained={tmp_path / file}"))
        with torch.no_grad():
            assert torch.equal(model.eval()(x), source(x)), file
        assert report.matched == report.total == len(source.state_dict()) and report.source.endswith(file)


def test_a_torchvision_state_dict_loads_into_timm_resnet_except_the_classifier(tmp_path):
    import torchvision

    torch.save(torchvision.models.resnet18().state_dict(), tmp_path / "resnet18.pth")  # 1000 classes
    model, report = build_model(_model_config("model.name=timm/resnet18", f"model.pretrained={tmp_path / 'resnet18.pth'}"))
    assert report.skipped == ["fc.weight", "fc.bias"] and report.matched == report.total - 2
    assert f"{report.matched} of {report.total} tensors matched; not loaded: fc.weight, fc.bias" in report.line()


def test_weights_that_do_not_fit_stop_unless_a_partial_load_is_allowed(tmp_path):
    state = create_model(_model_config(f"model.name={TIMM_TINY}")).state_dict()
    wrong = next(k for k in state if k.endswith("weight") and state[k].dim() == 4)
    state[wrong] = torch.zeros(1, 1, 1, 1)
    torch.save(state, tmp_path / "w.pth")
    with pytest.raises(ConfigError, match=rf"matches {len(state) - 1} of {len(state)} tensors .*{wrong}.*partial_load"):
        build_model(_model_config(f"model.name={TIMM_TINY}", f"model.pretrained={tmp_path / 'w.pth'}"))
    _, report = build_model(_model_config(f"model.name={TIMM_TINY}", f"model.pretrained={tmp_path / 'w.pth'}",
                                          "model.partial_load=true"))
    assert report.skipped == [wrong] and report.matched == len(state) - 1


def test_imagenet_weights_of_a_timm_model_come_from_the_hf_cache_or_one_clear_line(tmp_path, monkeypatch):
    from huggingface_hub import constants
    from safetensors.torch import save_file

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    name = f"model.name={TIMM_TINY}"
    with pytest.raises(ConfigError, match=r"not in the Hugging Face cache.*https://huggingface.co/timm/"
                                          r"test_efficientnet.r160_in1k/resolve/main/model.safetensors"):
        build_model(_model_config(name, "model.pretrained=imagenet"))
    # The cache's own layout, as `hf download` leaves it: refs/main names the snapshot.
    repo = tmp_path / "hub" / "models--timm--test_efficientnet.r160_in1k"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    import timm

    imagenet = timm.create_model("test_efficientnet", num_classes=1000)
    save_file(imagenet.state_dict(), str(repo / "snapshots" / "abc123" / "model.safetensors"))
    model, report = build_model(_model_config(name, "model.pretrained=imagenet"))
    assert "models--timm--test_efficientnet" in report.source and report.matched == report.total - 2
    assert torch.equal(model.state_dict()["conv_stem.weight"], imagenet.state_dict()["conv_stem.weight"])


def test_bad_model_settings_stop_before_a_run_with_one_line(tmp_path):
    with pytest.raises(ConfigError, match=r"model.name: 'timm/efficientnet_b00' .*close names: .*timm/efficientnet_b0"):
        check_config(load_config(overrides=["model.name=timm/efficientnet_b00"]))
    with pytest.raises(ConfigError, match=r"model.name: 'convnext_tiney'.*convnext_tiny"):
        check_config(load_config(overrides=["model.name=convnext_tiney"]))
    with pytest.raises(ConfigError, match="train.accum_steps: 0 is below the minimum 1"):
        load_config(overrides=["train.accum_steps=0"])
    for decay in ("0", "1", "1.0"):
        with pytest.raises(ConfigError, match="train.ema_decay: .* strictly between 0 and 1"):
            check_config(load_config(overrides=[f"train.ema_decay={decay}"]))
    with pytest.raises(ConfigError, match="model.drop_path: small_cnn has no stochastic depth"):
        create_model(_model_config("model.name=small_cnn", "model.drop_path=0.1"))
    with pytest.raises(ConfigError, match="train.average_epochs: 5 is more than train.epochs"):
        check_config(load_config(overrides=["train.average=swa", "train.average_epochs=5", "train.epochs=3"]))


# ----- accumulation and EMA: the arithmetic on a toy model ----------------------------------------
def _toy_parts(model, lr=0.1, accum=1, ema=None):
    from core.train.averaging import create_ema

    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    return TrainingParts(model=model, criterion=nn.CrossEntropyLoss(), optimizer=optimizer, scheduler=scheduler,
                         per_step_schedule=True, scaler=torch.amp.GradScaler("cuda", enabled=False), amp_dtype=None,
                         grad_clip=0.0, accum_steps=accum, ema=create_ema(model, ema) if ema else None)


def _toy_model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 5))


def test_accumulating_k_batches_of_b_equals_one_step_of_k_times_b():
    torch.manual_seed(1)
    images, targets = torch.randn(12, 3, 8, 8), torch.randint(0, 5, (12,))
    big = _toy_parts(_toy_model())
    train_step(big, images, targets)
    small = _toy_parts(_toy_model(), accum=3)
    for step in range(1, 4):
        window, last = accumulation_window(step, 3, 3)
        before = [p.detach().clone() for p in small.model.parameters()]
        train_step(small, images[(step - 1) * 4:step * 4], targets[(step - 1) * 4:step * 4], window=window, last=last)
        moved = any(not torch.equal(a, b) for a, b in zip(before, small.model.parameters()))
        assert moved == last  # the weights move only at the end of the window
    for a, b in zip(big.model.parameters(), small.model.parameters()):
        assert torch.allclose(a, b, atol=1e-6)
    assert small.scheduler.last_epoch == big.scheduler.last_epoch == 1  # one optimizer step each


def test_accumulation_windows_cover_an_epoch_with_a_short_last_window():
    assert [accumulation_window(step, 7, 3) for step in range(1, 8)] == [
        (3, False), (3, False), (3, True), (3, False), (3, False), (3, True), (1, True)]
    assert optimizer_steps(7, 3) == 3 and optimizer_steps(6, 3) == 2 and optimizer_steps(5, 1) == 5


def test_ema_weights_are_the_expected_exponential_average():
    decay = 0.75
    parts = _toy_parts(_toy_model(), lr=0.5, ema=decay)
    history = [[p.detach().clone() for p in parts.model.parameters()]]
    torch.manual_seed(2)
    for _ in range(3):
        train_step(parts, torch.randn(6, 3, 8, 8), torch.randint(0, 5, (6,)))
        history.append([p.detach().clone() for p in parts.model.parameters()])
    for index, ema_value in enumerate(parts.ema.module.parameters()):
        w = [h[index] for h in history]
        expected = decay ** 3 * w[0] + (1 - decay) * (decay ** 2 * w[1] + decay * w[2] + w[3])
        assert torch.allclose(ema_value, expected, atol=1e-6)
        assert not torch.allclose(ema_value, w[3])  # not just the latest weights


# ----- resume with all of it ------------------------------------------------------------------------
class _CancelAt:
    """Requests a stop when the trainer reports `step` of epoch `epoch` (what SIGTERM does, deterministically)."""

    def __init__(self, trainer: Trainer, epoch: int, step: int):
        self.trainer, self.epoch, self.step = trainer, epoch, step
        self.original = trainer._set_status

    def __call__(self, **changes):
        self.original(**changes)
        if changes.get("epoch") == self.epoch - 1 and changes.get("step") == self.step:
            self.trainer.stop.requested = True


def test_resume_mid_epoch_with_ema_accumulation_and_averaging_is_exact(demo_data_dir, tmp_path):
    settings = ("train.epochs=3", "train.ema=true", "train.ema_decay=0.8", "train.accum_steps=3",
                "train.average=best", "train.average_epochs=2", "loader.batch_size=8")  # 7 batches an epoch
    trainer = Trainer(tiny_config(demo_data_dir, tmp_path / "runs", *settings, "run.name=cut"), log=lambda t: None)
    trainer._set_status = _CancelAt(trainer, epoch=2, step=2)
    run_dir = trainer.run()
    assert trainer.cancelled
    last = torch.load(run_dir / "last.pt", weights_only=True)
    assert last["epoch"] == 1 and last["step"] == 3  # stopped at the end of the accumulation window, not mid-window
    _quiet(resume_config(run_dir), resume_dir=run_dir)
    assert runs.read_status(run_dir)["state"] == "finished" and runs.read_status(run_dir)["epoch"] == 3

    reference = _quiet(tiny_config(demo_data_dir, tmp_path / "runs", *settings, "run.name=whole"))
    for key in ("train_loss", "val_loss", "val_f1", "ema_val_loss", "ema_val_f1"):
        assert [e[key] for e in runs.read_metrics(run_dir, "epoch")] == \
            pytest.approx([e[key] for e in runs.read_metrics(reference, "epoch")], rel=1e-5, abs=1e-6), key
    resumed, whole = (torch.load(d / "last.pt", weights_only=True) for d in (run_dir, reference))
    for k in whole["ema"]:
        assert torch.allclose(resumed["ema"][k].float(), whole["ema"][k].float(), atol=1e-6), k
    resumed_avg, whole_avg = (torch.load(d / AVERAGED_CHECKPOINT, weights_only=True) for d in (run_dir, reference))
    assert resumed_avg["averaged_epochs"] == whole_avg["averaged_epochs"] and len(whole_avg["averaged_epochs"]) == 2
    assert resumed_avg["val_f1"] == pytest.approx(whole_avg["val_f1"], abs=1e-6)
    # Only the averaged epochs' weight files are kept.
    kept = sorted(p.name for p in run_dir.glob("best-*.pt"))
    assert kept == [f"best-{e}.pt" for e in whole_avg["averaged_epochs"]]


# ----- TTA -------------------------------------------------------------------------------------------
class _LeftRight(nn.Module):
    """Scores from the left half's and the right half's mean and the centre/border contrast: no symmetry."""

    def forward(self, x):
        width, height = x.shape[-1], x.shape[-2]
        left, right = x[..., : width // 2].mean((1, 2, 3)), x[..., width // 2:].mean((1, 2, 3))
        centre = x[..., height // 4: 3 * height // 4, width // 4: 3 * width // 4].mean((1, 2, 3))
        return torch.stack([4 * left, 4 * right, 4 * (centre - x.mean((1, 2, 3)))], dim=1)


def test_each_tta_choice_changes_predictions_the_expected_way():
    torch.manual_seed(5)
    model = _LeftRight()
    images = torch.rand(3, 3, 32, 24)
    images[..., :12] += 1.0  # a bright left half
    flipped = torch.flip(images, dims=[3])
    plain = tta_probabilities(model, images, "none")
    assert plain[:, 0].gt(plain[:, 1]).all()  # the model sees the bright side
    # flip: the average of an image and its mirror, so a mirrored image gets the same answer.
    assert torch.allclose(tta_probabilities(model, images, "flip"), tta_probabilities(model, flipped, "flip"), atol=1e-6)
    assert not torch.allclose(tta_probabilities(model, images, "none"), tta_probabilities(model, flipped, "none"))
    assert torch.allclose(tta_probabilities(model, images, "flip+scales"),
                          tta_probabilities(model, flipped, "flip+scales"), atol=1e-6)
    # scales: zoomed-in views see less border, so a bright centre weighs more than without TTA.
    spot = torch.zeros(1, 3, 32, 24)
    spot[..., 10:22, 8:16] = 1.0
    assert tta_probabilities(model, spot, "scales")[0, 2] > tta_probabilities(model, spot, "none")[0, 2]
    # crops: four corner crops keep the image's sides, so the mirror's answer is the mirror of it.
    crops, crops_flipped = tta_probabilities(model, images, "crops"), tta_probabilities(model, flipped, "crops")
    assert torch.allclose(crops[:, [1, 0, 2]], crops_flipped, atol=1e-5)
    assert not torch.allclose(crops, plain)
    for name in TTA_CHOICES:
        assert torch.allclose(tta_probabilities(model, images, name).sum(1), torch.ones(3), atol=1e-5)


def test_the_val_f1_of_each_tta_choice_is_scored_and_kept_for_the_page(demo_data_dir, tmp_path):
    run_dir = _quiet(tiny_config(demo_data_dir, tmp_path / "runs", "train.epochs=1"))
    record = tta_val_f1(run_dir, "best")
    assert list(record["val_f1"]) == list(TTA_CHOICES) and record["weights"] == "raw"
    assert json.loads((run_dir / TTA_SCORES_FILE).read_text()) == record
    from core.train.predict import predict_val_scores
    from core.train.metrics import classification_metrics

    flip = predict_val_scores(run_dir, "best", tta="flip")
    assert record["val_f1"]["flip"] == pytest.approx(classification_metrics(flip["labels"], flip["scores"].argmax(1))["f1"],
                                                     abs=1e-6)
    assert np.isfinite(list(record["val_f1"].values())).all()


# ----- accumulation under DDP ------------------------------------------------------------------------
def _ddp_accumulation_worker(rank: int, world: int, init_file: str, out_dir: str) -> None:
    import torch.distributed as dist
    from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import allreduce_hook
    from torch.nn.parallel import DistributedDataParallel

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    torch.set_num_threads(1)
    torch.manual_seed(1)
    images, targets = torch.randn(24, 3, 8, 8), torch.randint(0, 5, (24,))
    model = DistributedDataParallel(_toy_model())
    reductions = []

    def counting_hook(state, bucket):  # called once per gradient bucket all-reduce
        reductions.append(bucket.index())
        return allreduce_hook(state, bucket)

    model.register_comm_hook(dist.group.WORLD, counting_hook)
    parts = _toy_parts(model, accum=3)
    mine = images[rank * 12:(rank + 1) * 12], targets[rank * 12:(rank + 1) * 12]  # each rank: 3 batches of 4
    for step in range(1, 4):
        window, last = accumulation_window(step, 3, 3)
        train_step(parts, mine[0][(step - 1) * 4:step * 4], mine[1][(step - 1) * 4:step * 4], window=window,
                   last=last)
    torch.save({"params": [p.detach() for p in model.module.parameters()], "reductions": len(reductions)},
               f"{out_dir}/rank{rank}.pt")
    dist.destroy_process_group()


def test_accumulation_under_ddp_reduces_once_per_window_and_matches_one_big_batch(tmp_path):
    import subprocess
    import sys

    # In a fresh interpreter: spawned workers re-run the parent's __main__, which inside pytest is whichever
    # script an AppTest ran last (a page), so mp.spawn from this process depends on the test order.
    spawn = ("import torch.multiprocessing as mp; from tests.test_train_toolkit import _ddp_accumulation_worker; "
             f"mp.spawn(_ddp_accumulation_worker, args=(2, {str(tmp_path / 'init')!r}, {str(tmp_path)!r}), "
             "nprocs=2, join=True)")
    result = subprocess.run([sys.executable, "-c", spawn], cwd=REPO, env=subprocess_env(), capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    assert [r["reductions"] for r in ranks] == [1, 1]  # the two batches before the last skipped the all-reduce
    torch.manual_seed(1)
    images, targets = torch.randn(24, 3, 8, 8), torch.randint(0, 5, (24,))
    big = _toy_parts(_toy_model())
    train_step(big, images, targets)  # one step on all 24 images in one process
    for rank in ranks:
        for got, expected in zip(rank["params"], big.model.parameters()):
            assert torch.allclose(got, expected, atol=1e-6)
