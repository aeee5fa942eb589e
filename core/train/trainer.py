"""The training loop: config in, run directory out. Reads top to bottom like timm's train.py:

    check the config -> set up (device, process group, seeds) -> data -> run directory -> model, loss,
    optimizer, schedule -> for each epoch: train, validate, log, checkpoint, early stop.

The data of a run is built by core.train.run_data, checkpoints and random state by core.train.checkpoints
(prediction and the experiments engine use both too). One batch's step is `train_step`, which the loop
and bench/train.py share: with train.accum_steps=K it steps the optimizer (and the EMA of
core.train.averaging) at the end of each window of K batches. A cancel waits for the window's end, so a
checkpoint never holds half-summed gradients. With train.ema each epoch validates the EMA weights too; with
train.average the run ends by writing averaged.pt.

CUDA when present (AMP in bf16 where supported else fp16 with a GradScaler, channels_last, non_blocking
copies, optional torch.compile); the CPU path uses none of them. Under torchrun the model is wrapped in
DistributedDataParallel, the loader shards with a DistributedSampler, and only rank 0 writes the run.
The run directory format is documented in core.train.runs.

Resume is exact: a checkpoint holds every random stream, the early-stopping counter and, after a cancel
mid-epoch, the steps done so far (a resume replays the epoch's batches up to there without training on
them: the sampler's order is seeded by the epoch, the augmentations by (seed, epoch, rank, worker)).
A resume reads and checks the checkpoint before it writes anything, so a refused resume leaves the run
as it was. On CUDA the loop never waits for the GPU between steps: losses and predictions are summed on
the device and read back every train.log_every steps and at the end of the epoch.
"""
from __future__ import annotations

import math
import os
import signal
import sys
import time
import traceback
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Subset

from core.config import ExperimentConfig, check_config, config_to_dict, save_config
from core.errors import ConfigError, DataError
from core.loader.samplers import set_epoch
from core.loader.workers import compute_threads
from core.progress import StderrProgress
from core.train import runs
from core.train.checkpoints import (check_resume_changes, load_checkpoint, restore_scaler, rng_state, save_checkpoint,
                                    seed_everything, set_rng_state)
from core.train.distributed import (DistInfo, all_gather_objects, any_rank, barrier, broadcast_object,
                                    cleanup_distributed, setup_distributed)
from core.train.inputs import EpochSeededDataset, images_to_device
from core.train.losses import create_loss
from core.train.metrics import classification_metrics
from core.train.averaging import AVERAGED_CHECKPOINT, WeightAverager, create_ema, recompute_batchnorm
from core.train.models import build_model, create_model
from core.train.noise import NoiseTracker, write_suspects
from core.train.optim import apply_peak_lr, create_optimizer, create_scheduler, current_lr, restore_scheduler
from core.train.run_data import create_loader_for, create_run_data, resolve_data_dir, scan_run_images, \
    split_run_images


class Cancelled(Exception):
    """SIGTERM/SIGINT arrived: stop at the next step."""


class EpochPass:
    """What one rank's training pass has gathered so far; kept on the device until the epoch ends."""

    def __init__(self, device: torch.device):
        self.device = device
        self.steps, self.count = 0, 0
        self.loss_sum = torch.zeros((), device=device)
        self.indices: list[torch.Tensor] = []
        self.losses: list[torch.Tensor] = []
        self.predictions: list[torch.Tensor] = []

    def add(self, indices, loss, logits, targets) -> None:
        with torch.no_grad():
            detached = logits.detach().float()
            self.losses.append(F.cross_entropy(detached, targets, reduction="none"))
            self.predictions.append(detached.argmax(1))
            self.loss_sum += loss.detach().float() * len(targets)
        self.indices.append(indices)
        self.count += len(targets)
        self.steps += 1

    def state_dict(self) -> dict:
        """CPU tensors and plain numbers (one read-back from the device)."""
        def joined(parts, dtype):
            return torch.cat([p.cpu() for p in parts]) if parts else torch.zeros(0, dtype=dtype)

        return {"steps": self.steps, "count": self.count, "loss_sum": float(self.loss_sum),
                "indices": joined(self.indices, torch.int64), "losses": joined(self.losses, torch.float32),
                "predictions": joined(self.predictions, torch.int64)}

    def load_state_dict(self, state: dict) -> None:
        self.steps, self.count = int(state["steps"]), int(state["count"])
        self.loss_sum = torch.tensor(float(state["loss_sum"]), device=self.device)
        self.indices = [state["indices"]]
        self.losses = [state["losses"].to(self.device)]
        self.predictions = [state["predictions"].to(self.device)]


