"""Lazy samplers for huge num_samples (seeded order unchanged), numpy subclasses in
collate/convert, IterableDataset's abstract __iter__ and multiprocessing_context checks."""
import multiprocessing
import resource

import numpy as np
import pytest

import fastnn
from fastnn.utils.data import (BatchSampler, DataLoader, IterableDataset, RandomSampler,
                               SequentialSampler, TensorDataset, WeightedRandomSampler,
                               default_collate, default_convert)
from fastnn.utils.data import sampler as S


def _rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("make", [
    lambda ds: RandomSampler(ds, replacement=True, num_samples=int(1e10)),
    lambda ds: RandomSampler(ds, num_samples=int(1e10)),
    lambda ds: WeightedRandomSampler([1.0] * len(ds), int(1e10)),
], ids=["with_replacement", "without_replacement", "weighted"])
def test_huge_num_samples_draw_lazily(make):
    # minGPT / makemore's InfiniteDataLoader: a first batch must not draw all 1e10 indices
    ds = TensorDataset(fastnn.arange(100))
    before = _rss_mb()
    loader = DataLoader(ds, sampler=make(ds), batch_size=32)
    assert len(loader) == 312_500_000
    (batch,) = next(iter(loader))
    assert batch.shape == (32,) and 0 <= int(batch.min()) and int(batch.max()) < 100
    it = iter(loader.sampler)
    assert all(0 <= next(it) < 100 for _ in range(1000))
    assert _rss_mb() - before < 500


def _draws(make, small_chunk, monkeypatch):
    if small_chunk:
        monkeypatch.setattr(S, "_CHUNK", 7)
    fastnn.manual_seed(3)
    return list(make())


@pytest.mark.parametrize("make", [
    lambda: RandomSampler(range(10), replacement=True, num_samples=50),
    lambda: RandomSampler(range(10), num_samples=53),
    lambda: RandomSampler(range(10)),
    lambda: WeightedRandomSampler([1, 2, 3, 4], 40),
    lambda: WeightedRandomSampler([1, 2, 3, 4], 3, replacement=False),
    lambda: SequentialSampler(range(30)),
    lambda: BatchSampler(RandomSampler(range(10), replacement=True, num_samples=50), 4, False),
    lambda: BatchSampler(RandomSampler(range(10), num_samples=53), 4, True),
    lambda: BatchSampler(SequentialSampler(range(30)), 8, False),
])
def test_chunked_passes_are_seeded_and_undisturbed(monkeypatch, make):
    whole = _draws(make, False, monkeypatch)
    chunked = _draws(make, True, monkeypatch)
    flat = lambda xs: [i for x in xs for i in (x if isinstance(x, list) else [x])]  # noqa: E731
    assert len(chunked) == len(whole) and set(flat(chunked)) <= set(range(30))
    # a chunked pass draws from its own generator, seeded when iteration starts: random
    # numbers drawn elsewhere during the pass do not change it
    fastnn.manual_seed(3)
    disturbed = []
    for item in make():
        fastnn.rand(2)
        disturbed.append(item)
    assert disturbed == chunked


def test_seeded_order_is_unchanged():
    # the order fastnn drew before sampling became lazy
    fastnn.manual_seed(0)
    assert list(RandomSampler(range(10), replacement=True, num_samples=12)) == \
        [8, 6, 5, 2, 3, 0, 0, 0, 1, 8, 6, 9]
    fastnn.manual_seed(0)
    assert list(RandomSampler(range(10), num_samples=25)) == \
        [4, 6, 2, 7, 3, 5, 9, 0, 8, 1, 2, 9, 3, 6, 0, 4, 8, 7, 5, 1, 5, 4, 9, 0, 8]
    fastnn.manual_seed(0)
    assert list(WeightedRandomSampler([1, 2, 3, 4], 10)) == [3, 1, 0, 0, 3, 3, 3, 3, 2, 3]


def test_without_replacement_covers_each_pass():
    idx = list(RandomSampler(range(10), num_samples=25))
    assert sorted(idx[:10]) == sorted(idx[10:20]) == list(range(10))
    assert len(set(idx[20:])) == 5


