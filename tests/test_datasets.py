import numpy as np
import albumentations as A
import torch
from torchvision import transforms as T

from core.data import create_dataset
from core.data.images import read_image


def test_train_item_has_image_label_and_attributes(demo_data_dir):
    dataset = create_dataset(demo_data_dir, "all")
    item = dataset[0]
    assert item["image"].shape == (512, 384, 3) and item["image"].dtype == np.uint8
    assert item["label"] == 6 * item["mask"] + 3 * item["gender"] + item["age"]
    assert len(dataset) == 84


def test_albumentations_and_torchvision_transforms(demo_data_dir):
    alb = create_dataset(demo_data_dir, "all", transform=A.Compose([A.Resize(64, 48), A.ToGray(p=1.0)]))
    assert alb[3]["image"].shape == (64, 48, 3)
    tv = create_dataset(demo_data_dir, "all", transform=T.Compose([T.Resize((64, 48)), T.ToTensor()]))
    image = tv[3]["image"]
    assert isinstance(image, torch.Tensor) and image.shape == (3, 64, 48)


def test_train_val_are_disjoint_people_and_cover_all(demo_data_dir):
    train = create_dataset(demo_data_dir, "train", val_ratio=0.25, seed=0)
    val = create_dataset(demo_data_dir, "val", val_ratio=0.25, seed=0)
    assert set(train.images["person"]).isdisjoint(val.images["person"])
    assert len(train) + len(val) == 84


def test_eval_dataset_in_info_order(demo_data_dir):
    dataset = create_dataset(demo_data_dir, "eval")
    assert len(dataset) == 28
    assert dataset[0]["image_id"] == dataset.eval_images["ImageID"][0]


def test_works_in_a_real_dataloader_with_workers(demo_data_dir):
    dataset = create_dataset(demo_data_dir, "all", transform=A.Compose([A.Resize(32, 24), A.ToTensorV2()]))
    loader = torch.utils.data.DataLoader(dataset, batch_size=8, num_workers=2)
    batch = next(iter(loader))
    assert batch["image"].shape == (8, 3, 32, 24)
    assert batch["label"].tolist() == dataset.labels[:8].tolist()


def test_draft_read_is_smaller_but_not_below_request(demo_data_dir):
    path = next((demo_data_dir / "train" / "images").iterdir()) / "mask1.jpg"
    image = read_image(path, draft_size=(96, 128))
    assert image.shape[0] >= 128 and image.shape[1] >= 96 and image.shape[0] < 512
