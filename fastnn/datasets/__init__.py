"""Datasets for fastnn.

The numpy-level loaders here import only numpy and the standard library, so they work (and
are tested) independently of the tensor core. The tensor-level ``MNIST`` dataset and the
``transforms`` module load on first use.
"""
import importlib as _importlib

from ._download import ChecksumError, DownloadError
from ._idx import IDXFormatError, read_idx, write_idx
from .mnist import (
    MNISTArrays,
    download_mnist,
    find_mnist,
    load_mnist,
    verify_mnist_file,
)

__all__ = [
    "ChecksumError",
    "DownloadError",
    "IDXFormatError",
    "MNIST",
    "MNISTArrays",
    "download_mnist",
    "find_mnist",
    "load_mnist",
    "read_idx",
    "transforms",
    "verify_mnist_file",
    "write_idx",
]


def __getattr__(name):
    if name == "MNIST":
        from .vision import MNIST
        globals()["MNIST"] = MNIST
        return MNIST
    if name == "transforms":
        return _importlib.import_module(".transforms", __name__)
    raise AttributeError(f"module 'fastnn.datasets' has no attribute '{name}'")
