"""The PyTorch-style training loop, written out: one epoch of LeNet-5 (with batch norm) on Fashion-MNIST.

    python examples/loop.py            # about a minute on two cores; prints the test accuracy
"""
import ember
from ember import nn
from ember.data import DataLoader, FashionMNIST, Standardize

ember.manual_seed(0)
train, test = FashionMNIST(split="train"), FashionMNIST(split="test")
norm = Standardize().fit(train)                      # per-channel z-score, fitted on training data only
loader = DataLoader(train, batch_size=128, shuffle=True, transform=norm, seed=0)
model = ember.models.get("lenet5_bn", num_classes=10, input_size=28)
opt = ember.optim.Adam(model.parameters(), lr=2e-3)

model.train()
for step, (x, y) in enumerate(loader, 1):
    loss = nn.functional.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 100 == 0:
        print(f"step {step}/{len(loader)}  loss {loss.item():.4f}")

model.eval()
correct = 0
with ember.no_grad():
    for x, y in DataLoader(test, batch_size=500, transform=norm):
        correct += int((ember.argmax(model(x), dim=1) == y).sum().item())
print(f"test accuracy after one epoch: {100 * correct / len(test):.2f}%")
