#!/usr/bin/env python3
"""Train LeNet-5, a small convolutional network, on handwritten digits (MNIST) with fastnn.

    python examples/mnist_lenet.py
    python examples/mnist_lenet.py --backend torch   # the very same script on PyTorch

The code below is ordinary PyTorch: fastnn is imported *as* ``torch``. With only the
10,000-image t10k files (what ships with fastnn), it trains on their first 8,000 images
and reports accuracy on the last 2,000, which it never trains on; with the full 60,000
training images present it uses the official split. Each epoch shows a progress bar with
loss and throughput and then the held-out accuracy; at the end it writes a checkpoint
(``checkpoint.pt``), the loss/accuracy curves (``curves.png``) and ``metrics.json`` to
``--out-dir``.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mnist_common import (Progress, backend_from_argv, finish_args, make_parser,  # noqa: E402
                          mnist_arrays, pick_device, report)

BACKEND = backend_from_argv()
if BACKEND == "torch":
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torch.optim as optim
    from torch.optim.lr_scheduler import StepLR
    from torch.utils.data import DataLoader, TensorDataset
else:
    import fastnn as torch
    import fastnn.nn as nn
    import fastnn.nn.functional as F
    import fastnn.optim as optim
    from fastnn.optim.lr_scheduler import StepLR
    from fastnn.utils.data import DataLoader, TensorDataset

NAME = "mnist_lenet"


class LeNet(nn.Module):
    """LeNet-5 with ReLU and max pooling: two 5x5 convolutions, three linear layers."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=2)  # 28x28 -> 28x28
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)  # 14x14 -> 10x10
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)  # -> 6x14x14
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)  # -> 16x5x5
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)  # logits; cross_entropy applies the softmax


def train(model, loader, optimizer, epoch, args, device):
    model.train()
    progress = Progress(loader, f"epoch {epoch}/{args.epochs}", enabled=not args.no_progress)
    for data, target in progress:
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.cross_entropy(output, target)
        loss.backward()
        optimizer.step()
        progress.update(loss.item(), len(target))
    return progress.close()


def evaluate(model, loader, device):
    model.eval()
    loss, correct, n = 0.0, 0, 0
    with torch.no_grad():
        for data, target in loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            loss += F.cross_entropy(output, target, reduction="sum").item()
            correct += (output.argmax(dim=1) == target).sum().item()
            n += len(target)
    return loss / n, correct / n


def main(argv=None):
    parser = make_parser(__doc__.split("\n\n")[0].strip(), name=NAME, epochs=10,
                         batch_size=64, lr=0.05, momentum=0.9)
    args = finish_args(parser.parse_args(argv), NAME)
    if args.backend != BACKEND:
        raise SystemExit("--backend is read when the script starts; run it as "
                         "`python examples/mnist_lenet.py --backend torch`")
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = pick_device(torch, args)

    x_train, y_train, source = mnist_arrays(args, "train")
    x_test, y_test, _ = mnist_arrays(args, "test")
    train_set = TensorDataset(torch.from_numpy(x_train), torch.from_numpy(y_train))
    test_set = TensorDataset(torch.from_numpy(x_test), torch.from_numpy(y_test))
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=args.test_batch_size)
    print(f"{args.backend}: training on {len(train_set):,} images, evaluating on "
          f"{len(test_set):,}\n  data: {source}", flush=True)

    model = LeNet().to(device)
    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)

    history = []
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        train_loss, rate = train(model, train_loader, optimizer, epoch, args, device)
        test_loss, test_acc = evaluate(model, test_loader, device)
        history.append({"epoch": epoch, "lr": optimizer.param_groups[0]["lr"],
                        "train_loss": train_loss, "test_loss": test_loss,
                        "test_acc": test_acc, "samples_per_s": rate})
        print(f"  held-out: loss {test_loss:.4f}, accuracy {test_acc:.2%}", flush=True)
        scheduler.step()
    wall = time.perf_counter() - start

    os.makedirs(args.out_dir, exist_ok=True)
    checkpoint = os.path.join(args.out_dir, "checkpoint.pt")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "epoch": args.epochs}, checkpoint)
    report(args, history, source, wall, checkpoint, f"LeNet-5 on MNIST ({args.backend})")
    return history


if __name__ == "__main__":
    main()
