"""An ensemble of three small networks trained with different seeds: averaging their predicted probabilities
beats each of them (NOTES §7).

    python examples/ensemble.py        # three 1-epoch MLPs, about a minute
"""
import ember
from ember import nn
from ember.data import DataLoader, FashionMNIST, Standardize, to_float
from ember.train import Ensemble, Member, Trainer
from ember.train.ensemble import format_report

train, test = FashionMNIST(split="train"), FashionMNIST(split="test")
norm = Standardize().fit(train)
members = []
for seed in (0, 1, 2):
    ember.manual_seed(seed)
    model = ember.models.get("mlp", hidden=(256,), dropout=0.2)
    Trainer(model, ember.optim.Adam(model.parameters(), lr=1e-3), nn.CrossEntropyLoss(), progress="quiet").fit(
        DataLoader(train, 128, shuffle=True, transform=norm, seed=seed), epochs=1)
    members.append(Member(model, f"mlp seed {seed}", preprocessor=norm))

images, labels = test.arrays()
print(format_report(Ensemble(members).evaluate(to_float(images), labels)))
