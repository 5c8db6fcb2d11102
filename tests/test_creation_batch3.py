"""numpy subclasses and byte order at the array entry points, Tensor.storage(), the fast
path of tensor(list) and pin_memory without an accelerator."""
import warnings

import numpy as np
import pytest

import fastnn

pytestmark = pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")


class _UserArray(np.ndarray):
    pass


def _memmap_slice(tmp_path):
    path = tmp_path / "tokens.bin"
    np.arange(100, dtype=np.uint16).tofile(path)
    data = np.memmap(path, dtype=np.uint16, mode="r")
    return data[3:11].astype(np.int64)  # still an np.memmap (nanoGPT's get_batch)


def _subclass_cases(tmp_path):
    return {
        "memmap": _memmap_slice(tmp_path),
        "matrix": np.matrix([[1.0, 2.0], [3.0, 4.0]]),
        "matrix_row": np.matrix([1, 2, 3]),
        "user": np.arange(4.0).view(_UserArray),
    }


@pytest.mark.parametrize("name", ["memmap", "matrix", "matrix_row", "user"])
@pytest.mark.parametrize("make", ["from_numpy", "as_tensor", "tensor", "asarray", "Tensor",
                                  "new_tensor"])
def test_ndarray_subclasses_become_cpu_tensors(tmp_path, name, make):
    arr = _subclass_cases(tmp_path)[name]
    if make == "new_tensor":
        t = fastnn.ones(1).new_tensor(arr)
    else:
        t = getattr(fastnn, make)(arr)
    assert t.device.type == "cpu"
    assert tuple(t.shape) == np.asarray(arr).shape  # np.matrix stays 2-D
    assert type(t.numpy()) is np.ndarray
    assert float((t + 1).sum()) == float(np.asarray(arr).sum() + arr.size)
    if make not in ("Tensor", "new_tensor"):  # those take the default / self's dtype
        assert t.dtype == fastnn.from_numpy(np.asarray(arr)).dtype


def test_subclass_memory_is_shared():
    base = np.arange(4.0)
    t = fastnn.from_numpy(base.view(_UserArray))
    t[0] = 100
    fastnn.as_tensor(base.view(_UserArray))[1] = 200
    assert base[:2].tolist() == [100.0, 200.0]


def test_nanogpt_get_batch(tmp_path):
    path = tmp_path / "train.bin"
    np.arange(1000, dtype=np.uint16).tofile(path)
    data = np.memmap(path, dtype=np.uint16, mode="r")
    ix = fastnn.randint(len(data) - 8, (4,))
    x = fastnn.stack([fastnn.from_numpy((data[i:i + 8]).astype(np.int64)) for i in ix])
    y = fastnn.stack([fastnn.from_numpy((data[i + 1:i + 9]).astype(np.int64)) for i in ix])
    assert x.shape == (4, 8) and x.dtype == fastnn.int64
    assert (y - x).eq(1).all()


_BYTE_ORDER = ("given numpy array has byte order different from the native byte order. "
               "Conversion between byte orders is currently not supported.")


@pytest.mark.parametrize("make", ["from_numpy", "as_tensor", "tensor", "asarray"])
@pytest.mark.parametrize("dt", [">f4", ">i8"])
def test_byte_swapped_arrays_are_refused(make, dt):
    with pytest.raises(ValueError) as e:
        getattr(fastnn, make)(np.arange(3, dtype=dt))
    assert str(e.value) == _BYTE_ORDER


def test_byte_swapped_with_dtype_is_refused():
    with pytest.raises(ValueError, match="byte order"):
        fastnn.tensor(np.arange(3, dtype=">f4"), dtype=fastnn.float32)


# ---- storage ------------------------------------------------------------------------------

def _storage(t):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return t.storage()


def test_storage_basics():
    s = _storage(fastnn.arange(18))
    assert len(s) == s.size() == 18
    assert s[3] == 3 and s[-1] == 17 and type(s[0]) is int
    assert s.tolist() == list(range(18)) and list(s) == list(range(18))
    assert s.element_size() == 8 and s.nbytes() == 144
    assert s.dtype == fastnn.int64 and s.device.type == "cpu"
    with pytest.raises(IndexError, match="index 18 out of range for storage of size 18"):
        s[18]
    with pytest.raises(RuntimeError, match="slices are only supported in UntypedStorage"):
        s[1:3]


def test_storage_repr():
    s = _storage(fastnn.tensor([True, False]))
    assert repr(s) == " True\n False\n[fastnn.TypedStorage(dtype=fastnn.bool, device=cpu) " \
                      "of size 2]"
    assert str(_storage(fastnn.arange(2))).splitlines() == [
        " 0", " 1", "[fastnn.TypedStorage(dtype=fastnn.int64, device=cpu) of size 2]"]
    assert repr(fastnn.zeros(1).untyped_storage()).splitlines()[-1] == \
        "[fastnn.UntypedStorage(device=cpu) of size 4]"


def test_storage_shares_memory_with_views():
    base = fastnn.arange(6.0)
    view = base.view(2, 3)[:, 1:]
    s = _storage(view)
    assert len(s) == 6 and s.data_ptr() == base.data_ptr()
    s[1] = 100
    assert view[0, 0].item() == 100
    base[5] = -1
    assert s[5] == -1.0


def test_untyped_storage_bytes():
    t = fastnn.tensor([1], dtype=fastnn.int32)
    u = t.untyped_storage()
    assert len(u) == u.nbytes() == 4 and u.element_size() == 1
    assert u.tolist() == np.array([1], np.int32).view(np.uint8).tolist()
    assert u.data_ptr() == t.data_ptr()
    assert len(u[0:3]) == 3


