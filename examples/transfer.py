"""Transfer learning: reuse a trained run's backbone for a new task with a new head.

The new task here is telling apart the five Fashion-MNIST classes a run never saw as a group (tops vs
shoes and bags), relabelled 0-4, from only 2,000 training images. First train a run, e.g. `make demo`.

    python examples/transfer.py runs/demo
"""
import sys

import numpy as np

import ember
from ember import nn
from ember.data import DataLoader, FashionMNIST
from ember.train import Trainer, UnfreezeBackbone, freeze, load_pretrained, load_run, param_groups

run = load_run(sys.argv[1] if len(sys.argv) > 1 else "runs/demo", weights=None)
ember.manual_seed(0)
keep = [0, 2, 4, 6, 8]  # T-shirt/top, Pullover, Coat, Shirt, Bag: the confusable ones


def task(split, n):
    ds = FashionMNIST(split=split)
    idx = np.flatnonzero(np.isin(ds.targets, keep))[:n]
    images, labels = ds.data[idx], np.searchsorted(keep, ds.targets[idx])
    return ember.data.TensorDataset(images, labels)


train, test = task("train", 2000), task("test", 5000)
pre = run.preprocessor  # the source run's input statistics: the backbone expects them
model = ember.models.get(run.config.model, num_classes=len(keep), in_channels=1, input_size=28,
                         **run.config.model_args)
print(load_pretrained(model, run.rundir.path, new_head=True))  # what was loaded, what was skipped and why
freeze(model, "backbone")
opt = ember.optim.Adam(param_groups(model, lr=3e-4, head_lr=3e-3))  # a slower backbone once unfrozen
trainer = Trainer(model, opt, nn.CrossEntropyLoss(), callbacks=[UnfreezeBackbone(at_epoch=2)])
trainer.fit(DataLoader(train, 64, shuffle=True, transform=pre, seed=0), epochs=4)
print(f"5-class test accuracy: {100 * trainer.evaluate(DataLoader(test, 500, transform=pre))['accuracy']:.2f}%")
