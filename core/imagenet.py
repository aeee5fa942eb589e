"""ImageNet's per-channel pixel statistics (0..1 scale): what pretrained backbones expect and what the
Data page compares a dataset's own statistics with. Declared here only; this module imports nothing heavy
so that the Data page can read it without loading albumentations."""

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
