"""The same model with ember.train.Trainer: validation, a one-cycle schedule, early stopping, checkpoints,
metrics and plots.

    python examples/trainer.py         # a few minutes on two cores; writes runs/example-trainer/
"""
from pathlib import Path

import ember
from ember import nn
from ember.data import DataLoader, FashionMNIST, Standardize, holdout_split
from ember.train import EarlyStopping, ModelCheckpoint, Trainer, plots

ember.manual_seed(0)
out = Path("runs/example-trainer")
full, test = FashionMNIST(split="train"), FashionMNIST(split="test")
train, val = holdout_split(full, val_fraction=0.1, seed=0)
norm = Standardize().fit(train)
train_loader = DataLoader(train, batch_size=128, shuffle=True, transform=norm, seed=0)
val_loader = DataLoader(val, batch_size=500, transform=norm)
test_loader = DataLoader(test, batch_size=500, transform=norm)

model = ember.models.get("lenet5_bn", num_classes=10, input_size=28)
opt = ember.optim.Adam(model.parameters(), lr=3e-3)
epochs = 3
sched = ember.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=epochs * len(train_loader))
trainer = Trainer(model, opt, nn.CrossEntropyLoss(), scheduler=sched, metrics=["accuracy", "top5_accuracy"],
                  callbacks=[EarlyStopping("val_loss", patience=2),
                             ModelCheckpoint(out / "checkpoints", every_n_epochs=1, save_best_on="val_accuracy")])
history = trainer.fit(train_loader, val_loader, epochs=epochs)

result = trainer.evaluate(test_loader, confusion=True)
print(f"test accuracy {100 * result['accuracy']:.2f}%, top-5 {100 * result['top5_accuracy']:.2f}%")
plots.plot_curves(history, out / "curves.png")
plots.plot_confusion_matrix(result["confusion_matrix"], out / "confusion_matrix.png", test.classes)
print(f"plots in {out}/")
