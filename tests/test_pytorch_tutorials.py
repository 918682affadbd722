"""Classic PyTorch tutorials and example programs run on ember with only their imports changed.

Each test transcribes one program (the CIFAR-10 "Training a Classifier" tutorial, pytorch/examples'
MNIST, the transfer-learning tutorial, custom datasets, an autoencoder and DCGAN, and a training loop
using hooks, clipping, accumulation and schedulers) as PyTorch users write it: same structure, same
idioms and API calls, with smaller sizes, few steps and generated data in place of the real datasets.
Where it is cheap, the same body also runs against real torch (the ``torch`` fixture) and something
(shapes, parameter counts, state_dict keys) is compared.
"""
from __future__ import annotations

import copy
import pickle
from pathlib import Path

import numpy as np
import pytest

CIFAR_FILES = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"]


def _ember():
    import ember
    import ember.nn
    import ember.nn.functional
    import ember.optim

    return ember, ember.nn, ember.nn.functional, ember.optim


def _learnable_cifar_dir(root: Path, per_batch: int = 60, n_test: int = 100) -> None:
    """A ``cifar-10-batches-py`` directory (pickled batches, as the real one) whose class is visible:
    class c lights a 6x6 square at a position of its own in a colour of its own."""
    rng = np.random.default_rng(0)
    d = root / "cifar-10-batches-py"
    d.mkdir(parents=True)
    for name in CIFAR_FILES:
        n = n_test if name == "test_batch" else per_batch
        labels = [int(v) for v in rng.integers(0, 10, n)]
        x = rng.integers(0, 80, size=(n, 3, 32, 32)).astype(np.uint8)
        for i, c in enumerate(labels):
            r, q = divmod(c, 5)
            x[i, c % 3, 4 + 14 * r: 10 + 14 * r, 1 + 6 * q: 7 + 6 * q] = 250
        batch = {b"batch_label": name.encode(), b"labels": labels, b"data": x.reshape(n, 3072),
                 b"filenames": [f"img{i}.png".encode() for i in range(n)]}
        (d / name).write_bytes(pickle.dumps(batch, protocol=2))
    names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]
    (d / "batches.meta").write_bytes(pickle.dumps({b"label_names": names, b"num_vis": 3072}))


# ------------------------------------------------------------------------------------------------------------
# 1. "Training a Classifier" (CIFAR-10 blitz tutorial)
# ------------------------------------------------------------------------------------------------------------
def test_cifar10_training_a_classifier_tutorial(tmp_path, capsys):
    import ember as torch
    import ember.nn as nn
    import ember.nn.functional as F
    import ember.optim as optim
    import ember.utils.data
    import ember.vision as torchvision
    import ember.vision.transforms as transforms

    root = tmp_path / "data"
    _learnable_cifar_dir(root)
    torch.manual_seed(0)

    # ------------------------------------------------------------ the tutorial
    transform = transforms.Compose(
        [transforms.ToTensor(),
         transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])

    batch_size = 4

    trainset = torchvision.datasets.CIFAR10(root=root, train=True,
                                            download=False, transform=transform)
    trainloader = torch.utils.data.DataLoader(trainset, batch_size=batch_size,
                                              shuffle=True, num_workers=2)

    testset = torchvision.datasets.CIFAR10(root=root, train=False,
                                           download=False, transform=transform)
    testloader = torch.utils.data.DataLoader(testset, batch_size=batch_size,
                                             shuffle=False, num_workers=2)

    classes = ('plane', 'car', 'bird', 'cat',
               'deer', 'dog', 'frog', 'horse', 'ship', 'truck')

    # functions to show an image

    def imshow(img):
        img = img / 2 + 0.5     # unnormalize
        npimg = img.numpy()
        return np.transpose(npimg, (1, 2, 0))

    # get some random training images
    dataiter = iter(trainloader)
    images, labels = next(dataiter)

    # show images
    shown = imshow(torchvision.utils.make_grid(images))
    # print labels
    print(' '.join(f'{classes[labels[j]]:5s}' for j in range(batch_size)))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 6, 5)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.conv2(x)))
            x = torch.flatten(x, 1)  # flatten all dimensions except batch
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            x = self.fc3(x)
            return x

    net = Net()

    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

    losses = []
    for epoch in range(3):  # loop over the dataset multiple times

        running_loss = 0.0
        for i, data in enumerate(trainloader, 0):
            # get the inputs; data is a list of [inputs, labels]
            inputs, labels = data

            # zero the parameter gradients
            optimizer.zero_grad()

            # forward + backward + optimize
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()

            # print statistics
            running_loss += loss.item()
            if i % 25 == 24:    # print every 25 mini-batches
                losses.append(running_loss / 25)
                print(f'[{epoch + 1}, {i + 1:5d}] loss: {running_loss / 25:.3f}')
                running_loss = 0.0

    print('Finished Training')

    PATH = tmp_path / 'cifar_net.pth'
    torch.save(net.state_dict(), PATH)

    dataiter = iter(testloader)
    images, labels = next(dataiter)
    print('GroundTruth: ', ' '.join(f'{classes[labels[j]]:5s}' for j in range(4)))

    trained = net
    net = Net()
    net.load_state_dict(torch.load(PATH, weights_only=True))

    outputs = net(images)
    _, predicted = torch.max(outputs, 1)
    print('Predicted: ', ' '.join(f'{classes[predicted[j]]:5s}' for j in range(4)))

    correct = 0
    total = 0
    # since we're not training, we don't need to calculate the gradients for our outputs
    with torch.no_grad():
        for data in testloader:
            images, labels = data
            # calculate outputs by running images through the network
            outputs = net(images)
            # the class with the highest energy is what we choose as prediction
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()

    print(f'Accuracy of the network on the {total} test images: {100 * correct // total} %')

    # prepare to count predictions for each class
    correct_pred = {classname: 0 for classname in classes}
    total_pred = {classname: 0 for classname in classes}

    # again no gradients needed
    with torch.no_grad():
        for data in testloader:
            images, labels = data
            outputs = net(images)
            _, predictions = torch.max(outputs, 1)
            # collect the correct predictions for each class
            for label, prediction in zip(labels, predictions):
                if label == prediction:
                    correct_pred[classes[label]] += 1
                total_pred[classes[label]] += 1

    # print accuracy for each class
    accuracies = {}
    for classname, correct_count in correct_pred.items():
        if total_pred[classname]:
            accuracy = 100 * float(correct_count) / total_pred[classname]
            accuracies[classname] = accuracy
            print(f'Accuracy for class: {classname:5s} is {accuracy:.1f} %')

    device = torch.device('cuda:0' if torch.cuda.is_available() else 'cpu')
    net.to(device)
    inputs, labels = data[0].to(device), data[1].to(device)
    # ------------------------------------------------------------ what it must have achieved

    assert 'Finished Training' in capsys.readouterr().out
    assert shown.shape == (36, 4 * 34 + 2, 3) and 0.0 <= shown.min() and shown.max() <= 1.0
    assert images.shape == (4, 3, 32, 32) and images.dtype == torch.float32 and labels.dtype == torch.int64
    assert float(images.min()) >= -1.0 and float(images.max()) <= 1.0
    assert losses[-1] < losses[0] * 0.5, losses
    assert total == 100 and correct / total > 0.6, f"accuracy {correct}/{total}"
    assert sum(total_pred.values()) == 100 and sum(correct_pred.values()) == correct
    assert set(accuracies) <= set(classes)
    with torch.no_grad():
        assert torch.equal(net(inputs), trained(inputs))


