"""fastnn.utils.data.distributed.DistributedSampler against torch's: the same partition
without shuffling, and partition properties of the (fastnn-generator) shuffle."""
import numpy as np
import pytest
from torch.utils.data.distributed import DistributedSampler as TorchSampler

import fastnn
from fastnn.utils.data import BatchSampler, DataLoader
from fastnn.utils.data.distributed import DistributedSampler


def _error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001
        return type(e), str(e)
    return None


@pytest.mark.parametrize("kw", [{}, {"num_replicas": 2}, {"rank": 0},
                                {"num_replicas": 2, "rank": 2},
                                {"num_replicas": 2, "rank": -1},
                                {"num_replicas": 0, "rank": 0}])
def test_errors_match_torch(kw):
    want = _error(lambda: TorchSampler(range(10), **kw))
    assert want is not None
    assert _error(lambda: DistributedSampler(range(10), **kw)) == want


@pytest.mark.parametrize("n", [0, 1, 2, 7, 10, 12, 13])
@pytest.mark.parametrize("replicas", [1, 3, 5])
@pytest.mark.parametrize("drop_last", [False, True])
def test_unshuffled_partition_equals_torch(n, replicas, drop_last):
    for rank in range(replicas):
        ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = TorchSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs)
        assert len(ours) == len(theirs)
        assert (ours.num_samples, ours.total_size) == (theirs.num_samples, theirs.total_size)
        assert all(type(i) is int for i in ours)


def _shares(n, replicas, epoch=0, seed=0, drop_last=False):
    out = []
    for rank in range(replicas):
        s = DistributedSampler(range(n), replicas, rank, seed=seed, drop_last=drop_last)
        s.set_epoch(epoch)
        out.append(list(s))
    return out


@pytest.mark.parametrize("n,replicas", [(20, 4), (23, 4), (3, 5)])
def test_shuffled_partition_properties(n, replicas):
    shares = _shares(n, replicas)
    sizes = {len(s) for s in shares}
    assert len(sizes) == 1
    flat = [i for s in shares for i in s]
    assert set(flat) == set(range(n))  # covering
    if n % replicas == 0:
        assert sorted(flat) == list(range(n))  # disjoint when nothing is padded
    else:  # the padding repeats only the first few of the permutation
        assert len(flat) - n == sizes.pop() * replicas - n


def test_shuffled_drop_last_disjoint():
    shares = _shares(23, 4, drop_last=True)
    flat = [i for s in shares for i in s]
    assert len(flat) == len(set(flat)) == 20
    assert all(len(s) == 5 for s in shares)


def test_epoch_and_seed_determine_order():
    a0, b0 = _shares(50, 2, epoch=0), _shares(50, 2, epoch=0)
    assert a0 == b0
    a1 = _shares(50, 2, epoch=1)
    assert a1 != a0
    assert _shares(50, 2, seed=5) != a0
    assert _shares(50, 2, seed=5, epoch=1) == _shares(50, 2, seed=5, epoch=1)
    # independent of the global stream
    fastnn.manual_seed(123)
    x = _shares(50, 2)
    fastnn.manual_seed(999)
    assert _shares(50, 2) == x
    s = DistributedSampler(range(50), 2, 0)
    assert list(s) == list(s)  # same epoch, same order
    assert s.epoch == 0
    s.set_epoch(3)
    assert s.epoch == 3


def test_with_dataloader_and_batch_sampler():
    ds = fastnn.utils.data.TensorDataset(fastnn.arange(10))
    s = DistributedSampler(ds, 3, 1, shuffle=False)
    got = [b[0].tolist() for b in DataLoader(ds, batch_size=2, sampler=s)]
    assert got == [[1, 4], [7, 0]]
    assert [list(b) for b in BatchSampler(s, 3, drop_last=False)] == [[1, 4, 7], [0]]
    assert len(np.unique(list(DistributedSampler(ds, 3, 0)))) == 4
