"""ember.models: the model zoo — one module per architecture family (NOTES §8).

Every builder takes ``num_classes``, ``in_channels`` and ``input_size`` (the side of the square
images; 28 for Fashion-MNIST, 32 for CIFAR, 224 for ImageNet — small sizes switch to the family's
small-input stem), plus the family's own width/depth options, and initialises the weights as the
family's paper or reference implementation does.

    >>> import ember.models as zoo
    >>> net = zoo.get("resnet18", num_classes=10, input_size=32)
    >>> net.summary()  # Keras-style table of layers, output shapes, parameters and MACs

``list_models()`` names every builder; ``get(name, **kwargs)`` builds one by name.
"""
from ember.models.registry import describe, get, list_models, register_model  # noqa: F401
from ember.models.summary import ModelSummary, SummaryMixin, summary  # noqa: F401

from ember.models.mlp import MLP, mlp  # noqa: F401,E402
from ember.models.lenet import LeNet5, lenet5  # noqa: F401,E402
from ember.models.lenet_bn import LeNet5BN, lenet5_bn  # noqa: F401,E402
from ember.models.alexnet import AlexNet, alexnet  # noqa: F401,E402
from ember.models.vgg import VGG, vgg11, vgg16, vgg16_bn  # noqa: F401,E402
from ember.models.nin import NiN, nin  # noqa: F401,E402
from ember.models.googlenet import GoogLeNet, Inception, googlenet  # noqa: F401,E402
from ember.models.resnet import (  # noqa: F401,E402
    BasicBlock, Bottleneck, CifarResNet, ResNet, resnet18, resnet20, resnet32, resnet34, resnet50, resnet56,
)
from ember.models.densenet import DenseNet, densenet121, densenet161, densenet169, densenet201  # noqa: F401,E402
from ember.models.mobilenet import MobileNetV1, MobileNetV2, mobilenet_v1, mobilenet_v2  # noqa: F401,E402
from ember.models.xception import Xception, xception  # noqa: F401,E402
from ember.models.senet import SEBottleneck, SqueezeExcitation, se_resnet50  # noqa: F401,E402
from ember.models.condensenet import CondenseNet, LearnedGroupConv, condensenet  # noqa: F401,E402
from ember.models.efficientnet import (  # noqa: F401,E402
    EfficientNet, compound_scaling, efficientnet, efficientnet_b0, efficientnet_b1, efficientnet_b2, efficientnet_b3,
)
