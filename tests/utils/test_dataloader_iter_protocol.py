"""DataLoader behaviour around the iterator protocol, worker copies of iterable datasets,
collate errors for numpy scalars, SubsetRandomSampler element types and the loader's
warnings and checks (matched against PyTorch where it is installed)."""
import itertools
import math
import warnings

import numpy as np
import pytest

import fastnn
from fastnn.utils.data import (BatchSampler, DataLoader, IterableDataset, Sampler,
                               SubsetRandomSampler, default_collate, get_worker_info)


def _plain(batch):
    return batch.tolist() if hasattr(batch, "tolist") else batch


def _first(loader, n=12):
    """At most ``n`` batches: a loader that restarts its stream forever cannot hang here."""
    return [_plain(b) for b in itertools.islice(loader, n)]


def _make_lines(data_module):
    class Lines(data_module.IterableDataset):
        """Resets its position in ``__iter__`` and returns itself."""

        def __init__(self, data):
            self.data = data

        def __iter__(self):
            self._it = iter(self.data)
            return self

        def __next__(self):
            return next(self._it)

    return Lines


Lines = _make_lines(fastnn.utils.data)

# (loader keyword arguments, the batches PyTorch 2.13 returns for Lines(range(5)))
SELF_ITERATOR_CASES = [
    (dict(batch_size=2), [[0, 1], [2, 3], [4]]),
    (dict(batch_size=2, drop_last=True), [[0, 1], [2, 3]]),
    (dict(batch_size=None), [0, 1, 2, 3, 4]),
    (dict(batch_size=5), [[0, 1, 2, 3, 4]]),
    # every worker holds its own copy, so a dataset that does not shard is replayed
    (dict(batch_size=2, num_workers=2), [[0, 1], [0, 1], [2, 3], [2, 3], [4], [4]]),
    (dict(batch_size=2, num_workers=2, drop_last=True), [[0, 1], [0, 1], [2, 3], [2, 3]]),
    (dict(batch_size=None, num_workers=2), [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]),
    (dict(batch_size=2, num_workers=2, persistent_workers=True),
     [[0, 1], [0, 1], [2, 3], [2, 3], [4], [4]]),
]


@pytest.mark.filterwarnings("ignore:This DataLoader will create")
@pytest.mark.parametrize("kwargs,expected", SELF_ITERATOR_CASES)
def test_dataset_whose_iter_returns_self(kwargs, expected):
    loader = DataLoader(Lines(list(range(5))), **kwargs)
    assert _first(loader) == expected
    assert _first(loader) == expected  # the next epoch starts the stream again


@pytest.mark.filterwarnings("ignore:This DataLoader will create")
@pytest.mark.parametrize("kwargs,expected", SELF_ITERATOR_CASES)
def test_dataset_whose_iter_returns_self_matches_pytorch(kwargs, expected):
    torch = pytest.importorskip("torch")
    kwargs = dict(kwargs, multiprocessing_context="fork") if kwargs.get("num_workers") else kwargs
    loader = torch.utils.data.DataLoader(_make_lines(torch.utils.data)(list(range(5))), **kwargs)
    assert _first(loader) == expected


def test_stream_is_taken_once_per_epoch_and_not_read_after_a_short_batch():
    calls = []

    class Counting(IterableDataset):
        def __iter__(self):
            calls.append("iter")
            self._left = 3
            return self

        def __next__(self):
            calls.append("next")
            if self._left == 0:
                raise StopIteration
            self._left -= 1
            return self._left

    assert _first(DataLoader(Counting(), batch_size=2)) == [[2, 1], [0]]
    # one iter(); the short batch's StopIteration ends the epoch without asking again
    assert calls == ["iter"] + ["next"] * 4


class _Range(IterableDataset):
    def __init__(self, start, end):
        self.start, self.end = start, end

    def __iter__(self):
        return iter(range(self.start, self.end))


