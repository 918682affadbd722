"""ember.data: datasets, the DataLoader, preprocessing, augmentation and test-time augmentation.

Images are NCHW; loaders yield float32 images in [0, 1] and int64 labels (see
:mod:`ember.data.loader`). Where dataset files are looked for: :mod:`ember.data.sources`.
"""
from ember.data.augment import (  # noqa: F401
    AUGMENTATIONS, ColorJitter, Compose, Cutout, PCALighting, RandomAffine, RandomCrop, RandomHorizontalFlip,
    RandomResizedCrop, RandomRotation, RandomVerticalFlip, Transform, apply_transform, parse_augment,
)
from ember.data.cifar import CIFAR10, CIFAR10_CLASSES  # noqa: F401
from ember.data.colour import GaussianBlur, Grayscale, RandomErasing, RandomGrayscale  # noqa: F401
from ember.data.geometry import CenterCrop, Pad, Resize  # noqa: F401
from ember.data.image import InterpolationMode  # noqa: F401
from ember.data.transforms import Lambda, Normalize, PILToTensor, RandomApply, ToPILImage, ToTensor  # noqa: F401
from ember.data.collate import default_collate, default_convert  # noqa: F401
from ember.data.dataset import (  # noqa: F401
    ChainDataset, ConcatDataset, Dataset, ImageArrayDataset, IterableDataset, StackDataset, Subset, TensorDataset,
    holdout_split, random_split, to_float,
)
from ember.data.errors import DataError, DatasetNotFoundError  # noqa: F401
from ember.data.folder import ImageFolder  # noqa: F401
from ember.data.idx import read_idx, write_idx  # noqa: F401
from ember.data.loader import DataLoader  # noqa: F401
from ember.data.mixup import Mixup, one_hot, soft_target_cross_entropy  # noqa: F401
from ember.data.mnist import FASHION_MNIST_CLASSES, MNIST, MNIST_CLASSES, FashionMNIST  # noqa: F401
from ember.data.sampler import (  # noqa: F401
    BatchSampler, DistributedSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
    WeightedRandomSampler,
)
from ember.data.worker import WorkerInfo, get_worker_info  # noqa: F401
from ember.data.preprocessing import (  # noqa: F401
    PCA, PREPROCESSORS, DecimalScale, MinMaxScale, PCAWhitening, Preprocessor, Standardize, ZCAWhitening,
    ZeroCenter, make_preprocessor,
)
from ember.data.sources import available_datasets, cache_dir, search_paths  # noqa: F401
from ember.data.synthetic import make_blobs, make_moons, make_spirals, make_xor  # noqa: F401
from ember.data.tta import tta_predict, tta_views  # noqa: F401

classes = FASHION_MNIST_CLASSES  # the ten Fashion-MNIST class names, ember.data.classes
