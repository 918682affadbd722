"""ember.optim: optimizers (SGD, Adagrad, RMSprop, Adadelta, Adam, AdamW, Adamax, NAdam, RAdam, Rprop, ASGD, LBFGS),
learning-rate schedules (``lr_scheduler``) and weight averaging (``swa_utils``: AveragedModel, SWALR, update_bn),
with PyTorch's names."""
from ember.optim.optimizer import Optimizer  # noqa: F401
from ember.optim.sgd import SGD  # noqa: F401
from ember.optim.adagrad import Adagrad  # noqa: F401
from ember.optim.rmsprop import RMSprop  # noqa: F401
from ember.optim.adam import Adam, AdamW  # noqa: F401
from ember.optim.adadelta import Adadelta  # noqa: F401
from ember.optim.adamax import Adamax  # noqa: F401
from ember.optim.nadam import NAdam  # noqa: F401
from ember.optim.radam import RAdam  # noqa: F401
from ember.optim.rprop import Rprop  # noqa: F401
from ember.optim.asgd import ASGD  # noqa: F401
from ember.optim.lbfgs import LBFGS  # noqa: F401
from ember.optim import lr_scheduler  # noqa: F401
from ember.optim import swa_utils  # noqa: F401

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "Adamax", "NAdam", "RAdam",
           "Rprop", "ASGD", "LBFGS", "lr_scheduler", "swa_utils"]