def test_empty_sequential_and_batches():
    assert list(SequentialSampler(range(0))) == []
    assert list(BatchSampler(SequentialSampler(range(0)), 3, False)) == []
    assert list(BatchSampler(SequentialSampler(range(10)), 3, False)) == \
        [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]


# ---- numpy subclasses ---------------------------------------------------------------------

class _UserArray(np.ndarray):
    pass


def _memmap(tmp_path):
    path = tmp_path / "data.bin"
    np.arange(20, dtype=np.uint16).tofile(path)
    return np.memmap(path, dtype=np.uint16, mode="r")[2:6].astype(np.int64)


def test_collate_ndarray_subclasses(tmp_path):
    m = _memmap(tmp_path)
    out = default_collate([m, m])
    assert out.shape == (2, 4) and out.dtype == fastnn.int64 and out.device.type == "cpu"
    assert type(out.numpy()) is np.ndarray
    u = np.arange(4.0).view(_UserArray)
    assert default_collate([u, u]).tolist() == [[0.0, 1.0, 2.0, 3.0]] * 2
    with pytest.warns(PendingDeprecationWarning):
        mat = np.matrix([1, 2])
    assert default_collate([mat, mat]).shape == (2, 1, 2)


def test_collate_mixed_dtypes_promotes_like_stack():
    out = default_collate([np.array([1, 2], np.int32), np.array([1.5, 2.5], np.float32)])
    assert out.dtype == fastnn.float32


def test_convert_ndarray_subclasses(tmp_path):
    t = default_convert(_memmap(tmp_path))
    assert isinstance(t, fastnn.Tensor) and t.device.type == "cpu"
    u = np.arange(3.0).view(_UserArray)
    assert default_convert(u) is u  # a user's subclass is left alone, as in PyTorch


def test_loader_over_memmap_dataset(tmp_path):
    data = _memmap(tmp_path)

    class Windows(fastnn.utils.data.Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return data[i:i + 1]

    (batch,) = list(DataLoader(Windows(), batch_size=3))
    assert batch.tolist() == [[2], [3], [4]]


# ---- IterableDataset, multiprocessing_context ---------------------------------------------

def test_iterable_dataset_iter_is_abstract():
    with pytest.raises(TypeError, match="Can't instantiate abstract class IterableDataset"):
        IterableDataset()

    class NoIter(IterableDataset):
        pass

    with pytest.raises(TypeError, match="abstract class NoIter"):
        NoIter()

    class Stream(IterableDataset):
        def __iter__(self):
            return iter(range(3))

    assert [int(b) for b in DataLoader(Stream(), batch_size=None)] == [0, 1, 2]


def test_multiprocessing_context_checks():
    with pytest.raises(ValueError) as e:
        DataLoader(range(3), multiprocessing_context="spawn")
    assert str(e.value) == ("multiprocessing_context can only be used with multi-process "
                            "loading (num_workers > 0), but got num_workers=0")
    with pytest.raises(ValueError, match="should specify a valid start method in"):
        DataLoader(range(3), multiprocessing_context="bogus", num_workers=1)
    with pytest.raises(TypeError, match="should be a valid context object"):
        DataLoader(range(3), multiprocessing_context=5, num_workers=1)
    dl = DataLoader(range(3), multiprocessing_context="spawn", num_workers=1)
    assert dl.multiprocessing_context is multiprocessing.get_context("spawn")
    assert DataLoader(range(3)).multiprocessing_context is None
    loader = DataLoader(range(3))
    with pytest.raises(ValueError, match="num_workers=0"):
        loader.multiprocessing_context = "spawn"


def test_multiprocessing_context_messages_match_pytorch():
    torch = pytest.importorskip("torch")

    def message(mod, **kw):
        try:
            mod.utils.data.DataLoader(range(3), **kw)
        except Exception as e:
            return type(e).__name__, str(e)

    for kw in ({"multiprocessing_context": "spawn"},
               {"multiprocessing_context": "bogus", "num_workers": 1},
               {"multiprocessing_context": 5, "num_workers": 1}):
        assert message(fastnn, **kw) == message(torch, **kw)