def _split_range(worker_id):
    """The sharding recipe of PyTorch's documentation: narrow this worker's dataset copy."""
    info = get_worker_info()
    ds = info.dataset
    per_worker = int(math.ceil((ds.end - ds.start) / float(info.num_workers)))
    start = ds.start + worker_id * per_worker
    ds.start, ds.end = start, min(start + per_worker, ds.end)


def test_worker_init_fn_shards_its_own_copy_of_the_dataset():
    ds = _Range(3, 7)
    loader = DataLoader(ds, num_workers=2, worker_init_fn=_split_range)
    assert _first(loader) == [[3], [5], [4], [6]]
    assert (ds.start, ds.end) == (3, 7)  # the loader's dataset is left as it was
    assert _first(loader) == [[3], [5], [4], [6]]


def test_worker_init_fn_sharding_matches_pytorch():
    torch = pytest.importorskip("torch")

    class Range(torch.utils.data.IterableDataset):
        def __init__(self, start, end):
            self.start, self.end = start, end

        def __iter__(self):
            return iter(range(self.start, self.end))

    def split(worker_id):
        info = torch.utils.data.get_worker_info()
        ds = info.dataset
        per_worker = int(math.ceil((ds.end - ds.start) / float(info.num_workers)))
        start = ds.start + worker_id * per_worker
        ds.start, ds.end = start, min(start + per_worker, ds.end)

    ref = torch.utils.data.DataLoader(Range(3, 7), num_workers=2, worker_init_fn=split,
                                      multiprocessing_context="fork")
    assert _first(ref) == _first(DataLoader(_Range(3, 7), num_workers=2,
                                            worker_init_fn=_split_range))


def test_private_utils_path_is_an_attribute():
    collate_module = fastnn.utils.data._utils.collate
    assert collate_module.default_collate_fn_map[fastnn.Tensor] is collate_module.collate_tensor_fn
    assert fastnn.utils.data._utils.worker.get_worker_info is get_worker_info


_ERR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "

COLLATE_ERRORS = [
    ([np.datetime64("2020-01-01")] * 2, _ERR + "found <class 'numpy.datetime64'>"),
    ([np.void(b"ab")] * 2, _ERR + "found <class 'numpy.void'>"),
    ([np.array(["a", "b"])] * 2, _ERR + "found <U1"),
    ([np.array([1, None], dtype=object)] * 2, _ERR + "found object"),
]


@pytest.mark.parametrize("batch,message", COLLATE_ERRORS)
def test_default_collate_refuses_numpy_non_numbers(batch, message):
    with pytest.raises(TypeError) as info:
        default_collate(batch)
    assert str(info.value) == message


@pytest.mark.parametrize("batch,message", COLLATE_ERRORS)
def test_default_collate_errors_match_pytorch(batch, message):
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError) as info:
        torch.utils.data.default_collate(batch)
    assert str(info.value) == message


def test_default_collate_timedelta_scalars_raise_type_error():
    with pytest.raises(TypeError, match="can't convert np.ndarray of type"):
        default_collate([np.timedelta64(1, "D")] * 2)


def test_default_collate_numpy_strings_stay_a_list():
    assert default_collate([np.str_("a"), np.str_("b")]) == ["a", "b"]


@pytest.mark.parametrize("indices,kind", [
    (lambda: fastnn.tensor([5, 3, 9, 1]), fastnn.Tensor),
    (lambda: np.array([5, 3, 9, 1]), np.int64),
    (lambda: [5, 3, 9, 1], int),
    (lambda: range(4), int),
])
def test_subset_random_sampler_yields_indices_as_indexing_gives_them(indices, kind):
    out = list(SubsetRandomSampler(indices()))
    assert all(type(i) is kind for i in out)
    assert sorted(int(i) for i in out) == sorted(int(i) for i in indices())
    if kind is fastnn.Tensor:
        assert all(i.shape == () and i.dtype == fastnn.int64 for i in out)
    batches = list(BatchSampler(SubsetRandomSampler(indices()), 3, False))
    assert [len(b) for b in batches] == [3, 1]
    assert all(type(i) is kind for b in batches for i in b)


