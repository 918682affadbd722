"""A few of torchvision.transforms.functional's functions, as one-off calls of the transform classes.

Each takes the kinds the transforms take (PIL image, array, Tensor) and gives back the same kind.
"""
from __future__ import annotations

from ember.data.augment import RandomHorizontalFlip, RandomVerticalFlip
from ember.data.colour import Grayscale
from ember.data.geometry import CenterCrop, Pad, Resize
from ember.data.image import InterpolationMode
from ember.data.transforms import Normalize, PILToTensor, ToPILImage, ToTensor


def to_tensor(pic):
    return ToTensor()(pic)


def pil_to_tensor(pic):
    return PILToTensor()(pic)


def to_pil_image(pic, mode: str | None = None):
    return ToPILImage(mode)(pic)


def normalize(tensor, mean, std, inplace: bool = False):
    return Normalize(mean, std, inplace)(tensor)


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size: int | None = None,
           antialias: bool | None = True):
    return Resize(size, interpolation, max_size, antialias)(img)


def center_crop(img, output_size):
    return CenterCrop(output_size)(img)


def pad(img, padding, fill=0.0, padding_mode: str = "constant"):
    return Pad(padding, fill, padding_mode)(img)


def hflip(img):
    return RandomHorizontalFlip(p=1.0)(img)


def vflip(img):
    return RandomVerticalFlip(p=1.0)(img)


def to_grayscale(img, num_output_channels: int = 1):
    return Grayscale(num_output_channels)(img)


rgb_to_grayscale = to_grayscale