# ------------------------------------------------------------------------------------------------------------
# 2. pytorch/examples: mnist/main.py
# ------------------------------------------------------------------------------------------------------------
def _learnable_mnist_dir(directory: Path, n_train: int = 256, n_test: int = 100) -> None:
    """An MNIST-layout directory (gzipped IDX files) whose class is visible: class c lights rows 2c+3..2c+6."""
    from ember.data.idx import write_idx

    rng = np.random.default_rng(1)
    directory.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        y = rng.integers(0, 10, n).astype(np.uint8)
        x = rng.integers(0, 60, size=(n, 28, 28)).astype(np.uint8)
        for i, c in enumerate(y):
            x[i, 2 * c + 3: 2 * c + 7, 4:24] = 230
        write_idx(directory / f"{prefix}-images-idx3-ubyte.gz", x)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte.gz", y)


def _mnist_net(torch, nn, F, width: int = 8):
    """The example's ``Net`` (conv 32/64, fc 9216 -> 128 in the original; ``width`` scales it down)."""

    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()
            self.conv1 = nn.Conv2d(1, width, 3, 1)
            self.conv2 = nn.Conv2d(width, 2 * width, 3, 1)
            self.dropout1 = nn.Dropout2d(0.25)
            self.dropout2 = nn.Dropout(0.5)
            self.fc1 = nn.Linear(2 * width * 12 * 12, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = self.conv1(x)
            x = F.relu(x)
            x = self.conv2(x)
            x = F.relu(x)
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = torch.flatten(x, 1)
            x = self.fc1(x)
            x = F.relu(x)
            x = self.dropout2(x)
            x = self.fc2(x)
            output = F.log_softmax(x, dim=1)
            return output

    return Net


def test_pytorch_examples_mnist(tmp_path, capsys):
    import argparse

    import ember as torch
    import ember.nn as nn
    import ember.nn.functional as F
    import ember.optim as optim
    from ember.optim.lr_scheduler import StepLR
    from ember.vision import datasets, transforms

    _learnable_mnist_dir(tmp_path / "data" / "MNIST" / "raw")
    Net = _mnist_net(torch, nn, F)

    # ------------------------------------------------------------ the example
    def train(args, model, device, train_loader, optimizer, epoch):
        model.train()
        for batch_idx, (data, target) in enumerate(train_loader):
            data, target = data.to(device), target.to(device)
            optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            loss.backward()
            optimizer.step()
            if batch_idx % args.log_interval == 0:
                print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                    epoch, batch_idx * len(data), len(train_loader.dataset),
                    100. * batch_idx / len(train_loader), loss.item()))
                if args.dry_run:
                    break

    def test(model, device, test_loader):
        model.eval()
        test_loss = 0
        correct = 0
        with torch.no_grad():
            for data, target in test_loader:
                data, target = data.to(device), target.to(device)
                output = model(data)
                test_loss += F.nll_loss(output, target, reduction='sum').item()  # sum up batch loss
                pred = output.argmax(dim=1, keepdim=True)  # get the index of the max log-probability
                correct += pred.eq(target.view_as(pred)).sum().item()

        test_loss /= len(test_loader.dataset)

        print('\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'.format(
            test_loss, correct, len(test_loader.dataset),
            100. * correct / len(test_loader.dataset)))
        return test_loss, correct

    def main(argv):
        # Training settings
        parser = argparse.ArgumentParser(description='PyTorch MNIST Example')
        parser.add_argument('--batch-size', type=int, default=64, metavar='N',
                            help='input batch size for training (default: 64)')
        parser.add_argument('--test-batch-size', type=int, default=1000, metavar='N',
                            help='input batch size for testing (default: 1000)')
        parser.add_argument('--epochs', type=int, default=14, metavar='N',
                            help='number of epochs to train (default: 14)')
        parser.add_argument('--lr', type=float, default=1.0, metavar='LR',
                            help='learning rate (default: 1.0)')
        parser.add_argument('--gamma', type=float, default=0.7, metavar='M',
                            help='Learning rate step gamma (default: 0.7)')
        parser.add_argument('--no-accel', action='store_true',
                            help='disables accelerator')
        parser.add_argument('--dry-run', action='store_true',
                            help='quickly check a single pass')
        parser.add_argument('--seed', type=int, default=1, metavar='S',
                            help='random seed (default: 1)')
        parser.add_argument('--log-interval', type=int, default=10, metavar='N',
                            help='how many batches to wait before logging training status')
        parser.add_argument('--save-model', action='store_true',
                            help='For Saving the current Model')
        args = parser.parse_args(argv)

        use_accel = not args.no_accel and torch.accelerator.is_available()

        torch.manual_seed(args.seed)

        if use_accel:
            device = torch.accelerator.current_accelerator()
        else:
            device = torch.device("cpu")

        train_kwargs = {'batch_size': args.batch_size}
        test_kwargs = {'batch_size': args.test_batch_size}
        if use_accel:
            accel_kwargs = {'num_workers': 1,
                            'persistent_workers': True,
                            'pin_memory': True,
                            'shuffle': True}
            train_kwargs.update(accel_kwargs)
            test_kwargs.update(accel_kwargs)

        transform = transforms.Compose([
            transforms.ToTensor(),
            transforms.Normalize((0.1307,), (0.3081,))
        ])
        dataset1 = datasets.MNIST(tmp_path / 'data', train=True, download=False,
                                  transform=transform)
        dataset2 = datasets.MNIST(tmp_path / 'data', train=False,
                                  transform=transform)
        train_loader = torch.utils.data.DataLoader(dataset1, **train_kwargs)
        test_loader = torch.utils.data.DataLoader(dataset2, **test_kwargs)

        model = Net().to(device)
        optimizer = optim.Adadelta(model.parameters(), lr=args.lr)

        scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
        history = []
        for epoch in range(1, args.epochs + 1):
            train(args, model, device, train_loader, optimizer, epoch)
            history.append(test(model, device, test_loader))
            scheduler.step()

        if args.save_model:
            torch.save(model.state_dict(), tmp_path / "mnist_cnn.pt")
        return model, optimizer, history

    model, optimizer, history = main(['--epochs', '3', '--batch-size', '32', '--log-interval', '4',
                                      '--save-model'])
    # ------------------------------------------------------------ what it must have achieved

    out = capsys.readouterr().out
    assert 'Train Epoch: 3 [128/256 (50%)]' in out and 'Test set: Average loss:' in out
    (first_loss, _), (last_loss, last_correct) = history[0], history[-1]
    assert last_loss < first_loss and last_correct > 70, history
    assert optimizer.param_groups[0]['lr'] == pytest.approx(0.7 ** 3)
    saved = torch.load(tmp_path / "mnist_cnn.pt", weights_only=True)
    assert list(saved) == list(model.state_dict())
    assert all(torch.equal(saved[k], v) for k, v in model.state_dict().items())


