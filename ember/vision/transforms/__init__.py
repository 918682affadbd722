"""torchvision.transforms' names for ember's transforms; ``transforms.functional`` holds the function forms.

Every transform takes a PIL image, an HWC uint8 array, a float CHW array (ember's datasets) or
an ember Tensor, and returns the same kind (``ToTensor``/``ToPILImage`` convert); the random
ones also take an NCHW batch and draw per image, so they can serve as the DataLoader's batch
``transform=``. Randomness comes from ember's global generator: ``ember.manual_seed`` fixes it.
"""
from ember.data.augment import (
    ColorJitter, Compose, RandomAffine, RandomCrop, RandomHorizontalFlip, RandomResizedCrop, RandomRotation,
    RandomVerticalFlip,
)
from ember.data.colour import GaussianBlur, Grayscale, RandomErasing, RandomGrayscale
from ember.data.geometry import CenterCrop, Pad, Resize
from ember.data.image import InterpolationMode
from ember.data.transforms import Lambda, Normalize, PILToTensor, RandomApply, ToPILImage, ToTensor
from ember.vision.transforms import functional
from ember.vision.transforms import v2  # after functional, which v2 re-exports

__all__ = [
    "CenterCrop", "ColorJitter", "Compose", "GaussianBlur", "Grayscale", "InterpolationMode", "Lambda", "Normalize",
    "PILToTensor", "Pad", "RandomAffine", "RandomApply", "RandomCrop", "RandomErasing", "RandomGrayscale",
    "RandomHorizontalFlip", "RandomResizedCrop", "RandomRotation", "RandomVerticalFlip", "Resize", "ToPILImage",
    "ToTensor", "functional", "v2",
]
