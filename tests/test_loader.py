"""The loader factory: every sampler, every invalid combination, workers, collate and the fast path."""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch.utils.data import (BatchSampler, Dataset, DistributedSampler, RandomSampler, SequentialSampler,
                              SubsetRandomSampler, WeightedRandomSampler)

from core.errors import ConfigError
from core.loader import (IMAGENET_MEAN, IMAGENET_STD, BatchNormalize, LoaderConfig, MixCollate, create_loader, fast_pipeline, prepare_batch,
                         set_epoch, validate_loader_config)
from core.machine import available_cores
from core.params import params_of, section_from_dict

CPU = dict(num_workers=0, pin_memory=False)


class Toy(Dataset):
    """Items carry their index, their class and the process that produced them (to see workers)."""

    def __init__(self, labels):
        self.labels = np.asarray(labels)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        info = torch.utils.data.get_worker_info()
        return {"image": np.full((4, 4, 3), index % 256, np.uint8), "label": int(self.labels[index]),
                "index": index, "pid": os.getpid(), "worker": -1 if info is None else info.id,
                "draw": float(np.random.rand())}


IMBALANCED = [0] * 90 + [1] * 9 + [2] * 1


def order(loader):
    return [int(i) for batch in loader for i in batch["index"]]


def test_every_param_has_help_and_section_round_trips():
    params = params_of(LoaderConfig)
    assert {p.name for p in params} >= {"batch_size", "shuffle", "sampler", "num_samples", "batch_sampler",
                                       "num_workers", "collate", "mixup_alpha", "pin_memory", "drop_last", "timeout",
                                       "seed_workers", "persistent_workers", "prefetch_factor", "cache", "decode"}
    assert all(len(p.help) > 40 for p in params)
    config = section_from_dict(LoaderConfig, {"batch_size": 8, "sampler": "weighted_random", "shuffle": False})
    assert config.batch_size == 8 and config.sampler == "weighted_random"
    with pytest.raises(ConfigError, match="loader.batch_size: 0 is below"):
        section_from_dict(LoaderConfig, {"batch_size": 0}, "loader.")


@pytest.mark.parametrize("sampler,expected", [
    ("sequential", SequentialSampler), ("random", RandomSampler), ("random_replacement", RandomSampler),
    ("subset_random", SubsetRandomSampler), ("weighted_random", WeightedRandomSampler)])
def test_factory_builds_each_sampler(sampler, expected):
    config = LoaderConfig(batch_size=10, shuffle=False, sampler=sampler, **CPU)
    loader = create_loader(Toy(IMBALANCED), config, seed=3)
    inner = getattr(loader.sampler, "inner", loader.sampler)
    assert isinstance(inner, expected)
    assert len(order(loader)) == 100


def test_sequential_and_no_shuffle_keep_the_order():
    for config in (LoaderConfig(batch_size=7, shuffle=False, **CPU),
                   LoaderConfig(batch_size=7, shuffle=False, sampler="sequential", **CPU)):
        assert order(create_loader(Toy(IMBALANCED), config)) == list(range(100))


def test_shuffle_is_seeded_per_epoch_and_resumable():
    config = LoaderConfig(batch_size=10, shuffle=True, **CPU)
    first = create_loader(Toy(IMBALANCED), config, seed=1)
    epoch0, epoch1 = order(first), order(first)
    assert sorted(epoch0) == list(range(100)) and epoch0 != list(range(100))
    assert epoch0 != epoch1  # the epoch advances by itself
    resumed = create_loader(Toy(IMBALANCED), config, seed=1)
    set_epoch(resumed, 1)
    assert order(resumed) == epoch1
    assert order(create_loader(Toy(IMBALANCED), config, seed=2)) != epoch0


def test_random_replacement_repeats_and_num_samples_sets_the_length():
    config = LoaderConfig(batch_size=50, shuffle=False, sampler="random_replacement", num_samples=300, **CPU)
    drawn = order(create_loader(Toy(IMBALANCED), config))
    assert len(drawn) == 300 and len(set(drawn)) < 100