def test_pytorch_examples_mnist_net_matches_torch(torch):
    import ember
    import ember.nn
    import ember.nn.functional

    ours = _mnist_net(ember, ember.nn, ember.nn.functional)()
    theirs = _mnist_net(torch, torch.nn, torch.nn.functional)()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())
    ours.load_state_dict({k: ember.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    ours.eval(), theirs.eval()
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours(ember.tensor(x)).detach().numpy(), expected, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------------------------------------------------
# 3. "Transfer Learning for Computer Vision" tutorial (ants vs bees)
# ------------------------------------------------------------------------------------------------------------
def _hymenoptera_dir(root: Path, n_train: int = 12, n_val: int = 8) -> None:
    """``{train,val}/{ants,bees}/*.png`` of assorted sizes: ants are reddish, bees bluish."""
    from PIL import Image

    rng = np.random.default_rng(2)
    for phase, n in (("train", n_train), ("val", n_val)):
        for c, name in enumerate(["ants", "bees"]):
            folder = root / phase / name
            folder.mkdir(parents=True)
            for i in range(n):
                h, w = rng.integers(36, 56, 2)
                img = rng.integers(0, 90, size=(h, w, 3)).astype(np.uint8)
                img[..., 0 if c == 0 else 2] += 150
                Image.fromarray(img).save(folder / f"{name}_{i}.png")


def test_transfer_learning_tutorial(tmp_path, capsys):
    import os
    import time

    from PIL import Image

    import ember as torch
    import ember.nn as nn
    import ember.optim as optim
    from ember.optim import lr_scheduler
    import ember.vision as torchvision
    from ember.vision import datasets, models, transforms

    _hymenoptera_dir(tmp_path / "hymenoptera_data")
    torch.manual_seed(0)

    # ------------------------------------------------------------ the tutorial
    # Data augmentation and normalization for training
    # Just normalization for validation
    data_transforms = {
        'train': transforms.Compose([
            transforms.RandomResizedCrop(32),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
        ]),
        'val': transforms.Compose([
            transforms.Resize(36),
            transforms.CenterCrop(32),
            transforms.ToTensor(),
            transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
        ]),
    }

    data_dir = os.path.join(tmp_path, 'hymenoptera_data')
    image_datasets = {x: datasets.ImageFolder(os.path.join(data_dir, x),
                                              data_transforms[x])
                      for x in ['train', 'val']}
    dataloaders = {x: torch.utils.data.DataLoader(image_datasets[x], batch_size=4,
                                                  shuffle=True, num_workers=4)
                   for x in ['train', 'val']}
    dataset_sizes = {x: len(image_datasets[x]) for x in ['train', 'val']}
    class_names = image_datasets['train'].classes

    device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"

    def imshow(inp, title=None):
        """Display image for Tensor."""
        inp = inp.numpy().transpose((1, 2, 0))
        mean = np.array([0.485, 0.456, 0.406])
        std = np.array([0.229, 0.224, 0.225])
        inp = std * inp + mean
        inp = np.clip(inp, 0, 1)
        return inp, title

    # Get a batch of training data
    inputs, classes = next(iter(dataloaders['train']))

    # Make a grid from batch
    out = torchvision.utils.make_grid(inputs)

    shown, title = imshow(out, title=[class_names[x] for x in classes])

    def train_model(model, criterion, optimizer, scheduler, num_epochs=25):
        since = time.time()

        best_model_wts = copy.deepcopy(model.state_dict())
        best_acc = 0.0

        for epoch in range(num_epochs):
            print(f'Epoch {epoch}/{num_epochs - 1}')
            print('-' * 10)

            # Each epoch has a training and validation phase
            for phase in ['train', 'val']:
                if phase == 'train':
                    model.train()  # Set model to training mode
                else:
                    model.eval()   # Set model to evaluate mode

                running_loss = 0.0
                running_corrects = 0

                # Iterate over data.
                for inputs, labels in dataloaders[phase]:
                    inputs = inputs.to(device)
                    labels = labels.to(device)

                    # zero the parameter gradients
                    optimizer.zero_grad()

                    # forward
                    # track history if only in train
                    with torch.set_grad_enabled(phase == 'train'):
                        outputs = model(inputs)
                        _, preds = torch.max(outputs, 1)
                        loss = criterion(outputs, labels)

                        # backward + optimize only if in training phase
                        if phase == 'train':
                            loss.backward()
                            optimizer.step()

                    # statistics
                    running_loss += loss.item() * inputs.size(0)
                    running_corrects += torch.sum(preds == labels.data)
                if phase == 'train':
                    scheduler.step()

                epoch_loss = running_loss / dataset_sizes[phase]
                epoch_acc = running_corrects.double() / dataset_sizes[phase]

                print(f'{phase} Loss: {epoch_loss:.4f} Acc: {epoch_acc:.4f}')

                # deep copy the model
                if phase == 'val' and epoch_acc > best_acc:
                    best_acc = epoch_acc
                    best_model_wts = copy.deepcopy(model.state_dict())

            print()

        time_elapsed = time.time() - since
        print(f'Training complete in {time_elapsed // 60:.0f}m {time_elapsed % 60:.0f}s')
        print(f'Best val Acc: {best_acc:4f}')

        # load best model weights
        model.load_state_dict(best_model_wts)
        return model, best_acc

    def visualize_model(model, num_images=6):
        was_training = model.training
        model.eval()
        images_so_far = 0
        titles = []

        with torch.no_grad():
            for i, (inputs, labels) in enumerate(dataloaders['val']):
                inputs = inputs.to(device)
                labels = labels.to(device)

                outputs = model(inputs)
                _, preds = torch.max(outputs, 1)

                for j in range(inputs.size()[0]):
                    images_so_far += 1
                    titles.append(f'predicted: {class_names[preds[j]]}')
                    imshow(inputs.cpu().data[j])

                    if images_so_far == num_images:
                        model.train(mode=was_training)
                        return titles
            model.train(mode=was_training)
        return titles

    # Finetuning the ConvNet
    model_ft = models.resnet18(weights=None)
    num_ftrs = model_ft.fc.in_features
    # Here the size of each output sample is set to 2.
    # Alternatively, it can be generalized to ``nn.Linear(num_ftrs, len(class_names))``.
    model_ft.fc = nn.Linear(num_ftrs, 2)

    model_ft = model_ft.to(device)

    criterion = nn.CrossEntropyLoss()

    # Observe that all parameters are being optimized
    optimizer_ft = optim.SGD(model_ft.parameters(), lr=0.001, momentum=0.9)

    # Decay LR by a factor of 0.1 every 7 epochs
    exp_lr_scheduler = lr_scheduler.StepLR(optimizer_ft, step_size=7, gamma=0.1)

    model_ft, _ = train_model(model_ft, criterion, optimizer_ft, exp_lr_scheduler,
                              num_epochs=1)
    titles = visualize_model(model_ft)

    # ConvNet as fixed feature extractor
    model_conv = models.resnet18(weights=None)
    for param in model_conv.parameters():
        param.requires_grad = False

    # Parameters of newly constructed modules have requires_grad=True by default
    num_ftrs = model_conv.fc.in_features
    model_conv.fc = nn.Linear(num_ftrs, 2)

    model_conv = model_conv.to(device)

    criterion = nn.CrossEntropyLoss()

    # Observe that only parameters of final layer are being optimized as
    # opposed to before.
    optimizer_conv = optim.SGD(model_conv.fc.parameters(), lr=0.01, momentum=0.9)

    # Decay LR by a factor of 0.1 every 7 epochs
    exp_lr_scheduler = lr_scheduler.StepLR(optimizer_conv, step_size=7, gamma=0.1)

    frozen_before = copy.deepcopy(model_conv.layer1.state_dict())
    model_conv, best_acc = train_model(model_conv, criterion, optimizer_conv,
                                       exp_lr_scheduler, num_epochs=4)

    # Inference on custom images
    def visualize_model_predictions(model, img_path):
        was_training = model.training
        model.eval()

        img = Image.open(img_path)
        img = data_transforms['val'](img)
        img = img.unsqueeze(0)
        img = img.to(device)

        with torch.no_grad():
            outputs = model(img)
            _, preds = torch.max(outputs, 1)

            model.train(mode=was_training)
            return class_names[preds[0]]

    predicted = visualize_model_predictions(
        model_conv,
        img_path=os.path.join(data_dir, 'val', 'bees', 'bees_0.png')
    )
    # ------------------------------------------------------------ what it must have achieved

    out = capsys.readouterr().out
    assert 'train Loss:' in out and 'val Loss:' in out and 'Best val Acc:' in out
    assert class_names == ['ants', 'bees'] and dataset_sizes == {'train': 24, 'val': 16}
    assert inputs.shape == (4, 3, 32, 32) and len(title) == 4 and shown.shape == (36, 4 * 34 + 2, 3)
    assert len(titles) == 6 and all(t.split()[-1] in class_names for t in titles)
    assert model_ft.fc.out_features == 2 and not model_ft.training  # train_model ends on the val phase
    # only the new head learned; the frozen body is untouched (its batch-norm statistics aside)
    assert [n for n, p in model_conv.named_parameters() if p.requires_grad] == ['fc.weight', 'fc.bias']
    assert all(torch.equal(frozen_before[k], v) for k, v in model_conv.layer1.state_dict().items()
               if 'running' not in k and 'num_batches' not in k)
    assert best_acc.dtype == torch.float64 and float(best_acc) >= 0.75
    assert predicted in class_names


# ------------------------------------------------------------------------------------------------------------
# 4. Custom datasets: "Datasets & DataLoaders" and "Writing Custom Datasets, DataLoaders and Transforms"
# ------------------------------------------------------------------------------------------------------------
def _custom_datasets_program(torch, nn, Dataset, DataLoader, random_split):
    """The tutorials' custom ``Dataset`` subclasses, collate functions and split, run with the given library."""
    rng = np.random.default_rng(3)
    features = rng.standard_normal((100, 8)).astype(np.float32)
    targets = (features[:, 0] + features[:, 1] > 0).astype(np.int64)
    faces = rng.integers(0, 255, size=(10, 24, 20, 3)).astype(np.uint8)
    marks = rng.uniform(0, 20, size=(10, 5, 2))

    class CustomDataset(Dataset):
        def __init__(self, features, labels, transform=None, target_transform=None):
            self.features = features
            self.labels = labels
            self.transform = transform
            self.target_transform = target_transform

        def __len__(self):
            return len(self.labels)

        def __getitem__(self, idx):
            x = torch.tensor(self.features[idx], dtype=torch.float32)
            label = int(self.labels[idx])
            if self.transform:
                x = self.transform(x)
            if self.target_transform:
                label = self.target_transform(label)
            return x, label

    class FaceLandmarksDataset(Dataset):
        """Face Landmarks dataset."""

        def __init__(self, images, landmarks, transform=None):
            self.images = images
            self.landmarks = landmarks
            self.transform = transform

        def __len__(self):
            return len(self.images)

        def __getitem__(self, idx):
            if torch.is_tensor(idx):
                idx = idx.tolist()
            image = self.images[idx]
            landmarks = np.array([self.landmarks[idx]], dtype=float).reshape(-1, 2)
            sample = {'image': image, 'landmarks': landmarks}

            if self.transform:
                sample = self.transform(sample)

            return sample

    class RandomCrop(object):
        """Crop randomly the image in a sample."""

        def __init__(self, output_size):
            assert isinstance(output_size, (int, tuple))
            if isinstance(output_size, int):
                self.output_size = (output_size, output_size)
            else:
                assert len(output_size) == 2
                self.output_size = output_size

        def __call__(self, sample):
            image, landmarks = sample['image'], sample['landmarks']
            h, w = image.shape[:2]
            new_h, new_w = self.output_size
            top = np.random.randint(0, h - new_h + 1)
            left = np.random.randint(0, w - new_w + 1)
            image = image[top: top + new_h, left: left + new_w]
            landmarks = landmarks - [left, top]
            return {'image': image, 'landmarks': landmarks}

    class ToTensor(object):
        """Convert ndarrays in sample to Tensors."""

        def __call__(self, sample):
            image, landmarks = sample['image'], sample['landmarks']
            # swap color axis because
            # numpy image: H x W x C
            # torch image: C x H x W
            image = image.transpose((2, 0, 1))
            return {'image': torch.from_numpy(image),
                    'landmarks': torch.from_numpy(landmarks)}

    # the table dataset, a seeded 80/20 split, and a model trained on it
    dataset = CustomDataset(features, targets,
                            target_transform=lambda y: torch.tensor(y))
    train_set, val_set = random_split(dataset, [0.8, 0.2], generator=torch.Generator().manual_seed(42))
    again, _ = random_split(dataset, [0.8, 0.2], generator=torch.Generator().manual_seed(42))
    train_loader = DataLoader(train_set, batch_size=16, shuffle=True)
    val_loader = DataLoader(val_set, batch_size=len(val_set))
    xb, yb = next(iter(train_loader))

    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for epoch in range(10):
        model.train()
        for X, y in train_loader:
            pred = model(X)
            loss = loss_fn(pred, y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        X, y = next(iter(val_loader))
        accuracy = (model(X).argmax(1) == y).type(torch.float).mean().item()

    # the dict dataset: default collation of dicts, a collate_fn that keeps the list, one that pads
    np.random.seed(0)
    transformed_dataset = FaceLandmarksDataset(faces, marks, transform=ToTensor())
    cropped = FaceLandmarksDataset(faces, marks, transform=lambda s: ToTensor()(RandomCrop(16)(s)))
    sample = transformed_dataset[torch.tensor(3)]
    dataloader = DataLoader(cropped, batch_size=4, shuffle=True, num_workers=0)
    batches = [(i_batch, sample_batched['image'].size(), sample_batched['landmarks'].size())
               for i_batch, sample_batched in enumerate(dataloader)]
    listed = next(iter(DataLoader(transformed_dataset, batch_size=3,
                                  collate_fn=lambda batch: tuple(zip(*[(s['image'], s['landmarks'])
                                                                       for s in batch])))))

    def pad_collate(batch):
        xs = [torch.tensor(np.arange(n, dtype=np.float32)) for n, _ in batch]
        ys = torch.tensor([y for _, y in batch])
        lengths = torch.tensor([len(x) for x in xs])
        padded = torch.zeros(len(xs), int(lengths.max()))
        for i, x in enumerate(xs):
            padded[i, :len(x)] = x
        return padded, lengths, ys

    ragged = [(n, n % 2) for n in (3, 1, 4, 1, 5, 9, 2)]
    padded = list(DataLoader(ragged, batch_size=4, collate_fn=pad_collate))

    return {
        "split": (len(train_set), len(val_set)), "same_split": list(train_set.indices) == list(again.indices),
        "disjoint": not set(train_set.indices) & set(val_set.indices),
        "batch": (tuple(xb.shape), xb.dtype, tuple(yb.shape), yb.dtype),
        "losses": losses, "accuracy": accuracy,
        "sample": (tuple(sample['image'].shape), sample['image'].dtype, sample['landmarks'].dtype),
        "batches": [(i, tuple(a), tuple(b)) for i, a, b in batches],
        "listed": (len(listed), len(listed[0]), tuple(listed[0][0].shape)),
        "padded": [(tuple(p.shape), p.dtype, tuple(n.tolist()), tuple(y.tolist())) for p, n, y in padded],
    }


def test_custom_datasets_and_collate_fns():
    import ember as torch
    import ember.nn as nn
    from ember.utils.data import DataLoader, Dataset, random_split

    got = _custom_datasets_program(torch, nn, Dataset, DataLoader, random_split)

    assert got["split"] == (80, 20) and got["same_split"] and got["disjoint"]
    assert got["batch"] == ((16, 8), torch.float32, (16,), torch.int64)
    assert np.mean(got["losses"][-5:]) < np.mean(got["losses"][:5]) and got["accuracy"] >= 0.8
    assert got["sample"] == ((3, 24, 20), torch.uint8, torch.float64)
    assert got["batches"] == [(0, (4, 3, 16, 16), (4, 5, 2)), (1, (4, 3, 16, 16), (4, 5, 2)),
                              (2, (2, 3, 16, 16), (2, 5, 2))]
    assert got["listed"] == (2, 3, (3, 24, 20))
    assert got["padded"] == [((4, 4), torch.float32, (3, 1, 4, 1), (1, 1, 0, 1)),
                             ((3, 9), torch.float32, (5, 9, 2), (1, 1, 0))]


def test_custom_datasets_and_collate_fns_match_torch(torch):
    import ember
    import ember.nn
    from ember.utils import data

    ours = _custom_datasets_program(ember, ember.nn, data.Dataset, data.DataLoader, data.random_split)
    theirs = _custom_datasets_program(torch, torch.nn, torch.utils.data.Dataset, torch.utils.data.DataLoader,
                                      torch.utils.data.random_split)
    for key in ("split", "same_split", "disjoint", "batches", "listed"):
        assert ours[key] == theirs[key], key
    assert [str(v).split(".")[-1] for v in ours["batch"]] == [str(v).split(".")[-1] for v in theirs["batch"]]
    assert [str(v).split(".")[-1] for v in ours["sample"]] == [str(v).split(".")[-1] for v in theirs["sample"]]
    assert [(s, str(d).split(".")[-1], n, y) for s, d, n, y in ours["padded"]] == \
           [(s, str(d).split(".")[-1], n, y) for s, d, n, y in theirs["padded"]]


# ------------------------------------------------------------------------------------------------------------
# 5. A convolutional autoencoder, and the DCGAN tutorial
# ------------------------------------------------------------------------------------------------------------
def _autoencoder(nn):
    class Autoencoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Sequential(
                nn.Conv2d(1, 16, 3, stride=2, padding=1),  # N, 16, 14, 14
                nn.ReLU(),
                nn.Conv2d(16, 32, 3, stride=2, padding=1),  # N, 32, 7, 7
                nn.ReLU(),
                nn.Conv2d(32, 64, 7)  # N, 64, 1, 1
            )
            self.decoder = nn.Sequential(
                nn.ConvTranspose2d(64, 32, 7),  # N, 32, 7, 7
                nn.ReLU(),
                nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1),  # N, 16, 14, 14
                nn.ReLU(),
                nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1),  # N, 1, 28, 28
                nn.Sigmoid()
            )

        def forward(self, x):
            encoded = self.encoder(x)
            decoded = self.decoder(encoded)
            return decoded

    return Autoencoder


def _dcgan(nn, nz=8, ngf=8, ndf=8, nc=3):
    """The tutorial's Generator and Discriminator, one stage shorter (32x32 images instead of 64x64)."""

    class Generator(nn.Module):
        def __init__(self, ngpu):
            super(Generator, self).__init__()
            self.ngpu = ngpu
            self.main = nn.Sequential(
                # input is Z, going into a convolution
                nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False),
                nn.BatchNorm2d(ngf * 4),
                nn.ReLU(True),
                # state size. ``(ngf*4) x 4 x 4``
                nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf * 2),
                nn.ReLU(True),
                # state size. ``(ngf*2) x 8 x 8``
                nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf),
                nn.ReLU(True),
                # state size. ``(ngf) x 16 x 16``
                nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
                nn.Tanh()
                # state size. ``(nc) x 32 x 32``
            )

        def forward(self, input):
            return self.main(input)

    class Discriminator(nn.Module):
        def __init__(self, ngpu):
            super(Discriminator, self).__init__()
            self.ngpu = ngpu
            self.main = nn.Sequential(
                # input is ``(nc) x 32 x 32``
                nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
                nn.LeakyReLU(0.2, inplace=True),
                # state size. ``(ndf) x 16 x 16``
                nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 2),
                nn.LeakyReLU(0.2, inplace=True),
                # state size. ``(ndf*2) x 8 x 8``
                nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 4),
                nn.LeakyReLU(0.2, inplace=True),
                # state size. ``(ndf*4) x 4 x 4``
                nn.Conv2d(ndf * 4, 1, 4, 1, 0, bias=False),
                nn.Sigmoid()
            )

        def forward(self, input):
            return self.main(input)

    # custom weights initialization called on ``netG`` and ``netD``
    def weights_init(m):
        classname = m.__class__.__name__
        if classname.find('Conv') != -1:
            m.weight.data.normal_(0.0, 0.02)
        elif classname.find('BatchNorm') != -1:
            nn.init.normal_(m.weight.data, 1.0, 0.02)
            nn.init.constant_(m.bias.data, 0)

    return Generator, Discriminator, weights_init


