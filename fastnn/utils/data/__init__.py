"""``fastnn.utils.data``: datasets, samplers and the DataLoader (``torch.utils.data``'s names)."""
from ._collate import default_collate, default_convert
from .dataloader import DataLoader, WorkerInfo, get_worker_info
from .distributed import DistributedSampler
from .dataset import (BatchedSamples, ChainDataset, ConcatDataset, Dataset, IterableDataset,
                      StackDataset, Subset, TensorDataset, random_split)
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                      SubsetRandomSampler, WeightedRandomSampler)
# code written for torch reaches the collate helpers as torch.utils.data._utils.collate
from . import _utils  # noqa: F401

__all__ = [
    "BatchSampler",
    "BatchedSamples",
    "ChainDataset",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "DistributedSampler",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "StackDataset",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "WorkerInfo",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "random_split",
]