def test_subset_random_stays_in_one_fixed_subset():
    config = LoaderConfig(batch_size=5, shuffle=False, sampler="subset_random", num_samples=20, **CPU)
    loader = create_loader(Toy(IMBALANCED), config, seed=4)
    a, b = order(loader), order(loader)
    assert len(a) == 20 and set(a) == set(b) and a != b
    explicit = create_loader(Toy(IMBALANCED), config, indices=[1, 2, 3])
    assert sorted(order(explicit)) == [1, 2, 3]


def test_weighted_random_balances_the_classes():
    config = LoaderConfig(batch_size=100, shuffle=False, sampler="weighted_random", num_samples=3000, **CPU)
    loader = create_loader(Toy(IMBALANCED), config)
    counts = Counter(int(label) for batch in loader for label in batch["label"])
    assert all(800 < counts[c] < 1200 for c in range(3)), counts  # unbalanced would be 2700/270/30


def test_weighted_random_needs_labels():
    class NoLabels(Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, index):
            return {"image": np.zeros((2, 2, 3), np.uint8), "index": index}

    with pytest.raises(ConfigError, match="weighted_random needs the class label"):
        create_loader(NoLabels(), LoaderConfig(shuffle=False, sampler="weighted_random", **CPU))
    loader = create_loader(NoLabels(), LoaderConfig(batch_size=2, shuffle=False, sampler="weighted_random", **CPU),
                           labels=[0, 1])  # explicit labels work for any dataset
    assert len(order(loader)) == 2


def test_batch_sampler_wraps_the_sampler():
    config = LoaderConfig(batch_size=8, shuffle=False, sampler="random", batch_sampler=True, drop_last=True, **CPU)
    loader = create_loader(Toy(IMBALANCED), config)
    assert isinstance(loader.batch_sampler, BatchSampler) and loader.batch_sampler.batch_size == 8
    sizes = [len(batch["index"]) for batch in loader]
    assert sizes == [8] * 12  # 100 // 8, the last 4 dropped


@pytest.mark.parametrize("sampler,shuffled", [("distributed", True), ("none", True), ("sequential", False)])
def test_distributed_ranks_split_the_data(sampler, shuffled):
    config = LoaderConfig(batch_size=10, shuffle=sampler == "none", sampler=sampler, **CPU)
    loaders = [create_loader(Toy(IMBALANCED), config, distributed=True, rank=r, world_size=2, seed=5) for r in (0, 1)]
    assert all(isinstance(loader.sampler, DistributedSampler) for loader in loaders)
    parts = [order(loader) for loader in loaders]
    assert sorted(parts[0] + parts[1]) == list(range(100)) and not set(parts[0]) & set(parts[1])
    assert (parts[0] != list(range(0, 100, 2))) == shuffled


def test_distributed_weighted_sampler_gives_each_rank_its_share():
    config = LoaderConfig(batch_size=10, shuffle=False, sampler="weighted_random", num_samples=1000, **CPU)
    loaders = [create_loader(Toy(IMBALANCED), config, distributed=True, rank=r, world_size=2) for r in (0, 1)]
    parts = [order(loader) for loader in loaders]
    assert len(parts[0]) == len(parts[1]) == 500 and parts[0] != parts[1]
    labels = Counter(IMBALANCED[i] for i in parts[0] + parts[1])
    assert labels[2] > 200  # class 2 is 1% of the data but about a third of the draws


@pytest.mark.parametrize("changes,key,words", [
    (dict(shuffle=True, sampler="random"), "loader.shuffle", "sampler already decides"),
    (dict(shuffle=True, batch_sampler=True), "loader.batch_sampler", "mutually exclusive|cannot be combined"),
    (dict(num_workers=0, prefetch_factor=4), "loader.prefetch_factor", "needs num_workers > 0"),
    (dict(num_workers=0, persistent_workers=True), "loader.persistent_workers", "needs num_workers > 0"),
    (dict(num_workers=0, timeout=5.0), "loader.timeout", "ignored with num_workers = 0"),
    (dict(num_workers=available_cores() + 1), "loader.num_workers", "more than the"),
    (dict(shuffle=False, sampler="sequential", num_samples=5), "loader.num_samples", "only applies"),
    (dict(shuffle=False, sampler="distributed"), "loader.sampler", "distributed run"),
    (dict(shuffle=False, sampler="subset_random", num_samples=500), "loader.num_samples", "cannot be drawn"),
    (dict(batch_size=200, drop_last=True), "loader.drop_last", "no batch is left"),
])
def test_invalid_combinations_are_named_in_words(changes, key, words):
    config = replace(LoaderConfig(), **changes)
    with pytest.raises(ConfigError, match=f"^{key}: .*({words})"):
        validate_loader_config(config, dataset_len=100)
    with pytest.raises(ConfigError, match=key):
        create_loader(Toy(IMBALANCED), config)