def test_convolutional_autoencoder(tmp_path):
    import ember as torch
    import ember.nn as nn
    from ember.vision import datasets, transforms

    _learnable_mnist_dir(tmp_path / "data" / "MNIST" / "raw", n_train=64, n_test=10)
    torch.manual_seed(42)

    # ------------------------------------------------------------ the program
    transform = transforms.ToTensor()
    mnist_data = datasets.MNIST(root=tmp_path / 'data', train=True, download=False, transform=transform)
    data_loader = torch.utils.data.DataLoader(dataset=mnist_data, batch_size=16, shuffle=True)

    dataiter = iter(data_loader)
    images, labels = next(dataiter)
    lo, hi = torch.min(images), torch.max(images)

    Autoencoder = _autoencoder(nn)
    model = Autoencoder()
    criterion = nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-5)

    num_epochs = 6
    outputs = []
    epoch_losses = []
    for epoch in range(num_epochs):
        for (img, _) in data_loader:
            recon = model(img)
            loss = criterion(recon, img)

            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        print(f'Epoch:{epoch + 1}, Loss:{loss.item():.4f}')
        epoch_losses.append(loss.item())
        outputs.append((epoch, img, recon))

    imgs = outputs[-1][1].detach().numpy()
    recon = outputs[-1][2].detach().numpy()
    # ------------------------------------------------------------ what it must have achieved

    assert images.shape == (16, 1, 28, 28) and labels.shape == (16,)
    assert 0.0 <= float(lo) and float(hi) <= 1.0
    assert imgs.shape == recon.shape == (16, 1, 28, 28) and 0.0 <= recon.min() and recon.max() <= 1.0
    assert epoch_losses[-1] < 0.6 * epoch_losses[0], epoch_losses


