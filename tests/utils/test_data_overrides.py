"""User code in datasets and collate functions is never bypassed by the DataLoader's batched
fast path, and ``default_collate`` types Python numbers and mappings as PyTorch does."""
import collections

import numpy as np
import pytest

import fastnn
from fastnn.utils.data import (DataLoader, Subset, TensorDataset, default_collate,
                               random_split)


def _xy(n=6):
    return fastnn.arange(n * 2, dtype=fastnn.float32).reshape(n, 2), fastnn.arange(n)


class Aug(TensorDataset):
    def __getitem__(self, i):
        x, y = super().__getitem__(i)
        return x * 100, y


class DictDataset(TensorDataset):
    def __getitem__(self, i):
        x, y = super().__getitem__(i)
        return {"image": x, "label": y}


class ShiftedSubset(Subset):
    def __getitem__(self, i):
        x, y = super().__getitem__(i)
        return x + 1, y


def _batches(ds, **kw):
    return [[t.tolist() for t in b] for b in DataLoader(ds, batch_size=4, **kw)]


@pytest.mark.parametrize("workers", [0, 2])
def test_getitem_override_on_tensor_dataset_is_used(workers):
    x, y = _xy()
    out = _batches(Aug(x, y), num_workers=workers)
    assert out == [[(x[:4] * 100).tolist(), [0, 1, 2, 3]], [(x[4:] * 100).tolist(), [4, 5]]]
    # a direct batched fetch honours the override too
    assert isinstance(Aug(x, y).__getitems__([0, 1]), list)


def test_getitem_override_matches_torch():
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader as TLoader, TensorDataset as TDataset

    class TAug(TDataset):
        def __getitem__(self, i):
            x, y = super().__getitem__(i)
            return x * 100, y

    x, y = _xy()
    theirs = [[t.tolist() for t in b] for b in TLoader(TAug(torch.tensor(x.numpy()),
                                                            torch.tensor(y.numpy())),
                                                       batch_size=4)]
    assert _batches(Aug(x, y)) == theirs


def test_getitem_override_through_subset_and_random_split():
    x, y = _xy()
    sub = Subset(Aug(x, y), [5, 0, 3])
    assert _batches(sub) == [[(x[[5, 0, 3]] * 100).tolist(), [5, 0, 3]]]
    a, b = random_split(Aug(x, y), [4, 2], generator=fastnn.Generator().manual_seed(0))
    for part in (a, b):
        xs, ys = next(iter(DataLoader(part, batch_size=len(part))))
        assert xs.tolist() == (x[ys] * 100).tolist()
    # a Subset subclass's own override, over a plain TensorDataset
    shifted = ShiftedSubset(TensorDataset(x, y), [1, 2])
    assert _batches(shifted) == [[(x[1:3] + 1).tolist(), [1, 2]]]
    assert isinstance(shifted.__getitems__([0]), list)


def test_dict_samples_collate_to_a_dict():
    x, y = _xy()
    batch = next(iter(DataLoader(DictDataset(x, y), batch_size=3)))
    assert type(batch) is dict and set(batch) == {"image", "label"}
    assert batch["image"].tolist() == x[:3].tolist() and batch["label"].tolist() == [0, 1, 2]


def test_custom_collate_gets_a_plain_list_of_tuples():
    x, y = _xy()
    seen = []

    def by_label_desc(b):
        seen.append(b)
        b.sort(key=lambda s: -int(s[1]))
        return b

    out = next(iter(DataLoader(TensorDataset(x, y), batch_size=3, collate_fn=by_label_desc)))
    assert type(seen[0]) is list and all(type(s) is tuple for s in out)
    assert [int(s[1]) for s in out] == [2, 1, 0]
    assert out[0][0].tolist() == x[2].tolist()
    ident = next(iter(DataLoader(TensorDataset(x, y), batch_size=2, collate_fn=lambda b: b)))
    assert type(ident) is list and len(ident) == 2 and type(ident[0]) is tuple
    # the explicit default collate keeps the batched result
    assert next(iter(DataLoader(TensorDataset(x, y), batch_size=2,
                                collate_fn=default_collate)))[1].tolist() == [0, 1]


def test_custom_collate_matches_torch():
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader as TLoader, TensorDataset as TDataset
    x, y = _xy()
    tds = TDataset(torch.tensor(x.numpy()), torch.tensor(y.numpy()))
    theirs = next(iter(TLoader(tds, batch_size=3, collate_fn=lambda b: b)))
    ours = next(iter(DataLoader(TensorDataset(x, y), batch_size=3, collate_fn=lambda b: b)))
    assert type(ours) is type(theirs)
    assert [(type(s), s[0].tolist(), s[1].item()) for s in ours] == \
        [(type(s), s[0].tolist(), s[1].item()) for s in theirs]


@pytest.mark.parametrize("batch", [[3, 2.5], [2.5, 3], [True, 1], [1, True], [True, False],
                                   [1.5, True], [True, 2.5], [1, 2]])
def test_python_number_batches_match_torch(batch):
    pytest.importorskip("torch")
    from torch.utils.data import default_collate as tcollate
    ours, theirs = default_collate(batch), tcollate(batch)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    assert ours.tolist() == theirs.tolist()
    x = fastnn.zeros(2)
    pair = default_collate([(x, batch[0]), (x, batch[1])])[1]
    assert str(pair.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]


class FrozenMap(collections.abc.Mapping):
    def __init__(self, d):
        self._d = dict(d)

    def __getitem__(self, k):
        return self._d[k]

    def __iter__(self):
        return iter(self._d)

    def __len__(self):
        return len(self._d)


def test_mapping_subclasses_keep_their_type_like_torch():
    pytest.importorskip("torch")
    from torch.utils.data import default_collate as tcollate
    dd = collections.defaultdict(list, {"a": 1, "b": 2.0})
    for batch in ([dd, dd], [FrozenMap({"a": 1}), FrozenMap({"a": 2})],
                  [collections.OrderedDict(a=1), collections.OrderedDict(a=2)]):
        ours, theirs = default_collate(batch), tcollate(batch)
        assert type(ours) is type(theirs)
        assert {k: v.tolist() for k, v in ours.items()} == \
            {k: v.tolist() for k, v in theirs.items()}
    out = default_collate([dd, dd])
    assert out.default_factory is list and out["missing"] == []
    assert dd["a"] == 1  # the samples themselves are untouched
    np.testing.assert_array_equal(out["b"].numpy(), [2.0, 2.0])