def test_a_valid_config_passes_validation():
    assert validate_loader_config(LoaderConfig(num_workers=min(2, available_cores())), 100)


def test_workers_run_in_other_processes_with_distinct_seeds():
    workers = min(2, available_cores())
    config = LoaderConfig(batch_size=5, shuffle=False, num_workers=workers, pin_memory=False)
    batches = list(create_loader(Toy(IMBALANCED[:20]), config, seed=0))
    pids = {int(p) for batch in batches for p in batch["pid"]}
    assert os.getpid() not in pids and len(pids) == workers
    assert {int(w) for batch in batches for w in batch["worker"]} == set(range(workers))
    first_draws = {int(b["worker"][0]): float(b["draw"][0]) for b in batches[:workers]}
    assert len(set(first_draws.values())) == workers  # seeded apart: not the parent's numpy state
    again = list(create_loader(Toy(IMBALANCED[:20]), config, seed=0))
    assert [b["draw"].tolist() for b in again] == [b["draw"].tolist() for b in batches]  # reproducible


def test_default_collate_stacks_uint8_channels_first():
    loader = create_loader(Toy(IMBALANCED), LoaderConfig(batch_size=4, shuffle=False, **CPU))
    batch = next(iter(loader))
    assert batch["image"].shape == (4, 3, 4, 4) and batch["image"].dtype == torch.uint8
    assert batch["image"][2, 1, 0, 0] == 2 and batch["label"].dtype == torch.int64


@pytest.mark.parametrize("mode", ["mixup", "cutmix"])
def test_mixing_collates_mix_images_and_targets_consistently(mode):
    np.random.seed(0)
    samples = [{"image": np.full((8, 8, 3), 10 * i, np.uint8), "label": i} for i in range(4)]
    batch = MixCollate(mode, alpha=1.0)(samples)
    lam, index = float(batch["mix_lambda"]), batch["mix_index"]
    assert batch["target"].shape == (4, 18)
    assert torch.allclose(batch["target"].sum(1), torch.ones(4))
    for i in range(4):
        if int(index[i]) != i:
            assert batch["target"][i, i] == pytest.approx(lam, abs=1e-6)
    mean_pixel = batch["image"].float().mean(dim=(1, 2, 3))
    expected = torch.tensor([lam * 10 * i + (1 - lam) * 10 * int(index[i]) for i in range(4)])
    assert torch.allclose(mean_pixel, expected, atol=0.6)  # cutmix's lam is the true pasted share


def test_fast_pipeline_moves_normalize_to_the_batch(demo_data_dir):
    import albumentations as A

    full = A.Compose([A.Resize(16, 12), A.Normalize(mean=(0.1, 0.2, 0.3), std=(0.3, 0.2, 0.1), max_pixel_value=200.0)])
    per_image, normalize, size = fast_pipeline(full)
    assert size == (16, 12) and isinstance(normalize, BatchNormalize)
    assert len(full.transforms) == 2 and len(per_image.transforms) == 1  # a copy: the original keeps its Normalize
    image = np.random.default_rng(0).integers(0, 256, (40, 30, 3), dtype=np.uint8)
    reference = torch.from_numpy(full(image=image)["image"]).permute(2, 0, 1)
    fast = per_image(image=image)["image"]
    assert fast.dtype == np.uint8
    batch = prepare_batch({"image": torch.from_numpy(fast[None]).permute(0, 3, 1, 2)}, "cpu", normalize)
    assert torch.allclose(batch["image"][0], reference, atol=1e-5)
    # no leading Resize: no size for the shortcuts; Normalize not last: it stays in the pipeline (float out,
    # which the device leaves as it is), and the device's normaliser is ImageNet's
    assert fast_pipeline(A.Compose([A.HorizontalFlip(), A.Resize(8, 8)]))[2] is None
    stays = A.Compose([A.Normalize(), A.HorizontalFlip()])
    assert fast_pipeline(stays)[0] is stays and fast_pipeline(stays)[1] == BatchNormalize(IMAGENET_MEAN, IMAGENET_STD)


