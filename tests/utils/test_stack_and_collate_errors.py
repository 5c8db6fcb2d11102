"""StackDataset (samples, batched fetches, DataLoader batches) and default_collate's errors
for mismatched or unsupported elements, against PyTorch."""
import numpy as np
import pytest

import fastnn
from fastnn.utils.data import BatchedSamples, DataLoader, StackDataset, TensorDataset

torch = pytest.importorskip("torch")


def _plain(b):
    """A batch as plain Python data: container kinds, dtype names and values."""
    if isinstance(b, dict):
        return {k: _plain(v) for k, v in b.items()}
    if isinstance(b, (list, tuple, BatchedSamples)):
        return type(b).__name__ if not isinstance(b, BatchedSamples) else "list", \
            [_plain(v) for v in b]
    if hasattr(b, "tolist"):
        return str(b.dtype).split(".")[-1], b.tolist()
    return b


class _Words:
    def __init__(self, mod):
        self.mod = mod

    def __len__(self):
        return 6

    def __getitem__(self, i):
        return {"v": i * 10, "s": str(i)}


def _stacks(mod):
    d = mod.utils.data
    x, y = mod.arange(12.).reshape(6, 2), mod.arange(6)
    return [d.StackDataset(d.TensorDataset(x, y), y),
            d.StackDataset(a=d.TensorDataset(x), b=y, c=_Words(mod)),
            d.StackDataset(x, [7, 8, 9, 10, 11, 12]),
            d.StackDataset(d.Subset(d.TensorDataset(x, y), [5, 4, 3, 2, 1, 0]),
                           d.TensorDataset(y))]


@pytest.mark.parametrize("which", range(4))
def test_stack_dataset_matches_torch(which):
    ours, theirs = _stacks(fastnn)[which], _stacks(torch)[which]
    assert len(ours) == len(theirs) == 6
    assert _plain(ours[2]) == _plain(theirs[2])
    assert _plain(ours.__getitems__([3, 1])) == _plain(theirs.__getitems__([3, 1]))
    for kw in ({}, {"collate_fn": lambda b: b}, {"shuffle": False, "drop_last": True}):
        got = [_plain(b) for b in DataLoader(ours, batch_size=4, **kw)]
        want = [_plain(b) for b in torch.utils.data.DataLoader(theirs, batch_size=4, **kw)]
        assert got == want


def test_stack_dataset_batches_without_per_sample_code():
    x, y = fastnn.randn(10, 3), fastnn.arange(10)
    batch = StackDataset(TensorDataset(x, y), y).__getitems__([4, 2, 7])
    assert type(batch) is BatchedSamples
    cols = fastnn.utils.data.default_collate(batch)
    np.testing.assert_array_equal(cols[0][0].numpy(), x.numpy()[[4, 2, 7]])
    np.testing.assert_array_equal(cols[1].numpy(), [4, 2, 7])


class _Short:
    def __len__(self):
        return 3

    def __getitem__(self, i):
        return i

    def __getitems__(self, idx):
        return [0]


@pytest.mark.parametrize("make", [
    lambda d, m: d.StackDataset(),
    lambda d, m: d.StackDataset(m.ones(3), b=m.ones(3)),
    lambda d, m: d.StackDataset(m.ones(3), m.ones(4)),
    lambda d, m: d.StackDataset(a=m.ones(3), b=m.ones(2)),
    lambda d, m: d.StackDataset(_Short(), _Short()).__getitems__([0, 1]),
    lambda d, m: d.StackDataset(a=_Short()).__getitems__([0, 1])])
def test_stack_dataset_errors_match_torch(make):
    assert _error(lambda: make(fastnn.utils.data, fastnn)) == \
        _error(lambda: make(torch.utils.data, torch))


def _error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the exception itself is what is compared
        return type(e).__name__, str(e).splitlines()[0] if str(e) else ""
    return None


def _batches(m):
    return [
        [m.ones(1), 1.0], [m.ones(2), None], [m.ones(2), np.ones(2)],
        [m.ones(2), m.ones(3)], [m.ones(2), m.ones(2, 1)],
        [np.ones(2), np.ones(3)], [np.ones((2, 2)), np.ones((2, 3))], [np.ones(2), 1.0],
        [np.ones(2), None], [np.ones(2), "a"], [np.float64(1), np.ones(2)],
        [np.float64(1), None], [1.5, "a"], [1.5, None], [1.5, [1]],
        [{"a": 1}, {"b": 2}], [{"a": 1, "b": 2}, {"a": 2}], [(1, 2), (1, 2, 3)],
        [[1, 2], [1, 2, 3]], [{"a": 1}, 1], [(1, 2), 1], [None], [object()], [1, None],
        [1, "a"]]


@pytest.mark.filterwarnings("ignore:Creating a tensor from a list of numpy:UserWarning")
@pytest.mark.parametrize("i", range(len(_batches(fastnn))))
def test_collate_errors_match_torch(i):
    got = _error(lambda: fastnn.utils.data.default_collate(_batches(fastnn)[i]))
    want = _error(lambda: torch.utils.data.default_collate(_batches(torch)[i]))
    assert got is not None and got == want


def _values(m):
    return [[np.ones(2), [1.0, 2.0]], [np.ones(2), np.ones(2, dtype=np.float32)],
            [np.float32(1), np.int64(2)], [np.int64(1), 2.5], [np.float32(1), 2.0],
            [1.5, True], [1.5, np.float32(2)], [1.5, m.tensor(2.0)], [1.5, 2.5],
            [m.ones(2), m.ones(2, dtype=m.bool)], [np.ones(2), m.ones(2)]]


@pytest.mark.filterwarnings("ignore:Creating a tensor from a list of numpy:UserWarning")
@pytest.mark.parametrize("i", range(len(_values(fastnn))))
def test_collate_mixed_elements_match_torch(i):
    got = fastnn.utils.data.default_collate(_values(fastnn)[i])
    want = torch.utils.data.default_collate(_values(torch)[i])
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_array_equal(got.numpy(), want.numpy())