class StopFlag:
    """Set by SIGTERM/SIGINT; the loop checks it between steps so a cancel never corrupts a checkpoint."""

    def __init__(self):
        self.requested = False
        self._previous = {}

    def install(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum, frame) -> None:
        self.requested = True


def cpu_threads(num_workers: int, world_size: int) -> int:
    """Compute threads for CPU training: the cores left after the loader workers (core.loader.compute_threads)."""
    return compute_threads(num_workers, world_size)


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The plain model under DDP and torch.compile wrappers (what checkpoints store)."""
    model = model.module if isinstance(model, DistributedDataParallel) else model
    return getattr(model, "_orig_mod", model)


def mixed_loss(criterion, logits, batch, targets):
    """Loss of a batch; a mixup/cutmix batch mixes the losses of both labels by its lambda."""
    if "mix_index" not in batch:
        return criterion(logits, targets)
    index = batch["mix_index"].to(targets.device, non_blocking=True)
    lam = float(batch["mix_lambda"])
    return lam * criterion(logits, targets) + (1 - lam) * criterion(logits, targets[index])


@dataclass
class TrainingParts:
    """What one optimisation step needs: the (possibly wrapped) model and how it is trained."""

    model: torch.nn.Module
    criterion: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: object
    per_step_schedule: bool
    scaler: torch.amp.GradScaler
    amp_dtype: torch.dtype | None
    grad_clip: float
    accum_steps: int = 1
    ema: object = None  # timm ModelEmaV3 of the plain model, updated after each optimizer step


def optimizer_steps(batches: int, accum_steps: int) -> int:
    """Optimizer steps in an epoch of `batches`: a last, shorter accumulation window still steps."""
    return math.ceil(batches / accum_steps)


def accumulation_window(step: int, batches: int, accum_steps: int) -> tuple[int, bool]:
    """(batches in the window of batch `step` (1-based), whether `step` ends it and the optimizer steps)."""
    start = (step - 1) // accum_steps * accum_steps
    size = min(accum_steps, batches - start)
    return size, step - start == size


def create_training_parts(config: ExperimentConfig, model: torch.nn.Module, train_labels, steps_per_epoch: int,
                          device: torch.device) -> TrainingParts:
    """Loss, optimizer, schedule and mixed precision of `config` for `model` (already on `device`)."""
    amp_dtype = None
    if device.type == "cuda" and config.train.amp:
        amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    optimizer = create_optimizer(config.optim, model.parameters())
    accum = config.train.accum_steps
    # The schedule counts optimizer steps, so an accumulated run follows the same LR curve per epoch.
    scheduler, per_step = create_scheduler(config.sched, optimizer, config.train.epochs,
                                           optimizer_steps(steps_per_epoch, accum), config.optim.lr)
    return TrainingParts(model=model, criterion=create_loss(config.loss, train_labels).to(device),
                         optimizer=optimizer, scheduler=scheduler, per_step_schedule=per_step,
                         scaler=torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16),
                         amp_dtype=amp_dtype, grad_clip=config.optim.grad_clip, accum_steps=accum,
                         ema=create_ema(unwrap(model), config.train.ema_decay) if config.train.ema else None)


def train_step(parts: TrainingParts, images: torch.Tensor, targets: torch.Tensor, batch: dict | None = None,
               window: int = 1, last: bool = True):
    """One batch on the device: forward and backward, then, when `last` ends an accumulation window of
    `window` batches, the optimizer step (and EMA update). Returns (loss, logits), not read back.

    Each batch's mean loss is divided by `window`, so k batches of b images give the gradient of one batch
    of k*b. Under DDP the batches before the last skip the gradient all-reduce (no_sync).
    """
    syncing = last or not isinstance(parts.model, DistributedDataParallel)
    with nullcontext() if syncing else parts.model.no_sync():
        with torch.autocast(images.device.type, dtype=parts.amp_dtype, enabled=parts.amp_dtype is not None):
            logits = parts.model(images)
            loss = mixed_loss(parts.criterion, logits.float(), batch or {}, targets)
        parts.scaler.scale(loss / window if window > 1 else loss).backward()
    if not last:
        return loss, logits
    if parts.grad_clip > 0:
        parts.scaler.unscale_(parts.optimizer)
        torch.nn.utils.clip_grad_norm_(parts.model.parameters(), parts.grad_clip)
    parts.scaler.step(parts.optimizer)
    parts.scaler.update()
    parts.optimizer.zero_grad(set_to_none=True)
    if parts.per_step_schedule:
        parts.scheduler.step()
    if parts.ema is not None:
        parts.ema.update(unwrap(parts.model))
    return loss, logits


class Trainer:
    """One training run; `run()` returns the run directory. Use `train_run(config)` rather than this."""

    def __init__(self, config: ExperimentConfig, resume_dir=None, log=None):
        self.config = config
        self.resume_dir = Path(resume_dir) if resume_dir else None
        self.log = log or (lambda text: print(text, flush=True))
        self.stop = StopFlag()
        self.run_dir: Path | None = None
        self.status: dict = {}
        self.status_written = False  # by this process: a refused resume must leave the run's status alone
        self.cancelled = False
        self.dist: DistInfo | None = None

    # ----- set-up -------------------------------------------------------------------------------
    def setup(self) -> None:
        """Everything that can refuse the config runs before the run directory is made or touched."""
        self.config = config = check_config(self.config, warn=self.log)
        self.clock = time.monotonic()
        self.dist = setup_distributed(config.train.device)
        self.device = self.dist.device
        self.cuda = self.device.type == "cuda"
        self.channels_last = self.cuda and config.train.channels_last
        seed_everything(config.train.seed)
        if not self.cuda:
            torch.set_num_threads(cpu_threads(config.loader.num_workers, self.dist.world_size))
        self.stop.install()
        self.data_dir = resolve_data_dir(config)
        resumed = self._check_resume() if self.resume_dir else None
        # Rank 0 scans first (filling the scan cache and building the image cache); the others then read them.
        scan = scan_run_images(config, self.data_dir) if self.dist.is_main else None
        if scan is not None:
            split_run_images(config, scan)  # an empty split stops here, before a run directory exists
        if self.resume_dir:
            self.run_dir = self.resume_dir
        else:
            self.run_dir = self._new_run_dir()
            if self.dist.is_main:
                save_config(config, self.run_dir / runs.CONFIG_FILE)
                self._set_status(state="starting", pid=os.getpid(), epoch=0, epochs=config.train.epochs, step=0,
                                 steps_per_epoch=None, best_val_f1=None, best_epoch=None, device=self._device_name(),
                                 model=config.model.name, started_at=runs.now_iso(), error=None)
        self._build_data(scan)
        self._build_model(resumed)
        if self.dist.is_main and self.resume_dir:  # only once the checkpoint accepted it
            runs.truncate_metrics(self.run_dir, self.start_epoch,
                                  keep_steps=self.resume_pass["steps"] if self.resume_pass else 0)
            save_config(config, self.run_dir / runs.CONFIG_FILE)
            self._set_status(state="starting", pid=os.getpid(), epochs=config.train.epochs,
                             device=self._device_name(), model=config.model.name, error=None,
                             started_at=self.status.get("started_at") or runs.now_iso(), epoch=self.start_epoch,
                             step=self.resume_pass["steps"] if self.resume_pass else 0,
                             best_val_f1=self.best_val_f1, best_epoch=self.best_epoch)

    def _check_resume(self) -> dict:
        """last.pt of the run being resumed, checked against the config; nothing written yet."""
        self.status = runs.read_status(self.resume_dir)
        if self.dist.is_main and self.status.get("state") in runs.ACTIVE_STATES \
                and runs.pid_alive(self.status.get("pid")) and self.status.get("pid") != os.getpid():
            raise ConfigError.of("errors_train.resume_still_training", run_dir=self.resume_dir,
                                 pid=self.status["pid"])
        state = load_checkpoint(self.resume_dir / runs.LAST_CHECKPOINT)
        saved = state.get("config") or {}
        check_resume_changes(saved, self.config, self.resume_dir)
        if state.get("passes"):  # saved by a cancel mid-epoch: one per rank
            changed = [section for section in ("data", "augment", "loader")
                       if saved.get(section) != config_to_dict(self.config)[section]]
            if changed:  # the replay would draw other batches than the ones already trained on
                raise ConfigError.of("errors_train.resume_mid_epoch", run_dir=self.resume_dir,
                                     settings=", ".join(changed))
            if len(state["passes"]) != self.dist.world_size:
                raise ConfigError.of("errors_train.resume_world_size", run_dir=self.resume_dir,
                                     processes=len(state["passes"]))
        return state

    def _new_run_dir(self) -> Path:
        path = None
        if self.dist.is_main:
            root = runs.runs_root(self.config.run.root)
            name = self.config.run.name or runs.default_run_name(self.config.model.name)
            path = runs.create_run_dir(root, name)
        return Path(broadcast_object(str(path) if path else None))

    def _device_name(self) -> str:
        if self.cuda:
            name = torch.cuda.get_device_name(self.device)
            return f"cuda ({name})" + (f" x{self.dist.world_size}" if self.dist.enabled else "")
        return "cpu" + (f" x{self.dist.world_size} processes" if self.dist.enabled else "")

    def _build_data(self, scan=None) -> None:
        config = self.config
        if not self.dist.is_main:
            barrier()
        progress = StderrProgress("image cache") if self.dist.is_main and config.loader.cache == "memmap" else None
        data = create_run_data(config, self.data_dir, scan=scan, cache_progress=progress)
        if self.dist.is_main:
            barrier()
        self.train_set, self.val_set = data.train_set, data.val_set
        self.train_normalize, self.val_normalize = data.train_normalize, data.val_normalize  # on the device
        self.seeded_train = EpochSeededDataset(self.train_set, config.train.seed, self.dist.rank)
        self.seeded_val = EpochSeededDataset(self.val_set, config.train.seed, self.dist.rank)
        # Each rank validates its own slice (no padding, unlike DistributedSampler); results are gathered.
        val_part = Subset(self.seeded_val, range(self.dist.rank, len(self.val_set), self.dist.world_size))
        self.train_loader = create_loader_for(self.seeded_train, config, train=True, dist_info=self.dist)
        # A final fit validates nothing (and the loader factory refuses an empty dataset).
        self.val_loader = None if config.train.final_fit else create_loader_for(val_part, config, train=False,
                                                                                dist_info=self.dist)
        self.steps_per_epoch = len(self.train_loader)
        self.noise = NoiseTracker(len(self.train_set))

    def _build_model(self, resumed: dict | None = None) -> None:
        config = self.config
        model, self.weights = build_model(config.model)
        model = model.to(self.device)
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model_plain = model
        self.parts = create_training_parts(config, model, self.train_set.labels, self.steps_per_epoch, self.device)
        self.averager = WeightAverager(config.train.average, config.train.average_epochs, config.train.epochs,
                                       model, self.run_dir)
        self.start_epoch, self.best_val_f1, self.best_epoch, self.elapsed_before = 0, None, None, 0.0
        self.epochs_without_gain, self.resume_pass = 0, None
        if resumed is not None:
            self._restore(resumed)
        if self.cuda and config.train.compile:
            model = torch.compile(model)
        if self.dist.enabled:
            model = DistributedDataParallel(model, device_ids=[self.device.index] if self.cuda else None)
        self.model = self.parts.model = model

    def _restore(self, state: dict) -> None:
        parts = self.parts
        self.model_plain.load_state_dict(state["model"])
        parts.optimizer.load_state_dict(state["optimizer"])
        restore_scheduler(parts.scheduler, state["scheduler"])
        if (state.get("config") or {}).get("optim", {}).get("lr", self.config.optim.lr) != self.config.optim.lr:
            apply_peak_lr(parts.scheduler, self.config.optim.lr)  # --set optim.lr on a resume
        restore_scaler(parts.scaler, state.get("scaler"))
        if parts.ema is not None:
            parts.ema.module.load_state_dict(state["ema"])
        if state.get("averaging"):
            self.averager.load_state_dict(state["averaging"])
        self.start_epoch = int(state["epoch"])
        self.best_val_f1, self.best_epoch = state.get("best_val_f1"), state.get("best_epoch")
        self.epochs_without_gain = int(state.get("epochs_without_gain", 0))
        self.elapsed_before = float(state.get("elapsed_s", 0.0))
        if state.get("noise"):
            self.noise.load_state_dict(state["noise"])
        set_rng_state(state["rng"], self.train_loader)
        if state.get("passes"):
            self.resume_pass = state["passes"][self.dist.rank]

    def _checkpoint(self, epoch: int, rng: dict | None = None, passes: list | None = None,
                    scores: dict | None = None) -> dict:
        """The run's state after `epoch` epochs, plus, when cancelled mid-epoch, each rank's pass so far
        (`rng` is then the state at the epoch's start, each pass holding its own compute RNG). `scores`: this
        epoch's val F1 of the raw and EMA weights, which prediction's weights=auto compares."""
        parts = self.parts
        return {"model": unwrap(self.model_plain).state_dict(), "optimizer": parts.optimizer.state_dict(),
                "ema": parts.ema.module.state_dict() if parts.ema is not None else None,
                "averaging": self.averager.state_dict(), **(scores or {}),
                "scheduler": parts.scheduler.state_dict(), "scaler": parts.scaler.state_dict(), "epoch": epoch,
                "step": passes[0]["steps"] if passes else 0, "passes": passes,
                "rng": rng or rng_state(self.train_loader), "config": config_to_dict(self.config),
                "best_val_f1": self.best_val_f1, "best_epoch": self.best_epoch,
                "epochs_without_gain": self.epochs_without_gain, "elapsed_s": self.elapsed(),
                "noise": self.noise.state_dict()}

    # ----- the loop -----------------------------------------------------------------------------
    def run(self) -> Path:
        try:
            self.setup()
            self._loop()
            # All ranks done before the group is torn down: a rank destroying it while its peer still
            # talks to it aborts the peer ("terminate called without an active exception").
            barrier()
        except Exception as error:
            # Ctrl-C in a terminal also reaches the DataLoader workers, whose exit then surfaces as an
            # error in the loop: with a stop requested, that is still a cancel.
            if not (isinstance(error, Cancelled) or self.stop.requested) or self.run_dir is None:
                self._fail(error)
                raise
            self.cancelled = True
            if self.dist.is_main:
                self._set_status(state="cancelled")
                self._say(f"cancelled; resume with: python -m core train --resume {self.run_dir}")
        except BaseException as error:
            self._fail(error)
            raise
        finally:
            self.stop.restore()
            cleanup_distributed()
        return self.run_dir

    def _fail(self, error: BaseException) -> None:
        if self.dist is not None and self.dist.is_main and self.run_dir is not None and self.status_written:
            text = str(error) if isinstance(error, (ConfigError, DataError)) else f"{type(error).__name__}: {error}"
            self._set_status(state="failed", error=text)
            self._write_log(f"failed: {text}")
            traceback.print_exc(file=sys.stderr)

    def _loop(self) -> None:
        config = self.config
        if self.dist.is_main:
            if not self.resume_dir:
                save_checkpoint(self.run_dir / runs.LAST_CHECKPOINT, self._checkpoint(0))
            self._set_status(state="running", steps_per_epoch=self.steps_per_epoch, epoch=self.start_epoch,
                             **({"weights": self.weights.to_dict()} if self.weights and not self.resume_dir else {}))
            self._say(f"run {self.run_dir}: {config.model.name} on {self._device_name()}, {len(self.train_set)} train / "
                      f"{len(self.val_set)} val images, {self.steps_per_epoch} steps per epoch")
            if self.weights is not None and not self.resume_dir:
                self._say(self.weights.line())
            if self.resume_dir:
                self._say(f"resumed after epoch {self.start_epoch}"
                          + (f", step {self.resume_pass['steps']}" if self.resume_pass else ""))
        for epoch in range(self.start_epoch + 1, config.train.epochs + 1):
            epoch_start, self.last_epoch = time.monotonic(), epoch
            train_stats = self._train_epoch(epoch)
            # A final fit has no validation set (check_config refused what needs one): the last epoch is best.
            final = config.train.final_fit
            val_stats = None if final else self._validate(self.model)
            ema_stats = self._validate(self.parts.ema.module) if self.parts.ema is not None and not final else None
            if not self.parts.per_step_schedule:
                self.parts.scheduler.step(None if final else val_stats["f1"])
            # With EMA on, an epoch counts by the better of its two sets of weights (prediction can pick either).
            score = None if final else max(val_stats["f1"], ema_stats["f1"]) if ema_stats else val_stats["f1"]
            self.averager.end_epoch(epoch, unwrap(self.model_plain), score if score is not None else float(epoch),
                                    self._save_weights if self.dist.is_main else None)
            improved = final or self.best_val_f1 is None or score > self.best_val_f1
            if improved:
                self.best_val_f1, self.best_epoch = score, epoch
                self.epochs_without_gain = 0
            else:
                self.epochs_without_gain += 1
            if self.dist.is_main:
                self._end_epoch(epoch, train_stats, val_stats, ema_stats, time.monotonic() - epoch_start, improved)
            patience = config.train.early_stop_patience
            if patience and self.epochs_without_gain >= patience and epoch < config.train.epochs:
                if self.dist.is_main:
                    self._say(f"early stop: no better val F1 for {patience} epochs (best {self.best_val_f1:.4f} "
                              f"at epoch {self.best_epoch})")
                break
        self._average_weights()
        if self.dist.is_main:
            self._set_status(state="finished")
            score = "final fit, no validation" if self.best_val_f1 is None else f"best val F1 {self.best_val_f1:.4f}"
            self._say(f"finished: {score} at epoch {self.best_epoch}; {self.run_dir}")

    def _save_weights(self, path: Path) -> None:
        save_checkpoint(path, {"model": unwrap(self.model_plain).state_dict()})

    def _average_weights(self) -> None:
        """train.average: the averaged weights, their BatchNorm statistics recomputed on the training images,
        validated and saved as averaged.pt (a checkpoint prediction can pick like best.pt)."""
        config = self.config
        if config.train.average == "none":
            return
        import copy

        barrier()  # rank 0 has written the last best-<epoch>.pt that the other ranks read
        average = self.averager.averaged_model(copy.deepcopy(unwrap(self.model_plain)),
                                               lambda path: load_checkpoint(path)["model"])
        if average is None:
            if self.dist.is_main:
                self._say(f"train.average={config.train.average}: no epoch was averaged (stopped early); "
                          f"no {AVERAGED_CHECKPOINT}")
            return
        recompute_batchnorm(average, (images_to_device(batch["image"], self.device, self.channels_last,
                                                       self.train_normalize) for batch in self.train_loader))
        stats = None if config.train.final_fit else self._validate(average.module)
        if self.dist.is_main:
            epochs = (list(range(config.train.epochs - config.train.average_epochs + 1, self.last_epoch + 1))
                      if config.train.average == "swa" else sorted(e for _, e in self.averager.top))
            save_checkpoint(self.run_dir / AVERAGED_CHECKPOINT, {
                "model": average.module.state_dict(), "epoch": max(epochs), "val_f1": stats and stats["f1"],
                "averaged_epochs": epochs, "config": config_to_dict(config)})
            scored = "no validation (final fit)" if stats is None else f"val f1 {stats['f1']:.4f}"
            self._say(f"averaged weights ({config.train.average}, epochs {', '.join(map(str, epochs))}): "
                      f"{scored}; saved {AVERAGED_CHECKPOINT}")

    def _cancel_due(self, step: int) -> bool:
        """Whether to stop before `step` (steps_per_epoch + 1: before validating). Under torchrun the ranks
        agree only every log_every steps and before validating: asking at every step would make each step
        wait for the slowest rank and for the GPU."""
        accum = self.config.train.accum_steps
        before_validating = step == self.steps_per_epoch + 1
        # Only between accumulation windows: the gradients summed so far are not part of a checkpoint.
        if accum > 1 and (step - 1) % accum and not before_validating:
            return False
        if not self.dist.enabled:
            return self.stop.requested
        window = (step - 1) // accum if accum > 1 else step
        if window % self.config.train.log_every and not before_validating:
            return False
        return any_rank(self.stop.requested, self.device)

    def _cancel_mid_epoch(self, epoch: int, epoch_rng: dict, done: EpochPass) -> None:
        """Save last.pt with every rank's pass so far, so that a resume continues at this step; then stop."""
        passes = all_gather_objects({**done.state_dict(), "rng": rng_state(self.train_loader)})
        if self.dist.is_main and done.steps > 0:
            save_checkpoint(self.run_dir / runs.LAST_CHECKPOINT, self._checkpoint(epoch - 1, epoch_rng, passes))
            self._set_status(epoch=epoch - 1, step=done.steps)
        raise Cancelled()

    def _train_epoch(self, epoch: int) -> dict:
        self.model.train()
        epoch_rng = rng_state(self.train_loader)
        set_epoch(self.train_loader, epoch - 1)  # DistributedSampler.set_epoch and our epoch-seeded samplers
        self.seeded_train.set_epoch(epoch - 1)
        self.seeded_val.set_epoch(epoch - 1)
        done, resumed = EpochPass(self.device), self.resume_pass
        self.resume_pass = None
        if resumed and resumed["steps"] >= self.steps_per_epoch:  # cancelled before validating: nothing to replay
            done.load_state_dict(resumed)
            set_rng_state(resumed["rng"], self.train_loader)
        else:
            self._train_pass(epoch, epoch_rng, done, resumed)
        if self._cancel_due(self.steps_per_epoch + 1):
            self._cancel_mid_epoch(epoch, epoch_rng, done)
        state = done.state_dict()
        parts = all_gather_objects((state["indices"].numpy(), state["losses"].numpy(), state["predictions"].numpy(),
                                    state["loss_sum"], state["count"]))
        all_indices = np.concatenate([p[0] for p in parts])
        all_losses = np.concatenate([p[1] for p in parts])
        all_predictions = np.concatenate([p[2] for p in parts])
        self.noise.record_epoch(all_indices, all_losses, all_predictions)
        targets = self.train_set.labels[all_indices]
        metrics = classification_metrics(targets, all_predictions)
        return {"loss": sum(p[3] for p in parts) / max(1, sum(p[4] for p in parts)), **metrics}

    def _train_pass(self, epoch: int, epoch_rng: dict, done: EpochPass, resumed: dict | None) -> None:
        """One pass over the training loader; after a mid-epoch resume the first `resumed["steps"]` batches
        are drawn (so that every random stream advances as it did) but not trained on again."""
        log_every = self.config.train.log_every
        for step, batch in enumerate(self.train_loader, start=1):
            replaying = resumed is not None and step <= resumed["steps"]
            if self._cancel_due(step):
                if replaying:
                    raise Cancelled()  # last.pt already holds this state
                self._cancel_mid_epoch(epoch, epoch_rng, done)
            if replaying:
                if step == resumed["steps"]:
                    done.load_state_dict(resumed)
                    torch.set_rng_state(resumed["rng"]["torch"])  # the model's own (dropout) stream at that step
                    if "cuda" in resumed["rng"] and torch.cuda.is_available():
                        torch.cuda.set_rng_state_all(resumed["rng"]["cuda"])
                continue
            images = images_to_device(batch["image"], self.device, self.channels_last, self.train_normalize)
            targets = batch["label"].to(self.device, non_blocking=self.cuda)
            window, last = accumulation_window(step, self.steps_per_epoch, self.config.train.accum_steps)
            loss, logits = train_step(self.parts, images, targets, batch, window=window, last=last)
            done.add(batch["index"], loss, logits, targets)
            if self.dist.is_main and (step % log_every == 0 or step == self.steps_per_epoch):
                runs.append_metrics(self.run_dir, {"kind": "step", "epoch": epoch, "step": step,
                                                   "steps_per_epoch": self.steps_per_epoch,
                                                   "loss": round(float(loss.detach()), 6),  # the one read-back
                                                   "lr": current_lr(self.parts.optimizer),
                                                   "elapsed_s": round(self.elapsed(), 3)})
                self._set_status(step=step, epoch=epoch - 1)

    @torch.no_grad()
    def _validate(self, model) -> dict:
        model.eval()
        loss_sum, targets_all, predictions_all = torch.zeros((), device=self.device), [], []
        for batch in self.val_loader:
            images = images_to_device(batch["image"], self.device, self.channels_last, self.val_normalize)
            targets = batch["label"].to(self.device, non_blocking=self.cuda)
            with torch.autocast(self.device.type, dtype=self.parts.amp_dtype, enabled=self.parts.amp_dtype is not None):
                logits = model(images).float()
            loss_sum += F.cross_entropy(logits, targets, reduction="sum")
            targets_all.append(batch["label"])
            predictions_all.append(logits.argmax(1))
        local = (torch.cat(targets_all).numpy() if targets_all else np.zeros(0, np.int64),
                 torch.cat(predictions_all).cpu().numpy() if predictions_all else np.zeros(0, np.int64),
                 float(loss_sum))
        parts = all_gather_objects(local)
        targets = np.concatenate([p[0] for p in parts])
        predictions = np.concatenate([p[1] for p in parts])
        return {"loss": sum(p[2] for p in parts) / max(1, len(targets)), **classification_metrics(targets, predictions)}

    def _end_epoch(self, epoch: int, train: dict, val: dict | None, ema: dict | None, epoch_s: float,
                   improved: bool) -> None:
        """Log the epoch (val fields null in a final fit), checkpoint it, update status and suspects."""
        val_fields = {"val_loss": None, "val_acc": None, "val_f1": None, "per_class_f1": None, "confusion": None}
        if val is not None:
            val_fields = {"val_loss": round(val["loss"], 6), "val_acc": round(val["accuracy"], 6),
                          "val_f1": round(val["f1"], 6), "per_class_f1": val["per_class_f1"],
                          "confusion": val["confusion"]}
        ema_line = {"ema_val_loss": round(ema["loss"], 6), "ema_val_f1": round(ema["f1"], 6)} if ema else {}
        runs.append_metrics(self.run_dir, {**ema_line,
            "kind": "epoch", "epoch": epoch, "train_loss": round(train["loss"], 6),
            "train_acc": round(train["accuracy"], 6), "train_f1": round(train["f1"], 6),
            **val_fields, "lr": current_lr(self.parts.optimizer),
            "elapsed_s": round(self.elapsed(), 3), "epoch_s": round(epoch_s, 3)})
        checkpoint = self._checkpoint(epoch, scores={"val_f1": val["f1"] if val else None,
                                                     "ema_val_f1": ema["f1"] if ema else None})
        if improved:
            save_checkpoint(self.run_dir / runs.BEST_CHECKPOINT, checkpoint)
        save_checkpoint(self.run_dir / runs.LAST_CHECKPOINT, checkpoint)
        write_suspects(self.run_dir, self.noise.suspects(self.train_set.images, self.config.train.noise_skip_epochs,
                                                         self.config.train.noise_min_fraction,
                                                         tuple(self.config.data.age_edges)))
        self._set_status(epoch=epoch, step=0, best_val_f1=self.best_val_f1, best_epoch=self.best_epoch)
        ema_text = f" | EMA val f1 {ema['f1']:.4f}" if ema else ""
        scored = "no validation (final fit)" if val is None else \
            f"val loss {val['loss']:.4f} acc {val['accuracy']:.4f} f1 {val['f1']:.4f}{ema_text}"
        self._say(f"epoch {epoch}/{self.config.train.epochs}: train loss {train['loss']:.4f} f1 {train['f1']:.4f} | "
                  f"{scored}{' (best)' if improved and val is not None else ''} | {epoch_s:.1f}s")

    def elapsed(self) -> float:
        return self.elapsed_before + time.monotonic() - self.clock

    def _say(self, text: str) -> None:
        """A console line, also appended to RUN_DIR/train.log (rank 0 only calls this)."""
        self.log(text)
        self._write_log(text)

    def _write_log(self, text: str) -> None:
        if self.run_dir is not None:
            with open(self.run_dir / runs.LOG_FILE, "a", encoding="utf-8") as handle:
                handle.write(f"{text}\n")

    def _set_status(self, **changes) -> None:
        self.status = runs.write_status(self.run_dir, {**self.status, **changes})
        self.status_written = True


def train_run(config: ExperimentConfig, resume_dir=None, log=None) -> Path:
    """Train with `config` (or continue the run in `resume_dir`); returns the run directory."""
    return Trainer(config, resume_dir=resume_dir, log=log).run()
