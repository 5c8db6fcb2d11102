"""Plumbing shared by the MNIST examples: options, data, progress bar, plot, metrics.

Nothing here depends on the backend (fastnn or PyTorch): data is prepared as numpy arrays
and each example turns it into its backend's tensors, so both backends train on exactly
the same numbers.
"""
import argparse
import json
import os
import re
import sys
import time

import numpy as np

try:
    import fastnn  # noqa: F401
except ImportError:
    # Not installed: fall back to the checkout this example lives in.
    _root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not os.path.isdir(os.path.join(_root, "fastnn")):
        raise
    sys.path.insert(0, _root)

from fastnn.datasets import load_mnist  # noqa: E402

MEAN, STD = 0.1307, 0.3081  # of the MNIST training images scaled to [0, 1]


def backend_from_argv(argv=None):
    """The ``--backend`` named in ``argv`` (default ``sys.argv``), needed before imports."""
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    pre.add_argument("--backend", choices=("fastnn", "torch"), default="fastnn")
    known, _ = pre.parse_known_args(sys.argv[1:] if argv is None else argv)
    return known.backend


def make_parser(description, *, name, epochs, batch_size, lr, momentum):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--backend", choices=("fastnn", "torch"), default="fastnn",
                   help="library to train with (default: fastnn; torch runs the same script "
                        "on PyTorch)")
    p.add_argument("--device", default="cpu",
                   help="cpu (default), or cuda to train on an NVIDIA GPU (fastnn's numba.cuda "
                        "backend, or PyTorch's CUDA build)")
    p.add_argument("--data-dir", default=None,
                   help="directory with the MNIST IDX files (default: $FASTNN_DATA, then the "
                        "shipped ../shared/data/mnist and the usual places)")
    p.add_argument("--download", action="store_true",
                   help="fetch missing MNIST files from the mirrors (checksums verified)")
    p.add_argument("--epochs", type=int, default=epochs, help="default: %(default)s")
    p.add_argument("--batch-size", type=int, default=batch_size, help="default: %(default)s")
    p.add_argument("--test-batch-size", type=int, default=1000,
                   help="batch size for evaluation (default: %(default)s)")
    p.add_argument("--lr", type=float, default=lr, help="learning rate (default: %(default)s)")
    p.add_argument("--momentum", type=float, default=momentum,
                   help="SGD momentum (default: %(default)s)")
    p.add_argument("--gamma", type=float, default=0.7,
                   help="learning-rate decay per epoch, StepLR (default: %(default)s)")
    p.add_argument("--seed", type=int, default=1, help="default: %(default)s")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for the backend's kernels (default: its own choice)")
    p.add_argument("--limit", type=int, default=None,
                   help="use only the first N training and N held-out images (quick runs)")
    p.add_argument("--out-dir", default=None,
                   help=f"where the checkpoint, plot and metrics go (default: runs/{name}, "
                        f"runs/{name}-torch for the torch backend)")
    p.add_argument("--no-plot", action="store_true", help="skip the PNG plot")
    p.add_argument("--no-progress", action="store_true",
                   help="plain per-epoch lines instead of a progress bar")
    return p


def finish_args(args, name):
    for opt in ("epochs", "batch_size", "test_batch_size", "threads", "limit"):
        value = getattr(args, opt)
        if value is not None and value < (0 if opt == "epochs" else 1):
            raise SystemExit(f"--{opt.replace('_', '-')} must be positive, got {value}")
    if re.fullmatch(r"cpu|cuda(:[0-9]+)?", args.device) is None:
        raise SystemExit(f"--device must be cpu or cuda, got {args.device!r}")
    if args.out_dir is None:
        args.out_dir = os.path.join("runs", name + ("-torch" if args.backend == "torch" else ""))
    return args


def pick_device(torch, args):
    """``torch.device(args.device)``, or a clear exit when CUDA was asked for but is unusable."""
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"--device {args.device}: no usable CUDA device here (an NVIDIA GPU "
                         "and driver, plus numba and numba-cuda for fastnn)")
    return torch.device(args.device)


def mnist_arrays(args, split):
    """Images normalised as float32 ``(n, 1, 28, 28)`` and int64 labels, plus a source line.

    ``split`` is ``"train"`` or ``"test"``: the official 60,000/10,000 sets when their files
    are present, else the first 8,000 / last 2,000 images of the t10k files.
    """
    arrays = load_mnist(args.data_dir, split, download=args.download)
    images, labels = arrays
    if args.limit is not None:
        images, labels = images[:args.limit], labels[:args.limit]
    x = images.astype(np.float32) / np.float32(255)
    x = (x - np.float32(MEAN)) / np.float32(STD)
    return x[:, None], labels.astype(np.int64), arrays.source


class Progress:
    """A tqdm bar over one epoch's batches, or plain lines when tqdm is missing."""

    def __init__(self, loader, desc, enabled=True):
        try:
            from tqdm import tqdm
        except ImportError:
            tqdm = None
        self.loader = loader
        self.bar = tqdm(loader, desc=desc, unit="batch", leave=True, dynamic_ncols=True) \
            if enabled and tqdm is not None else None
        self.desc = desc
        self.start = time.perf_counter()
        self.samples = 0
        self.loss_sum = 0.0
        self.steps = 0

    def __iter__(self):
        return iter(self.bar if self.bar is not None else self.loader)

    def update(self, loss, batch):
        self.samples += batch
        self.loss_sum += loss * batch
        self.steps += 1
        if self.bar is not None and self.steps % 10 == 0:
            self.bar.set_postfix(loss=f"{loss:.4f}", rate=f"{self.rate:,.0f} samples/s",
                                 refresh=False)

    @property
    def rate(self):
        return self.samples / max(time.perf_counter() - self.start, 1e-9)

    @property
    def mean_loss(self):
        return self.loss_sum / max(self.samples, 1)

    def close(self):
        rate = self.rate
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{self.mean_loss:.4f}", rate=f"{rate:,.0f} samples/s")
            self.bar.close()
        else:
            print(f"{self.desc}: train loss {self.mean_loss:.4f}, {rate:,.0f} samples/s",
                  flush=True)
        return self.mean_loss, rate


def save_plot(history, path, title):
    """Loss and accuracy curves per epoch as a PNG; returns the path, or None if skipped."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed; skipping the plot (pip install matplotlib)")
        return None
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, [h["train_loss"] for h in history], "o-", label="train")
    ax_loss.plot(epochs, [h["test_loss"] for h in history], "s-", label="held-out")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("cross-entropy loss")
    ax_loss.legend()
    ax_acc.plot(epochs, [100 * h["test_acc"] for h in history], "s-", color="tab:green")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("held-out accuracy (%)")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_metrics(path, args, history, source, wall):
    record = {"backend": args.backend, "source": source, "wall_seconds": round(wall, 2),
              "args": {k: v for k, v in vars(args).items()}, "history": history}
    with open(path, "w") as f:
        json.dump(record, f, indent=2)
    return path


def report(args, history, source, wall, checkpoint, title):
    """Write the curves and metrics.json beside the checkpoint and print the summary."""
    plot = None
    if history and not args.no_plot:
        plot = save_plot(history, os.path.join(args.out_dir, "curves.png"), title)
    write_metrics(os.path.join(args.out_dir, "metrics.json"), args, history, source, wall)
    final = f"final held-out accuracy {history[-1]['test_acc']:.2%}, " if history else ""
    print(f"done: {final}training took {wall:.1f}s\n  checkpoint: {checkpoint}"
          + (f"\n  plot: {plot}" if plot else ""))