def test_every_setting_reaches_the_dataloader():
    from core.loader import seed_worker

    config = LoaderConfig(batch_size=8, num_workers=1, prefetch_factor=3, timeout=7.0, persistent_workers=True,
                          pin_memory=True, seed_workers=True, drop_last=True)
    loader = create_loader(Toy(IMBALANCED), config, seed=11)
    assert (loader.batch_size, loader.num_workers, loader.prefetch_factor, loader.timeout) == (8, 1, 3, 7.0)
    assert loader.persistent_workers is True and loader.pin_memory is True and loader.drop_last is True
    assert loader.worker_init_fn is seed_worker and loader.generator.initial_seed() == 11
    plain = create_loader(Toy(IMBALANCED), replace(config, prefetch_factor=None, timeout=0.0, persistent_workers=False,
                                                   pin_memory=False, seed_workers=False, drop_last=False), seed=12)
    assert plain.prefetch_factor == 2 and plain.timeout == 0 and plain.persistent_workers is False  # torch's defaults
    assert plain.pin_memory is False and plain.worker_init_fn is None and plain.drop_last is False
    assert plain.generator.initial_seed() == 12
    auto = create_loader(Toy(IMBALANCED), replace(config, pin_memory=None))
    assert auto.pin_memory == torch.cuda.is_available()
    batched = create_loader(Toy(IMBALANCED), replace(config, shuffle=False, sampler="random", batch_sampler=True))
    assert batched.batch_sampler.drop_last is True and batched.batch_sampler.batch_size == 8


class PipelineDraws(Dataset):
    """Constant images through a random A.Compose (as MaskTrainDataset holds it): the output shows the draw."""

    def __init__(self, transform, size: int = 8):
        self.transform, self.size = transform, size

    def __len__(self):
        return self.size

    def __getitem__(self, index):
        import random

        image = np.full((8, 8, 3), 128, np.uint8)
        info = torch.utils.data.get_worker_info()
        return {"image": self.transform(image=image)["image"], "label": 0, "index": index,
                "worker": info.id, "random": random.random()}


def _draws_per_worker(seed_workers: bool, seed: int = 0) -> dict:
    import albumentations as A

    pipeline = A.Compose([A.RandomBrightnessContrast(brightness_limit=0.5, contrast_limit=0.0, p=1.0)], seed=7)
    config = LoaderConfig(batch_size=2, shuffle=False, num_workers=2, pin_memory=False, seed_workers=seed_workers)
    draws = {}
    for batch in create_loader(PipelineDraws(pipeline), config, seed=seed):
        for worker, image, number in zip(batch["worker"], batch["image"], batch["random"]):
            draws.setdefault(int(worker), []).append((int(image[0, 0, 0]), round(float(number), 12)))
    return draws


@pytest.mark.skipif(available_cores() < 2, reason="needs 2 CPU cores for 2 workers")
def test_seed_worker_gives_each_worker_its_own_repeatable_pipeline_and_random_draws():
    first, again = _draws_per_worker(True), _draws_per_worker(True)
    assert set(first) == {0, 1} and first == again  # two identical runs draw the same
    pixels = {worker: [pixel for pixel, _ in draws] for worker, draws in first.items()}
    numbers = {worker: [number for _, number in draws] for worker, draws in first.items()}
    assert pixels[0] != pixels[1] and len(set(pixels[0] + pixels[1])) > 2  # brightness drawn per worker
    assert not set(numbers[0]) & set(numbers[1])  # `random` streams differ between workers
    assert _draws_per_worker(True, seed=1) != first  # the run's seed decides the draws
    # Without worker_init_fn torch still seeds `random` per worker, but the pipeline's own generator is
    # forked from the parent: both workers draw the same brightness sequence. That is what seed_worker fixes.
    unseeded = _draws_per_worker(False)
    assert [p for p, _ in unseeded[0]] == [p for p, _ in unseeded[1]]
    assert not {n for _, n in unseeded[0]} & {n for _, n in unseeded[1]}


