"""decode=gpu: which pipelines the device can run, the fallback line on a machine without CUDA, and the batch
decoder itself — run here on the CPU (torchvision's decode_jpeg takes the device as an argument), so what the
GPU computes is checked against the CPU path without a GPU. Its speed is bench/gpu_check.sh's job."""
from __future__ import annotations

import albumentations as A
import numpy as np
import pytest
import torch

from core.loader import DraftReader, LoaderConfig, fast_pipeline, finish_images
from core.loader.collate import collate_batch
from core.loader.gpu_decode import EncodedReader, GpuDecoder, gpu_plan, plan_for
from core.loader.readers import train_image_paths

PIPELINE = A.Compose([A.Resize(64, 48), A.HorizontalFlip(p=0.5), A.Normalize()])


def test_only_resize_flip_and_normalize_go_to_the_device():
    plan, why = plan_for(PIPELINE)
    assert why is None and plan.size == (64, 48) and plan.flip_p == 0.5
    assert plan_for(A.Compose([A.Resize(64, 48)]))[0].normalize.mean == (0.485, 0.456, 0.406)  # ImageNet's
    for pipeline, step in ((A.Compose([A.Resize(64, 48), A.Blur(), A.Normalize()]), "Blur"),
                           (A.Compose([A.CenterCrop(300, 200), A.Resize(64, 48)]), "CenterCrop")):
        plan, why = plan_for(pipeline)
        assert plan is None and step in why and "decode=draft" in why


def test_without_cuda_the_trainer_falls_back_to_the_cpu_path_with_one_line(demo_data_dir):
    from core.config import load_config
    from core.loader.fast_pipeline import BatchNormalize
    from core.train.inputs import device_inputs

    assert "no CUDA" in gpu_plan(PIPELINE, LoaderConfig(decode="gpu"), cuda=False)[1]
    assert "memmap" in gpu_plan(PIPELINE, LoaderConfig(decode="gpu", cache="memmap"), cuda=True)[1]
    assert "mixup" in gpu_plan(PIPELINE, LoaderConfig(decode="gpu", collate="mixup"), cuda=True)[1]
    assert gpu_plan(PIPELINE, LoaderConfig(decode="gpu", collate="mixup"), cuda=True, train=False)[0] is not None
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: decode=gpu runs for real")
    lines = []
    config = load_config(overrides=[f"data.dir={demo_data_dir}", "loader.decode=gpu", "loader.num_workers=0"])
    (train, train_finish), (val, val_finish) = device_inputs(config, warn=lines.append)
    assert train is not None and isinstance(train_finish, BatchNormalize) and isinstance(val_finish, BatchNormalize)
    assert len(lines) <= 1 and all("no CUDA" in line for line in lines)


def _encoded_batch(paths):
    reader = EncodedReader()
    return collate_batch([{"image": reader(path), "label": 0} for path in paths])["image"]


def test_the_batch_decoder_matches_the_cpu_path_within_a_few_levels(demo_data_dir):
    paths = train_image_paths(demo_data_dir)[:6]
    no_flip = A.Compose([A.Resize(64, 48), A.Normalize()])
    plan, _ = plan_for(no_flip)
    encoded = _encoded_batch(paths)
    assert isinstance(encoded, list) and encoded[0].dtype == torch.uint8 and encoded[0].dim() == 1
    on_device = finish_images(encoded, "cpu", GpuDecoder(plan), channels_last=True)
    assert on_device.shape == (6, 3, 64, 48) and on_device.is_contiguous(memory_format=torch.channels_last)
    per_image, normalize, size = fast_pipeline(no_flip)
    reader = DraftReader(size)
    cpu = finish_images(torch.from_numpy(np.stack([per_image(image=reader(p))["image"] for p in paths]))
                        .permute(0, 3, 1, 2), "cpu", normalize)
    level = 1 / (255 * 0.225)  # one pixel level in normalised units
    assert (on_device - cpu).abs().mean() < 3 * level  # resize filters differ; the images are the same
    flipped = GpuDecoder(plan_for(A.Compose([A.Resize(64, 48), A.HorizontalFlip(p=1.0), A.Normalize()]))[0])
    assert torch.equal(flipped(encoded, "cpu"), on_device.flip(-1).contiguous())


def test_the_batch_decoder_turns_phone_photos_upright(tmp_path):
    from tests.test_loader_exif import COLOURS, quadrant_colours, save_turned_with_orientation_6, upright_pattern

    path = tmp_path / "phone.jpg"
    save_turned_with_orientation_6(path, upright_pattern())
    plan, _ = plan_for(A.Compose([A.Resize(128, 96), A.Normalize(mean=(0, 0, 0), std=(1, 1, 1))]))
    image = GpuDecoder(plan)(_encoded_batch([path]), "cpu")[0]
    pixels = (image.permute(1, 2, 0) * 255).round().numpy()
    for name, colour in quadrant_colours(pixels).items():
        assert np.abs(colour - np.array(COLOURS[name])).max() <= 12, name