def test_subset_random_sampler_tensor_indices_through_a_loader():
    data = fastnn.arange(20) * 10
    for workers in (0, 2):
        loader = DataLoader(data, sampler=SubsetRandomSampler(fastnn.tensor([5, 3, 9, 1])),
                            batch_size=2, num_workers=workers)
        assert sorted(sum((b.tolist() for b in loader), [])) == [10, 30, 50, 90]


def test_subset_random_sampler_element_types_match_pytorch():
    torch = pytest.importorskip("torch")
    ref = list(torch.utils.data.SubsetRandomSampler(torch.tensor([5, 3, 9, 1])))
    out = list(SubsetRandomSampler(fastnn.tensor([5, 3, 9, 1])))
    assert [tuple(i.shape) for i in out] == [tuple(i.shape) for i in ref]
    assert sorted(i.item() for i in out) == sorted(i.item() for i in ref)


def test_sampler_takes_no_constructor_arguments():
    Sampler()  # still fine

    class Custom(Sampler):
        def __init__(self, data_source):
            super().__init__(data_source)

    with pytest.raises(TypeError):
        Custom([1, 2])
    with pytest.raises(TypeError):
        Sampler([1, 2])


class _Overlong(IterableDataset):
    """Reports a length of 2 but yields 5 samples."""

    def __iter__(self):
        return iter(range(5))

    def __len__(self):
        return 2


@pytest.mark.filterwarnings("ignore:This DataLoader will create")
@pytest.mark.parametrize("kwargs,loader_len,counts", [
    (dict(batch_size=None), 2, [3, 4, 5]),
    (dict(batch_size=1), 2, [3, 4, 5]),
    (dict(batch_size=2), 1, [3]),  # batches are compared with len(dataset), as in PyTorch
    (dict(batch_size=1, num_workers=1), 2, [3, 4, 5]),
])
def test_length_warning_when_an_iterable_yields_more_than_reported(kwargs, loader_len, counts):
    loader = DataLoader(_Overlong(), **kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        list(loader)
    assert not [w for w in caught if "Length of IterableDataset" in str(w.message)]
    assert len(loader) == loader_len
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        list(loader)
    found = [w for w in caught if "Length of IterableDataset" in str(w.message)]
    assert [w.category for w in found] == [UserWarning] * len(counts)
    for w, count in zip(found, counts):
        text = str(w.message)
        assert text.startswith(f"Length of IterableDataset {loader.dataset} was reported to be "
                               f"2(when accessing len(dataloader)), but {count} samples have "
                               "been fetched. ")
        assert ("IterableDataset replica at each worker" in text) == bool(kwargs.get("num_workers"))
        assert w.filename == __file__


def test_too_many_workers_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loader = DataLoader(list(range(4)), num_workers=4096)
        assert [b.tolist() for b in loader] == [[0], [1], [2], [3]]
    found = [w for w in caught if "suggested max number of worker" in str(w.message)]
    assert len(found) == 2  # when built and when iteration starts, as in PyTorch
    assert all(w.category is UserWarning and w.filename == __file__ for w in found)
    assert "This DataLoader will create 4096 workers in total" in str(found[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        list(DataLoader(list(range(4)), num_workers=1))


def test_timeout_without_workers_is_refused_when_iterating():
    loader = DataLoader([1, 2, 3], timeout=5)  # building it is fine
    message = r"^_SingleProcessDataLoaderIter requires timeout == 0$"
    with pytest.raises(AssertionError, match=message):
        iter(loader)
    with pytest.raises(AssertionError):
        iter(DataLoader(Lines([1, 2]), batch_size=1, timeout=1))
    assert [b.tolist() for b in DataLoader([1, 2, 3], timeout=5, num_workers=1)] == [[1], [2], [3]]