def test_storage_warns_like_pytorch_once():
    import fastnn._storage as S
    S._warned_typed = False
    with pytest.warns(UserWarning, match="TypedStorage is deprecated"):
        fastnn.ones(1).storage()


def test_storage_matches_pytorch():
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for data in ([0.1, 2.25], [1, 2, 3]):
            ts = torch.tensor(data).storage()
            fs = fastnn.tensor(data).storage()
            assert fs.tolist() == ts.tolist() and str(fs).split("\n")[:-1] == \
                str(ts).split("\n")[:-1]
            assert (len(fs), fs.nbytes(), fs.element_size(), fs.type()) == \
                (len(ts), ts.nbytes(), ts.element_size(), ts.type())


# ---- tensor(list) fast path ---------------------------------------------------------------

_LISTS = [[1, 2, 3], [1.0, 2], [True, False], [True, 2], [True, 2.5], [[1, 2], [3, 4]],
          ((1, 2), (3, 4)), [(1, 2), [3, 4]], [], [[]], [[], []], [-2 ** 63], [1e300],
          [float("nan")], [[[1.5]]]]


@pytest.mark.parametrize("data", _LISTS, ids=repr)
@pytest.mark.parametrize("dtype", [None, fastnn.float32, fastnn.int64, fastnn.bool,
                                   fastnn.float16], ids=repr)
def test_fast_path_matches_general_path(monkeypatch, data, dtype):
    import fastnn._tensor_from_list as F

    def build():
        try:
            t = fastnn.tensor(data, dtype=dtype)
            return t.dtype, tuple(t.shape), np.asarray(t.numpy()).tobytes()
        except Exception as e:
            return type(e), str(e)
    fast = build()
    monkeypatch.setattr(F, "plain_number_dtype", lambda d: None)
    assert build() == fast


@pytest.mark.parametrize("data, dtype", [([[1, 2], [3]], ValueError), ([[1, 2], 3], TypeError)])
def test_fast_path_leaves_errors_to_general_path(data, dtype):
    with pytest.raises(dtype):
        fastnn.tensor(data)


def test_large_flat_lists_are_fast():
    import time
    n = 300_000
    for data, dt in ((list(range(n)), fastnn.int64), ([0.5] * n, fastnn.float32),
                     ([True] * n, fastnn.bool), (list(range(n - 1)) + [1.5], fastnn.float32)):
        start = time.perf_counter()
        t = fastnn.tensor(data)
        assert time.perf_counter() - start < 1.0  # seconds before the fast path
        assert t.dtype == dt and t.shape == (n,)


def test_default_dtype_applies_to_fast_path():
    old = fastnn.get_default_dtype()
    fastnn.set_default_dtype(fastnn.float64)
    try:
        assert fastnn.tensor([1, 2.5]).dtype == fastnn.float64
    finally:
        fastnn.set_default_dtype(old)


# ---- pin_memory ---------------------------------------------------------------------------

def test_pin_memory_without_accelerator():
    x = fastnn.ones(2)
    assert x.is_pinned() is False
    if fastnn.cuda.is_available():
        assert x.pin_memory() is x
    else:
        with pytest.raises(RuntimeError,
                           match="^Cannot access accelerator device when none is available.$"):
            x.pin_memory()


# ---- uint16 / uint32 / uint64 -------------------------------------------------------------

_WIDE_UNSIGNED = [(np.uint16, "uint16"), (np.uint32, "uint32"), (np.uint64, "uint64")]


@pytest.mark.parametrize("npd, name", _WIDE_UNSIGNED)
def test_wide_unsigned_arrays_become_tensors(npd, name):
    dt = getattr(fastnn, name)
    arr = np.array([1, 2, 65535], dtype=npd)
    for t in (fastnn.from_numpy(arr), fastnn.as_tensor(arr), fastnn.tensor(arr)):
        assert t.dtype is dt and t.tolist() == [1, 2, 65535]
    assert fastnn.from_numpy(arr).long().dtype == fastnn.int64
    assert fastnn.from_numpy(arr).to(fastnn.float32).tolist() == [1.0, 2.0, 65535.0]
    assert fastnn.from_numpy(arr)[fastnn.tensor([0, 2])].tolist() == [1, 65535]
    assert repr(fastnn.from_numpy(arr)[:2]) == f"tensor([1, 2], dtype=fastnn.{name})"
    assert fastnn.zeros(2, dtype=dt).dtype is dt and not dt.is_signed
    assert fastnn.from_numpy(arr).type() == f"torch.UInt{name[4:]}Tensor"


@pytest.mark.parametrize("other", ["int64", "uint8", "bool", "uint32"])
def test_wide_unsigned_do_not_promote_with_integers(other):
    with pytest.raises(RuntimeError, match="Promotion for uint16, uint32, uint64 types is not "
                                           "supported, attempted to promote UInt16 and"):
        fastnn.promote_types(fastnn.uint16, getattr(fastnn, other))
    assert fastnn.promote_types(fastnn.uint16, fastnn.float32) is fastnn.float32


def test_wide_unsigned_match_pytorch():
    torch = pytest.importorskip("torch")
    for npd, name in _WIDE_UNSIGNED:
        arr = np.array([1, 2, 65535], dtype=npd)
        assert repr(fastnn.from_numpy(arr)).replace("fastnn.", "torch.") == \
            repr(torch.from_numpy(arr))
        assert fastnn.from_numpy(arr).type() == torch.from_numpy(arr).type()
