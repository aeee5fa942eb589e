"""The usual starter code, kept as the benchmark's yardstick: PIL + torchvision v1 per image, float out."""
from __future__ import annotations

from PIL import Image
from torch.utils.data import Dataset
from torchvision import transforms


class StarterDataset(Dataset):
    """Opens each file with PIL and applies Resize + ToTensor + Normalize (torchvision v1)."""

    def __init__(self, paths: list[str], labels, size: tuple[int, int], mean, std):
        self.paths, self.labels = list(paths), [int(label) for label in labels]
        self.transform = transforms.Compose([
            transforms.Resize(size),
            transforms.ToTensor(),
            transforms.Normalize(mean=mean, std=std),
        ])

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        image = Image.open(self.paths[index]).convert("RGB")
        return self.transform(image), self.labels[index]