def test_dcgan_tutorial(tmp_path, capsys, monkeypatch):
    import random

    import ember as torch
    import ember.nn as nn
    import ember.optim as optim
    import ember.utils.data
    import ember.vision.datasets as dset
    import ember.vision.transforms as transforms
    import ember.vision.utils as vutils
    from PIL import Image

    monkeypatch.setattr(torch.backends, "_deterministic", {"mode": False, "warn_only": False})  # set below
    dataroot = tmp_path / "celeba"
    (dataroot / "img_align_celeba").mkdir(parents=True)
    rng = np.random.default_rng(4)
    for i in range(16):
        Image.fromarray(rng.integers(0, 255, size=(40, 36, 3)).astype(np.uint8)).save(
            dataroot / "img_align_celeba" / f"{i:06d}.png")

    # ------------------------------------------------------------ the tutorial
    # Set random seed for reproducibility
    manualSeed = 999
    random.seed(manualSeed)
    torch.manual_seed(manualSeed)
    torch.use_deterministic_algorithms(True)  # Needed for reproducible results

    workers = 2
    batch_size = 8
    image_size = 32
    nc = 3
    nz = 8
    ngf = 8
    ndf = 8
    num_epochs = 1
    lr = 0.0002
    beta1 = 0.5
    ngpu = 1

    # We can use an image folder dataset the way we have it setup.
    # Create the dataset
    dataset = dset.ImageFolder(root=dataroot,
                               transform=transforms.Compose([
                                   transforms.Resize(image_size),
                                   transforms.CenterCrop(image_size),
                                   transforms.ToTensor(),
                                   transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
                               ]))
    # Create the dataloader
    dataloader = torch.utils.data.DataLoader(dataset, batch_size=batch_size,
                                             shuffle=True, num_workers=workers)

    # Decide which device we want to run on
    device = torch.device("cuda:0" if (torch.cuda.is_available() and ngpu > 0) else "cpu")

    # Plot some training images
    real_batch = next(iter(dataloader))
    grid = np.transpose(vutils.make_grid(real_batch[0].to(device)[:64], padding=2, normalize=True).cpu(), (1, 2, 0))

    Generator, Discriminator, weights_init = _dcgan(nn, nz, ngf, ndf, nc)

    # Create the generator
    netG = Generator(ngpu).to(device)

    # Handle multi-GPU if desired
    if (device.type == 'cuda') and (ngpu > 1):
        netG = nn.DataParallel(netG, list(range(ngpu)))

    # Apply the ``weights_init`` function to randomly initialize all weights
    #  to ``mean=0``, ``stdev=0.02``.
    netG.apply(weights_init)

    # Print the model
    print(netG)

    # Create the Discriminator
    netD = Discriminator(ngpu).to(device)
    if (device.type == 'cuda') and (ngpu > 1):
        netD = nn.DataParallel(netD, list(range(ngpu)))
    netD.apply(weights_init)
    print(netD)

    # Initialize the ``BCELoss`` function
    criterion = nn.BCELoss()

    # Create batch of latent vectors that we will use to visualize
    #  the progression of the generator
    fixed_noise = torch.randn(64, nz, 1, 1, device=device)

    # Establish convention for real and fake labels during training
    real_label = 1.
    fake_label = 0.

    # Setup Adam optimizers for both G and D
    optimizerD = optim.Adam(netD.parameters(), lr=lr, betas=(beta1, 0.999))
    optimizerG = optim.Adam(netG.parameters(), lr=lr, betas=(beta1, 0.999))

    # Training Loop

    # Lists to keep track of progress
    img_list = []
    G_losses = []
    D_losses = []
    iters = 0
    g_before = copy.deepcopy(netG.state_dict())
    d_before = copy.deepcopy(netD.state_dict())

    print("Starting Training Loop...")
    # For each epoch
    for epoch in range(num_epochs):
        # For each batch in the dataloader
        for i, data in enumerate(dataloader, 0):

            ############################
            # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
            ###########################
            ## Train with all-real batch
            netD.zero_grad()
            # Format batch
            real_cpu = data[0].to(device)
            b_size = real_cpu.size(0)
            label = torch.full((b_size,), real_label, dtype=torch.float, device=device)
            # Forward pass real batch through D
            output = netD(real_cpu).view(-1)
            # Calculate loss on all-real batch
            errD_real = criterion(output, label)
            # Calculate gradients for D in backward pass
            errD_real.backward()
            D_x = output.mean().item()

            ## Train with all-fake batch
            # Generate batch of latent vectors
            noise = torch.randn(b_size, nz, 1, 1, device=device)
            # Generate fake image batch with G
            fake = netG(noise)
            label.fill_(fake_label)
            # Classify all fake batch with D
            output = netD(fake.detach()).view(-1)
            # Calculate D's loss on the all-fake batch
            errD_fake = criterion(output, label)
            # Calculate the gradients for this batch, accumulated (summed) with previous gradients
            errD_fake.backward()
            D_G_z1 = output.mean().item()
            # Compute error of D as sum over the fake and the real batches
            errD = errD_real + errD_fake
            # Update D
            optimizerD.step()

            ############################
            # (2) Update G network: maximize log(D(G(z)))
            ###########################
            netG.zero_grad()
            label.fill_(real_label)  # fake labels are real for generator cost
            # Since we just updated D, perform another forward pass of all-fake batch through D
            output = netD(fake).view(-1)
            # Calculate G's loss based on this output
            errG = criterion(output, label)
            # Calculate gradients for G
            errG.backward()
            D_G_z2 = output.mean().item()
            # Update G
            optimizerG.step()

            # Output training stats
            if i % 50 == 0:
                print('[%d/%d][%d/%d]\tLoss_D: %.4f\tLoss_G: %.4f\tD(x): %.4f\tD(G(z)): %.4f / %.4f'
                      % (epoch, num_epochs, i, len(dataloader),
                         errD.item(), errG.item(), D_x, D_G_z1, D_G_z2))

            # Save Losses for plotting later
            G_losses.append(errG.item())
            D_losses.append(errD.item())

            # Check how the generator is doing by saving G's output on fixed_noise
            if (iters % 500 == 0) or ((epoch == num_epochs - 1) and (i == len(dataloader) - 1)):
                with torch.no_grad():
                    fake = netG(fixed_noise).detach().cpu()
                img_list.append(vutils.make_grid(fake, padding=2, normalize=True))

            iters += 1
    # ------------------------------------------------------------ what it must have achieved

    out = capsys.readouterr().out
    assert "Starting Training Loop..." in out and "Loss_D:" in out and "ConvTranspose2d(8, 32" in out
    assert len(G_losses) == len(D_losses) == 2 and all(np.isfinite(G_losses + D_losses))
    assert 0.0 < D_x < 1.0 and 0.0 < D_G_z1 < 1.0 and 0.0 < D_G_z2 < 1.0
    assert real_batch[0].shape == (8, 3, 32, 32) and tuple(grid.shape) == (34 + 2, 8 * 34 + 2, 3)
    assert fake.shape == (64, 3, 32, 32) and float(fake.abs().max()) <= 1.0
    assert len(img_list) == 2 and tuple(img_list[-1].shape) == (3, 8 * 34 + 2, 8 * 34 + 2)
    assert 0.0 <= float(img_list[-1].min()) and float(img_list[-1].max()) <= 1.0
    # both networks learned: every weight moved, the BatchNorm init is the tutorial's
    assert all(not torch.equal(g_before[k], v) for k, v in netG.state_dict().items() if k.endswith('weight'))
    assert all(not torch.equal(d_before[k], v) for k, v in netD.state_dict().items() if k.endswith('weight'))
    assert abs(float(g_before['main.1.weight'].mean()) - 1.0) < 0.02 and float(g_before['main.1.bias'].abs().max()) == 0
    assert abs(float(g_before['main.0.weight'].std()) - 0.02) < 0.005