# ----- mixing collates on real images: the same value range as the plain path --------------------------
def _demo_loader(data_dir, pipeline, collate):
    from core.data import create_dataset

    dataset = create_dataset(data_dir, "all", transform=pipeline)
    return create_loader(dataset, LoaderConfig(batch_size=8, shuffle=False, collate=collate, mixup_alpha=1.0, **CPU),
                         seed=3)


@pytest.mark.parametrize("mode", ["mixup", "cutmix"])
def test_mixed_batches_without_normalize_reach_the_model_in_the_plain_paths_range(demo_data_dir, mode):
    import albumentations as A

    no_normalize = A.Compose([A.Resize(32, 24)])  # uint8 out: ImageNet's Normalize on the device, as in training
    plain = next(iter(_demo_loader(demo_data_dir, no_normalize, "default")))
    mixed = next(iter(_demo_loader(demo_data_dir, no_normalize, mode)))
    assert mixed["image"].dtype == plain["image"].dtype == torch.uint8
    plain_in, mixed_in = (prepare_batch(b, "cpu", None)["image"] for b in (plain, mixed))
    assert plain_in.dtype == mixed_in.dtype == torch.float32
    low, high = (-0.485 / 0.229, (1 - 0.406) / 0.225)  # ImageNet's normalised range
    assert low - 1e-4 <= float(mixed_in.min()) and float(mixed_in.max()) <= high + 1e-4 and float(plain_in.max()) > 1.0
    # The mix is of the same images: pixel for pixel, lam * own + (1 - lam) * partner (to uint8 rounding).
    lam, index = float(mixed["mix_lambda"]), mixed["mix_index"]
    if mode == "mixup":
        expected = lam * plain["image"].float() + (1 - lam) * plain["image"][index].float()
        assert (mixed["image"].float() - expected).abs().max() <= 0.5 + 1e-4
    else:
        assert ((mixed["image"] == plain["image"]) | (mixed["image"] == plain["image"][index])).all()


@pytest.mark.parametrize("mode", ["mixup", "cutmix"])
def test_mixed_batches_with_normalize_match_the_plain_normalised_range(demo_data_dir, mode):
    import albumentations as A

    per_image, normalize, _ = fast_pipeline(A.Compose([A.Resize(32, 24), A.Normalize()]))
    plain, mixed = (prepare_batch(next(iter(_demo_loader(demo_data_dir, per_image, collate))), "cpu", normalize)["image"]
                    for collate in ("default", mode))
    assert plain.dtype == mixed.dtype == torch.float32
    low, high = float(plain.min()), float(plain.max())
    assert low < -1.0 and high > 1.0  # normalised, not 0..1 or 0..255
    assert low - 1e-5 <= float(mixed.min()) and float(mixed.max()) <= high + 1e-5  # a mix stays within its inputs


@pytest.mark.parametrize("mode", ["mixup", "cutmix"])
def test_a_short_training_run_with_a_mixing_collate_finishes(demo_data_dir, tmp_path, mode):
    import albumentations as A

    from core.train import runs
    from core.train.trainer import train_run
    from tests.test_train_support import tiny_config

    pipeline = tmp_path / "no_normalize.json"
    A.save(A.Compose([A.Resize(48, 36), A.HorizontalFlip()]), str(pipeline), data_format="json")
    config = tiny_config(demo_data_dir, tmp_path / "runs", "train.epochs=2", f"loader.collate={mode}",
                         f"augment.train={pipeline}")
    run_dir = train_run(config, log=lambda text: None)
    status = runs.read_status(run_dir)
    assert status["state"] == "finished" and status["epoch"] == 2
    epochs = runs.read_metrics(run_dir, "epoch")
    assert all(np.isfinite(e["train_loss"]) and np.isfinite(e["val_loss"]) for e in epochs)
    assert 0.0 <= status["best_val_f1"] <= 1.0
