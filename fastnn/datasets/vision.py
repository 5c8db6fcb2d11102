"""``MNIST`` as a map-style ``Dataset``, with torchvision's signature.

Differences from torchvision: there is no PIL here, so a sample's image is a float32 tensor
of shape ``(1, 28, 28)`` with values in [0, 1] (what torchvision's ``ToTensor()`` would
make of its PIL image), and any ``transform`` receives that tensor. Without a transform, or
with one built only from :class:`~fastnn.datasets.transforms.ToTensor` and
:class:`~fastnn.datasets.transforms.Normalize`, a DataLoader batch is fetched with one
fancy-index instead of one call per image.
"""
import operator

import numpy as np

from ..tensor import _wrap
from ..utils.data.dataset import BatchedSamples, Dataset, _index_array, overrides_getitem
from .mnist import load_mnist

__all__ = ["MNIST"]


def _scale(u8):
    # Division (not multiplication by 1/255) so values equal torchvision's ToTensor exactly.
    return u8.astype(np.float32) / np.float32(255)


class MNIST(Dataset):
    """The MNIST digits.

    Args:
        root: directory holding the IDX files (directly, or in ``mnist/`` or
            ``MNIST/raw/``); ``None`` searches ``$FASTNN_DATA`` and the usual places (see
            :func:`fastnn.datasets.load_mnist`).
        train: the training split (True) or the test split (False). When only the 10,000
            ``t10k`` files exist these are its first 8,000 and last 2,000 images.
        transform: called on each image tensor ``(1, 28, 28)``.
        target_transform: called on each label (an ``int``).
        download: fetch missing files from the mirrors, verified against their checksums.
        split: overrides ``train`` with any split ``load_mnist`` knows (``"full-train"``,
            ``"t10k-test"``, ...).

    Attributes:
        data: uint8 tensor ``(n, 28, 28)``; targets: int64 tensor ``(n,)``; classes:
        the ten class names; split: the concrete split read; held_out: True when it is a
        part of the ``t10k`` files; source: one line saying where the images came from.
    """

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]
    mean = 0.1307  # of the training images scaled to [0, 1]
    std = 0.3081

    def __init__(self, root=None, train=True, transform=None, target_transform=None,
                 download=False, *, split=None):
        if split is None:
            split = "train" if train else "test"
        arrays = load_mnist(root, split, download)
        self.root = root
        self.train = arrays.split.endswith("train")
        self.transform = transform
        self.target_transform = target_transform
        self.split = arrays.split
        self.held_out = arrays.held_out
        self.source = arrays.source
        self.files = arrays.files
        self.data = _wrap(arrays.images)
        self.targets = _wrap(arrays.labels)

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        i = operator.index(index)
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"index {i} is out of bounds for dimension 0 with size {n}")
        img = _wrap(_scale(self.data._data[i])[None])
        target = int(self.targets._data[i])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __getitems__(self, indices):
        batchable = self.transform is None or getattr(self.transform, "_batchable", False)
        if self.target_transform is not None or not batchable or \
                overrides_getitem(self, MNIST):  # a subclass's own per-sample code runs
            return [self[i] for i in indices]
        idx = _index_array(indices, len(self))
        images = _wrap(_scale(self.data._data[idx])[:, None])
        if self.transform is not None:
            images = self.transform(images)
        labels = _wrap(np.asarray(self.targets._data[idx], dtype=np.int64))
        return BatchedSamples([images, labels], len(idx),
                              lambda i: (images[i], int(labels._data[i])))

    def tensors(self, normalize=True):
        """All images and labels at once: ``(float32 (n, 1, 28, 28), int64 (n,))``.

        Images are scaled to [0, 1] and, with ``normalize``, standardised with the usual
        MNIST mean 0.1307 and std 0.3081. Transforms are not applied. Ready for
        ``TensorDataset(*mnist.tensors())``.
        """
        x = _scale(self.data._data)[:, None]
        if normalize:
            x -= np.float32(self.mean)
            x /= np.float32(self.std)
        return _wrap(x), _wrap(np.asarray(self.targets._data, dtype=np.int64))

    def __repr__(self):
        lines = [f"Dataset {type(self).__name__}",
                 f"    Number of datapoints: {len(self)}",
                 f"    Root location: {self.root}",
                 f"    Split: {self.split}",
                 f"    Source: {self.source}"]
        if self.transform is not None:
            lines.append(f"    Transform: {self.transform!r}".replace("\n", "\n    "))
        if self.target_transform is not None:
            lines.append(f"    Target transform: {self.target_transform!r}")
        return "\n".join(lines)