def test_autoencoder_and_dcgan_shapes_match_torch(torch):
    import ember
    import ember.nn

    for lib, handles in ((ember, ember.nn), (torch, torch.nn)):
        lib.manual_seed(0)
    ae_ours, ae_theirs = _autoencoder(ember.nn)(), _autoencoder(torch.nn)()
    G_ours, D_ours, _ = _dcgan(ember.nn)
    G_theirs, D_theirs, _ = _dcgan(torch.nn)
    pairs = [(ae_ours, ae_theirs, (2, 1, 28, 28)), (G_ours(1), G_theirs(1), (2, 8, 1, 1)),
             (D_ours(1), D_theirs(1), (2, 3, 32, 32))]
    for ours, theirs, shape in pairs:
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())
        ours.load_state_dict({k: ember.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        ours.eval(), theirs.eval()
        with torch.no_grad():
            expected = theirs(torch.from_numpy(x)).numpy()
        got = ours(ember.tensor(x)).detach().numpy()
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------------------------------------------------
# 6. Containers, hooks, clipping, gradient accumulation, lr edits, schedulers and hand-written early stopping
# ------------------------------------------------------------------------------------------------------------
def _training_tricks_program(torch, nn, F, data, epochs: int = 8):
    """A training script as users write it beyond the tutorials; ``data`` is (x, labels, targets) arrays."""
    from_numpy = torch.from_numpy
    x, y, t = (from_numpy(a) for a in data)
    n_train = 96
    train_ds = torch.utils.data.TensorDataset(x[:n_train], y[:n_train], t[:n_train])
    val_ds = torch.utils.data.TensorDataset(x[n_train:], y[n_train:], t[n_train:])
    train_loader = torch.utils.data.DataLoader(train_ds, batch_size=8, shuffle=True)
    val_loader = torch.utils.data.DataLoader(val_ds, batch_size=32)

    class MultiHeadNet(nn.Module):
        def __init__(self, in_features=10, hidden=(32, 32), num_classes=3):
            super().__init__()
            self.layers = nn.ModuleList()
            prev = in_features
            for h in hidden:
                self.layers.append(nn.Linear(prev, h))
                prev = h
            self.norms = nn.ModuleList([nn.BatchNorm1d(h) for h in hidden])
            self.act = nn.ReLU()
            self.heads = nn.ModuleDict({
                'cls': nn.Linear(prev, num_classes),
                'reg': nn.Linear(prev, 1),
            })

        def forward(self, x):
            for layer, norm in zip(self.layers, self.norms):
                x = self.act(norm(layer(x)))
            return {name: head(x) for name, head in self.heads.items()}

    model = MultiHeadNet()
    criterion = nn.CrossEntropyLoss()

    def compute_loss(out, labels, targets):
        return criterion(out['cls'], labels) + F.mse_loss(out['reg'].squeeze(1), targets)

    # forward hooks collecting activations
    activations = {}

    def get_activation(name):
        def hook(model, input, output):
            activations[name] = output.detach()
        return hook

    handles = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            handles.append(module.register_forward_hook(get_activation(name)))
    model.eval()
    with torch.no_grad():
        model(x[:5])
    hooked = {name: tuple(a.shape) for name, a in activations.items()}
    for handle in handles:
        handle.remove()
    activations.clear()
    model(x[:5])
    hooks_removed = not activations

    # gradient accumulation over micro-batches gives the big batch's gradient (eval-mode batch norm)
    model.zero_grad()
    compute_loss(model(x[:32]), y[:32], t[:32]).backward()
    full = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    for i in range(4):
        sl = slice(8 * i, 8 * (i + 1))
        (compute_loss(model(x[sl]), y[sl], t[sl]) / 4).backward()
    accumulated_matches = all(torch.allclose(a, b, atol=1e-6) for a, b in zip(full, (p.grad for p in model.parameters())))
    model.zero_grad()

    def evaluate(model):
        model.eval()
        total, correct, count = 0.0, 0, 0
        with torch.no_grad():
            for inputs, labels, targets in val_loader:
                out = model(inputs)
                total += compute_loss(out, labels, targets).item() * inputs.size(0)
                correct += (out['cls'].argmax(1) == labels).sum().item()
                count += inputs.size(0)
        return total / count, correct / count

    # phase 1: OneCycleLR stepped once per optimizer step, 4 micro-batches per step, clipped
    accumulation_steps = 4
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, epochs=epochs,
                                                    steps_per_epoch=len(train_loader) // accumulation_steps)
    one_cycle_lrs, grad_norms, train_losses = [], [], []
    for epoch in range(epochs):
        model.train()
        optimizer.zero_grad()
        for i, (inputs, labels, targets) in enumerate(train_loader):
            loss = compute_loss(model(inputs), labels, targets) / accumulation_steps
            loss.backward()
            train_losses.append(loss.item() * accumulation_steps)
            if (i + 1) % accumulation_steps == 0:
                total_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
                grad_norms.append(float(total_norm))
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
                one_cycle_lrs.append(optimizer.param_groups[0]['lr'])
    after_one_cycle = evaluate(model)

    # phase 2: warm-up by editing param_groups by hand, then cosine annealing; early stopping by hand
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    warmup_epochs, base_lr = 2, 1e-3
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=6, eta_min=1e-5)
    best_loss, best_state, best_epoch = float('inf'), None, -1
    patience, bad_epochs, stopped_at, phase2_lrs = 2, 0, None, []
    for epoch in range(12):
        if epoch < warmup_epochs:
            for g in optimizer.param_groups:
                g['lr'] = base_lr * (epoch + 1) / warmup_epochs
        phase2_lrs.append(optimizer.param_groups[0]['lr'])
        model.train()
        for inputs, labels, targets in train_loader:
            optimizer.zero_grad()
            compute_loss(model(inputs), labels, targets).backward()
            optimizer.step()
        if epoch >= warmup_epochs:
            cosine.step()
        val_loss, _ = evaluate(model)
        if val_loss < best_loss - 1e-4:
            best_loss, best_epoch, bad_epochs = val_loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            bad_epochs += 1
            if bad_epochs >= patience:
                stopped_at = epoch
                print(f'Early stopping at epoch {epoch}')
                break
    model.load_state_dict(best_state)
    restored_loss = evaluate(model)[0]

    # ReduceLROnPlateau on a given sequence of validation losses
    param = nn.Parameter(torch.zeros(2))
    plateau_opt = torch.optim.SGD([param], lr=0.1)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(plateau_opt, mode='min', factor=0.5, patience=1)
    plateau_lrs = []
    for val in [1.0, 0.9, 0.95, 0.97, 0.8, 0.85, 0.86, 0.87, 0.88]:
        plateau.step(val)
        plateau_lrs.append(plateau_opt.param_groups[0]['lr'])

    return {
        "modules": [name for name, _ in model.named_modules()],
        "children": [name for name, _ in model.named_children()],
        "state_keys": list(model.state_dict()),
        "n_params": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "containers": (len(model.layers), type(model.layers[-1]).__name__, 'cls' in model.heads,
                       list(model.heads.keys())),
        "hooked": hooked, "hooks_removed": hooks_removed, "accumulated_matches": accumulated_matches,
        "one_cycle_lrs": one_cycle_lrs, "grad_norms": grad_norms, "train_losses": train_losses,
        "after_one_cycle": after_one_cycle, "phase2_lrs": phase2_lrs, "stopped_at": stopped_at,
        "best": (best_loss, best_epoch), "restored_loss": restored_loss, "plateau_lrs": plateau_lrs,
    }


def _tricks_data():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((128, 10)).astype(np.float32)
    w = rng.standard_normal((10, 3)).astype(np.float32)
    labels = (x @ w).argmax(1).astype(np.int64)
    targets = (x[:, :3].sum(1) * 0.5).astype(np.float32)
    return x, labels, targets


def test_containers_hooks_accumulation_schedulers_and_early_stopping():
    import ember as torch
    import ember.nn as nn
    import ember.nn.functional as F
    import ember.optim  # noqa: F401  (torch.optim is there once torch is imported)
    import ember.utils.data  # noqa: F401

    got = _training_tricks_program(torch, nn, F, _tricks_data())

    assert got["modules"] == ['', 'layers', 'layers.0', 'layers.1', 'norms', 'norms.0', 'norms.1', 'act',
                              'heads', 'heads.cls', 'heads.reg']
    assert got["containers"] == (2, 'Linear', True, ['cls', 'reg'])
    assert got["hooked"] == {'layers.0': (5, 32), 'layers.1': (5, 32), 'heads.cls': (5, 3), 'heads.reg': (5, 1)}
    assert got["hooks_removed"] and got["accumulated_matches"]
    assert len(got["one_cycle_lrs"]) == 8 * 3 and max(got["one_cycle_lrs"]) == pytest.approx(0.1, rel=0.05)
    assert got["one_cycle_lrs"][-2] == pytest.approx(0.1 / 25 / 1e4)  # the last step passes the end, as in torch
    assert all(np.isfinite(got["grad_norms"]))
    assert np.mean(got["train_losses"][-12:]) < 0.6 * np.mean(got["train_losses"][:12])
    assert got["after_one_cycle"][1] > 0.6  # three classes: chance is 1/3
    assert got["phase2_lrs"][:3] == [pytest.approx(5e-4), pytest.approx(1e-3), pytest.approx(1e-3)]
    assert got["restored_loss"] == pytest.approx(got["best"][0], rel=1e-5)
    assert got["plateau_lrs"] == [pytest.approx(v) for v in (0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.0125)]


def test_containers_hooks_accumulation_schedulers_match_torch(torch):
    import ember
    import ember.nn
    import ember.nn.functional
    import ember.optim  # noqa: F401
    import ember.utils.data  # noqa: F401

    data = _tricks_data()
    ours = _training_tricks_program(ember, ember.nn, ember.nn.functional, data)
    theirs = _training_tricks_program(torch, torch.nn, torch.nn.functional, data)
    for key in ("modules", "children", "state_keys", "n_params", "containers", "hooked", "hooks_removed",
                "accumulated_matches", "plateau_lrs"):
        assert ours[key] == theirs[key], key
    np.testing.assert_allclose(ours["one_cycle_lrs"], theirs["one_cycle_lrs"], rtol=1e-6)
    n = min(len(ours["phase2_lrs"]), len(theirs["phase2_lrs"]))
    np.testing.assert_allclose(ours["phase2_lrs"][:n], theirs["phase2_lrs"][:n], rtol=1e-6)


# ------------------------------------------------------------------------------------------------------------
# 7. "Learn the Basics": Tensors, Automatic Differentiation, Neural Networks (blitz), and the Quickstart
# ------------------------------------------------------------------------------------------------------------
def test_learn_the_basics_tensors_autograd_and_neural_networks(tmp_path, capsys):
    import ember as torch
    import ember.nn as nn
    import ember.nn.functional as F
    import ember.optim as optim

    # ------------------------------------------------------------ Tensors
    data = [[1, 2], [3, 4]]
    x_data = torch.tensor(data)
    np_array = np.array(data)
    x_np = torch.from_numpy(np_array)
    x_ones = torch.ones_like(x_data)  # retains the properties of x_data
    x_rand = torch.rand_like(x_data, dtype=torch.float)  # overrides the datatype of x_data
    shape = (2, 3,)
    rand_tensor = torch.rand(shape)
    tensor = torch.rand(3, 4)
    print(f"Shape of tensor: {tensor.shape}")
    print(f"Datatype of tensor: {tensor.dtype}")
    print(f"Device tensor is stored on: {tensor.device}")
    if torch.accelerator.is_available():
        tensor = tensor.to(torch.accelerator.current_accelerator())
    tensor = torch.ones(4, 4)
    print(f"First row: {tensor[0]}")
    print(f"First column: {tensor[:, 0]}")
    print(f"Last column: {tensor[..., -1]}")
    tensor[:, 1] = 0
    t1 = torch.cat([tensor, tensor, tensor], dim=1)
    y1 = tensor @ tensor.T
    y2 = tensor.matmul(tensor.T)
    y3 = torch.rand_like(y1)
    torch.matmul(tensor, tensor.T, out=y3)
    z1 = tensor * tensor
    z2 = tensor.mul(tensor)
    z3 = torch.rand_like(tensor)
    torch.mul(tensor, tensor, out=z3)
    agg = tensor.sum()
    agg_item = agg.item()
    print(agg_item, type(agg_item))
    tensor.add_(5)
    t = torch.ones(5)
    n = t.numpy()
    t.add_(1)
    n_after = n.copy()
    n = np.ones(5)
    t = torch.from_numpy(n)
    np.add(n, 1, out=n)

    assert x_np.dtype == torch.int64 and x_ones.dtype == torch.int64 and x_rand.dtype == torch.float32
    assert rand_tensor.shape == (2, 3) and t1.shape == (4, 12)
    assert torch.equal(y1, y2) and torch.equal(y1, y3) and torch.equal(z1, z2) and torch.equal(z1, z3)
    assert agg_item == 12.0 and isinstance(agg_item, float) and float(tensor[0, 0]) == 6.0
    assert (n_after == 2).all() and torch.equal(t, torch.full((5,), 2.0, dtype=torch.float64))

    # ------------------------------------------------------------ Automatic Differentiation
    x = torch.ones(5)  # input tensor
    y = torch.zeros(3)  # expected output
    w = torch.randn(5, 3, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    z = torch.matmul(x, w) + b
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    print(f"Gradient function for z = {z.grad_fn}")
    print(f"Gradient function for loss = {loss.grad_fn}")
    loss.backward()
    print(w.grad)
    print(b.grad)
    z = torch.matmul(x, w) + b
    requires = [z.requires_grad]
    with torch.no_grad():
        z = torch.matmul(x, w) + b
    requires.append(z.requires_grad)
    z = torch.matmul(x, w) + b
    z_det = z.detach()
    requires.append(z_det.requires_grad)
    inp = torch.eye(4, 5, requires_grad=True)
    out = (inp + 1).pow(2).t()
    out.backward(torch.ones_like(out), retain_graph=True)
    first = inp.grad.clone()
    out.backward(torch.ones_like(out))
    second = inp.grad.clone()
    inp.grad.zero_()
    out = (inp + 1).pow(2).t()
    out.backward(torch.ones_like(out))

    assert requires == [True, False, False] and w.grad.shape == (5, 3)
    np.testing.assert_allclose(w.grad.numpy(), np.tile(b.grad.numpy(), (5, 1)), rtol=1e-6)
    assert torch.equal(second, 2 * first) and torch.equal(inp.grad, first)

    # ------------------------------------------------------------ Neural Networks (60 minute blitz)
    class Net(nn.Module):

        def __init__(self):
            super(Net, self).__init__()
            # 1 input image channel, 6 output channels, 5x5 square convolution
            # kernel
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.conv2 = nn.Conv2d(6, 16, 5)
            # an affine operation: y = Wx + b
            self.fc1 = nn.Linear(16 * 5 * 5, 120)  # 5*5 from image dimension
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, input):
            # Convolution layer C1: 1 input image channel, 6 output channels,
            # 5x5 square convolution, it uses RELU activation function, and
            # outputs a Tensor with size (N, 6, 28, 28), where N is the size of the batch
            c1 = F.relu(self.conv1(input))
            # Subsampling layer S2: 2x2 grid, purely functional,
            # this layer does not have any parameter, and outputs a (N, 6, 14, 14) Tensor
            s2 = F.max_pool2d(c1, (2, 2))
            # Convolution layer C3: 6 input channels, 16 output channels,
            # 5x5 square convolution, it uses RELU activation function, and
            # outputs a (N, 16, 10, 10) Tensor
            c3 = F.relu(self.conv2(s2))
            # Subsampling layer S4: 2x2 grid, purely functional,
            # this layer does not have any parameter, and outputs a (N, 16, 5, 5) Tensor
            s4 = F.max_pool2d(c3, 2)
            # Flatten operation: purely functional, outputs a (N, 400) Tensor
            s4 = torch.flatten(s4, 1)
            # Fully connected layer F5: (N, 400) Tensor input,
            # and outputs a (N, 120) Tensor, it uses RELU activation function
            f5 = F.relu(self.fc1(s4))
            # Fully connected layer F6: (N, 120) Tensor input,
            # and outputs a (N, 84) Tensor, it uses RELU activation function
            f6 = F.relu(self.fc2(f5))
            # Gaussian layer OUTPUT: (N, 84) Tensor input, and
            # outputs a (N, 10) Tensor
            output = self.fc3(f6)
            return output

    net = Net()
    print(net)
    params = list(net.parameters())
    print(len(params))
    print(params[0].size())  # conv1's .weight
    input = torch.randn(1, 1, 32, 32)
    out = net(input)
    print(out)
    net.zero_grad()
    out.backward(torch.randn(1, 10))
    output = net(input)
    target = torch.randn(10)  # a dummy target, for example
    target = target.view(1, -1)  # make it the same shape as output
    criterion = nn.MSELoss()
    loss = criterion(output, target)
    print(loss)
    print(loss.grad_fn)  # MSELoss
    print(loss.grad_fn.next_functions[0][0])  # Linear
    print(loss.grad_fn.next_functions[0][0].next_functions[0][0])  # ReLU
    net.zero_grad()  # zeroes the gradient buffers of all parameters
    print('conv1.bias.grad before backward')
    print(net.conv1.bias.grad)
    grad_before = net.conv1.bias.grad
    loss.backward()
    print('conv1.bias.grad after backward')
    print(net.conv1.bias.grad)
    learning_rate = 0.01
    weight_before = net.fc3.weight.detach().clone()
    for f in net.parameters():
        f.data.sub_(f.grad.data * learning_rate)
    manual_step = torch.allclose(net.fc3.weight, weight_before - learning_rate * net.fc3.weight.grad)
    # create your optimizer
    optimizer = optim.SGD(net.parameters(), lr=0.01)
    first_loss = loss.item()
    for _ in range(5):
        # in your training loop:
        optimizer.zero_grad()  # zero the gradient buffers
        output = net(input)
        loss = criterion(output, target)
        loss.backward()
        optimizer.step()  # Does the update

    printed = capsys.readouterr().out
    assert "Gradient function for z = <AddBackward object at" in printed
    assert "Device tensor is stored on: cpu" in printed
    assert len(params) == 10 and params[0].size() == (6, 1, 5, 5) and out.shape == (1, 10)
    assert grad_before is None and net.conv1.bias.grad.shape == (6,) and manual_step
    assert loss.item() < first_loss
