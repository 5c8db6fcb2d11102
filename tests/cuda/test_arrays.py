"""CudaArray against numpy: elementwise ops, broadcasting, dtypes, reductions, views, indexing.

Shapes stay tiny: on the simulator every GPU thread is a Python thread.
"""
import numpy as np
import pytest

pytest.importorskip("numba", exc_type=ImportError)

from fastnn.cuda import _backend  # noqa: E402  (after the skip: needs numba)
from fastnn.cuda._array import CudaArray, from_host  # noqa: E402
from fastnn.cuda import kernels_gemm, kernels_reduce  # noqa: E402

pytestmark = pytest.mark.cuda
rng = np.random.default_rng(0)


def dev(a):
    return from_host(np.asarray(a))


def host(a):
    assert isinstance(a, CudaArray), type(a)
    return a.copy_to_host()


def same(got, want, rtol=1e-6, atol=1e-6):
    got = host(got)
    want = np.asarray(want)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


A = rng.standard_normal((3, 4)).astype(np.float32)
B = rng.standard_normal((4,)).astype(np.float32)
P = (np.abs(A) + 0.5).astype(np.float32)


@pytest.mark.parametrize("fn", [np.negative, np.absolute, np.exp, np.tanh, np.sign, np.sqrt,
                                np.log, np.log1p, np.expm1, np.floor, np.ceil, np.rint,
                                np.isnan, np.isfinite, np.square, np.sin, np.cos, np.reciprocal])
def test_unary(fn):
    src = P if fn in (np.log, np.sqrt, np.log1p) else A
    same(fn(dev(src)), fn(src), rtol=2e-6)


@pytest.mark.parametrize("fn", [np.add, np.subtract, np.multiply, np.true_divide, np.maximum,
                                np.minimum, np.power, np.greater, np.less_equal, np.equal])
def test_binary_broadcast(fn):
    a, b = (P, np.abs(B) + 0.5) if fn is np.power else (A, B)
    same(fn(dev(a), dev(b)), fn(a, b), rtol=1e-5)
    same(fn(dev(b.reshape(4, 1)), dev(a[:1])), fn(b.reshape(4, 1), a[:1]), rtol=1e-5)


def test_scalars_follow_numpy_promotion():
    x = dev(A)
    same(x * 2, A * 2)
    same(2.5 - x, 2.5 - A)
    same(x / np.float32(3), A / np.float32(3))
    same(x + np.asarray(1.0), A + np.asarray(1.0))  # a 0-d array is a strong float64
    i = dev(np.arange(6, dtype=np.int64))
    same(i / 2, np.arange(6) / 2)
    same(i // 4, np.arange(6) // 4)
    same(i % 4, np.arange(6) % 4)
    same((x > 0) + 0.5 * (x == 0), (A > 0) + 0.5 * (A == 0))
    same(np.add(i, x[0, :1], dtype=np.float32), np.add(np.arange(6), A[0, :1], dtype=np.float32))
    same(~dev(A > 0), ~(A > 0))
    same(np.logical_and(dev(A > 0), dev(A < 1)), np.logical_and(A > 0, A < 1))


def test_inplace_and_out():
    x = dev(A.copy())
    x += 1
    x *= dev(B)
    same(x, (A + 1) * B)
    out = dev(np.zeros_like(A))
    np.multiply(dev(A), 2, out=out)
    same(out, A * 2)
    with pytest.raises(TypeError, match="Cannot cast ufunc 'add' output"):
        np.add(dev(np.arange(3)), 0.5, out=dev(np.arange(3)), casting="same_kind")


@pytest.mark.parametrize("out_kind", ["direct", "offset", "strided", "other dtype",
                                      "keepdims"])
def test_reduction_into_out(out_kind):
    """A contiguous out of the result's dtype and shape receives the kernel's result itself;
    any other out gets a copy; either way out is what returns."""
    x = dev(A)
    shape, dtype, keep = (A.shape[1],), A.dtype, False
    if out_kind == "strided":
        full = dev(np.zeros((A.shape[1], 2), A.dtype))
        out = full[:, 0]
    elif out_kind == "offset":  # contiguous, but not at the start of its buffer
        out = dev(np.zeros(3 * A.shape[1], A.dtype))[A.shape[1]:2 * A.shape[1]]
    elif out_kind == "other dtype":
        out = dev(np.zeros(shape, np.float64))
    else:
        if out_kind == "keepdims":
            shape, keep = (1, A.shape[1]), True
        out = dev(np.zeros(shape, dtype))
    got = x.sum(axis=0, out=out, keepdims=keep)
    assert got is out
    same(out, A.sum(axis=0, keepdims=keep).astype(out.dtype), rtol=1e-5)


def test_nan_propagates_through_max_min_and_where():
    a = np.array([1.0, np.nan, 3.0], np.float32)
    same(np.maximum(dev(a), 2.0), np.maximum(a, 2.0))
    same(np.minimum(dev(a), 2.0), np.minimum(a, 2.0))
    same(dev(a).max(), a.max(keepdims=False))
    same(np.where(dev(a > 1.5), dev(a), 0.0), np.where(a > 1.5, a, 0.0))
    same(np.clip(dev(A), -0.5, 0.5), np.clip(A, -0.5, 0.5))


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1), -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(axis, keepdims):
    x = dev(A)
    for name in ("sum", "mean", "max", "min", "prod"):
        same(getattr(x, name)(axis=axis, keepdims=keepdims),
             getattr(A, name)(axis=axis, keepdims=keepdims), rtol=1e-5)
    same(np.any(dev(A > 1), axis=axis, keepdims=keepdims),
         np.any(A > 1, axis=axis, keepdims=keepdims))
    same(np.all(dev(A > -1), axis=axis, keepdims=keepdims),
         np.all(A > -1, axis=axis, keepdims=keepdims))


def test_reduction_dtypes_and_args():
    b = (A > 0)
    same(dev(b).sum(), b.sum())
    same(dev(np.arange(5, dtype=np.int32)).sum(), np.arange(5, dtype=np.int32).sum())
    same(dev(A).sum(axis=1, dtype=np.float64), A.sum(axis=1, dtype=np.float64))
    same(dev(A).argmax(axis=1), A.argmax(axis=1))
    same(np.argmin(dev(A), axis=0, keepdims=True), np.argmin(A, axis=0, keepdims=True))
    same(dev(A).argmax(), np.asarray(A.argmax()))
    same(dev(A.T).sum(axis=0), A.T.sum(axis=0))       # strided input
    with pytest.raises(ValueError, match="zero-size array to reduction operation maximum"):
        dev(np.zeros((0, 2), np.float32)).max(axis=0)


def test_tree_reduction_kernel_matches():
    # the block-tree kernel (used for long reductions) against the serial one, forced
    a = rng.standard_normal((2, 40)).astype(np.float64)
    x = dev(a)
    for kind, want in (("sum", a.sum(1)), ("max", a.max(1)), ("mean", a.mean(1))):
        for tree in (False, True):
            out = CudaArray(_backend.alloc(2, np.float64), 0, (2,), None, np.dtype(np.float64))
            init = {"sum": 0.0, "mean": 0.0, "max": -np.inf}[kind]
            kernels_reduce.reduce(kind, 2, 40, (2,), (40,), (40,), (1,), x.st.dev, 0,
                                  out.st.dev, np.float64(init), np.float64(40), tree=tree)
            np.testing.assert_allclose(host(out), want, rtol=1e-12)


def batch1(t):
    """A 2-D array as the (1, rows, cols) batch the GEMM kernels take."""
    return kernels_gemm._as3(t, (), *t.shape)


GEMM_KERNELS = [{"tiled": False}, {"tiled": True, "blocked": False},
                {"tiled": True, "blocked": True}]


@pytest.mark.parametrize("which", GEMM_KERNELS, ids=["simple", "tiled", "blocked"])
def test_gemm_kernels(which):
    a = rng.standard_normal((5, 7)).astype(np.float32)
    b = rng.standard_normal((6, 7)).astype(np.float32)
    bias = rng.standard_normal(6).astype(np.float32)
    out = dev(np.zeros((5, 6), np.float32))
    x, w, c = dev(a), dev(b), dev(bias)
    cin = CudaArray(c.st, 0, (1, 5, 6), (0, 0, 1), c.dtype)
    kernels_gemm.gemm(batch1(x), batch1(w.T), batch1(out), 1, cin, 1, **which)
    same(out, a @ b.T + bias, rtol=1e-5)
    kernels_gemm.gemm(batch1(x), batch1(w.T), batch1(out), 2, batch1(out), 1, **which)  # accumulate
    same(out, 3 * (a @ b.T) + bias, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("which", GEMM_KERNELS[1:], ids=["tiled", "blocked"])
def test_gemm_kernels_agree_on_batches_edges_and_relu(which):
    # a batch of 2, sizes that leave partial tiles on every side, a strided (transposed) a,
    # a NaN that must survive the fused ReLU; the kernels add in the same order as the
    # one-thread-per-output kernel
    a = rng.standard_normal((2, 9, 11)).astype(np.float64)
    b = rng.standard_normal((2, 11, 6)).astype(np.float64)
    a[1, 3, 4] = np.nan
    at = dev(np.ascontiguousarray(a.transpose(0, 2, 1))).transpose(0, 2, 1)  # strided view
    outs = []
    for kw in (GEMM_KERNELS[0], which):
        out = dev(np.zeros((2, 9, 6)))
        kernels_gemm.gemm(at, dev(b), out, 1.5, None, 0, relu=True, **kw)
        outs.append(host(out))
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-13, atol=1e-13)
    assert np.isnan(outs[1][1, 3]).all()  # NaN passes the ReLU, as np.maximum(nan, 0) does
    np.testing.assert_allclose(outs[1], np.maximum(1.5 * (a @ b), 0), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("split", [2, 3, 6])
def test_split_k_gemm_matches_the_unsplit_one(split):
    # K = 12 in slices run as a batch, then summed by a second launch that applies the
    # epilogue: alpha, a bias broadcast over rows, accumulation into out, the ReLU
    a = rng.standard_normal((5, 12))
    b = rng.standard_normal((7, 12))
    bias = rng.standard_normal(7)
    c = dev(bias)
    cin = CudaArray(c.st, 0, (1, 5, 7), (0, 0, 1), c.dtype)
    for kw in ({"split": split}, {"split": split, "tiled": True}):
        out = dev(np.zeros((5, 7)))
        kernels_gemm.gemm(batch1(dev(a)), batch1(dev(b).T), batch1(out), 2, cin, 1, relu=True, **kw)
        same(out, np.maximum(2 * a @ b.T + bias, 0), rtol=1e-12, atol=1e-12)
        kernels_gemm.gemm(batch1(dev(a)), batch1(dev(b).T), batch1(out), 1, batch1(out), 1, **kw)
        same(out, np.maximum(2 * a @ b.T + bias, 0) + a @ b.T, rtol=1e-12, atol=1e-12)
    wide = dev(np.zeros((4, 5, 9)))[1]  # a strided out: every other column of a slice
    strided = CudaArray(wide.st, wide.off, (1, 5, 4), (0, 9, 2), wide.dtype)
    kernels_gemm.gemm(batch1(dev(a)), batch1(dev(b[:4]).T), strided, split=split)
    got = host(wide)
    np.testing.assert_allclose(got[:, 0:8:2], a @ b[:4].T, rtol=1e-12, atol=1e-12)
    assert (got[:, 1::2] == 0).all()


def test_a_forced_split_must_divide_k():
    a, b, out = dev(np.ones((1, 2, 4))), dev(np.ones((1, 4, 3))), dev(np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match="split=3 must divide the inner dimension K=4"):
        kernels_gemm.gemm(a, b, out, split=3)


def test_split_count_divides_k_and_leaves_large_products_alone(monkeypatch):
    monkeypatch.setattr(kernels_gemm, "SPLIT_BELOW_TILES", 64)
    monkeypatch.setattr(kernels_gemm, "SPLIT_BLOCKS", 256)
    monkeypatch.setattr(kernels_gemm, "SPLIT_MIN_K", 256)
    monkeypatch.setattr(kernels_gemm, "TILE", 16)
    monkeypatch.setattr(kernels_gemm, "_splits", {})
    s = kernels_gemm._split_count(20, 25, 73728, 1)  # LeNet's first weight gradient
    assert s > 1 and 73728 % s == 0 and 73728 // s >= 256 and 4 * s <= 256
    assert kernels_gemm._split_count(512, 512, 73728, 1) == 1  # enough tiles already
    assert kernels_gemm._split_count(20, 25, 300, 1) == 1  # too short to split
    assert kernels_gemm._split_count(20, 25, 7919 * 2, 2) == 1  # batched
    assert kernels_gemm._split_count(0, 25, 73728, 1) == 1
    assert kernels_gemm._split_count(20, 25, 7919, 1) == 1  # a prime K has no even split


def test_matmul_shapes():
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)
    b = rng.standard_normal((4, 5)).astype(np.float32)
    v = rng.standard_normal(4).astype(np.float32)
    same(dev(a) @ dev(b), a @ b, rtol=1e-5)
    same(dev(a) @ dev(v), a @ v, rtol=1e-5)
    same(dev(v) @ dev(b), v @ b, rtol=1e-5)
    same(np.matmul(dev(b.T), dev(a).transpose(0, 2, 1)), b.T @ a.transpose(0, 2, 1), rtol=1e-5)
    same(dev(v) @ dev(v), np.asarray(v @ v), rtol=1e-5)
    with pytest.raises(ValueError, match="mismatch in its core dimension"):
        dev(a) @ dev(a)


def test_views_share_memory():
    base = dev(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    ref = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    for view, want in ((base[1], ref[1]), (base[:, 1:, ::2], ref[:, 1:, ::2]),
                       (base[..., -1], ref[..., -1]), (base[None, :, 0], ref[None, :, 0]),
                       (base.transpose(2, 0, 1), ref.transpose(2, 0, 1)),
                       (base.reshape(6, 4), ref.reshape(6, 4)),
                       (np.flip(base, 1), np.flip(ref, 1)),
                       (np.broadcast_to(base[:, :1], (2, 3, 4)), np.broadcast_to(ref[:, :1],
                                                                                (2, 3, 4))),
                       (np.expand_dims(base, 1), np.expand_dims(ref, 1)),
                       (base.transpose(1, 0, 2).reshape(3, 8), ref.transpose(1, 0, 2)
                        .reshape(3, 8))):
        same(view, want)
    v = base[:, 1]
    assert np.shares_memory(v, base) and v.base is base and not v.flags.owndata
    v[...] = 0
    ref[:, 1] = 0
    same(base, ref)
    assert base.transpose(1, 0, 2).reshape(3, 2, 4).base is base   # no copy needed
    with pytest.raises(ValueError):
        base.transpose(2, 1, 0).reshape(24, copy=False)
    assert base.T.flags.f_contiguous and not base.T.flags.c_contiguous
    assert not np.broadcast_to(base[:, :1], (2, 3, 4)).flags.writeable


def test_advanced_indexing():
    ref = np.arange(20, dtype=np.float32).reshape(4, 5)
    x = dev(ref)
    rows = np.array([3, 0, -1])
    for idx in ((rows,), (rows, slice(1, 4)), (slice(None), np.array([4, 0])),
                (np.array([0, 2]), np.array([1, 3])), (ref > 10,), (1, np.array([0, 0, 4])),
                (np.array([[0], [2]]), np.array([1, 2]))):
        same(x[idx], ref[idx])
        same(x[tuple(dev(i) if isinstance(i, np.ndarray) else i for i in idx)], ref[idx])
    y, r = dev(ref.copy()), ref.copy()
    y[np.array([0, 3]), 1:3] = -1.0
    r[np.array([0, 3]), 1:3] = -1.0
    same(y, r)
    np.add.at(y, (np.array([1, 1, 2]),), dev(np.ones((3, 5), np.float32)))
    np.add.at(r, (np.array([1, 1, 2]),), np.ones((3, 5), np.float32))
    same(y, r)
    idx = np.array([[1], [0], [4], [2]])
    same(np.take_along_axis(x, dev(idx), axis=1), np.take_along_axis(ref, idx, axis=1))
    z, zr = dev(np.zeros((4, 5), np.float32)), np.zeros((4, 5), np.float32)
    np.put_along_axis(z, dev(idx), 7.0, axis=1)
    np.put_along_axis(zr, idx, 7.0, axis=1)
    same(z, zr)
    with pytest.raises(IndexError, match="index 9 is out of bounds for axis 0 with size 4"):
        x[9]


def test_joining_and_creation():
    a, b = A, A * 2
    same(np.concatenate([dev(a), dev(b)], axis=1), np.concatenate([a, b], axis=1))
    same(np.stack([dev(a), dev(b)], axis=0), np.stack([a, b]))
    for got, want in zip(np.split(dev(a), [1, 3], axis=1), np.split(a, [1, 3], axis=1)):
        same(got, want)
    same(np.zeros_like(dev(a)), np.zeros_like(a))
    same(np.ones_like(dev(a), dtype=np.int64), np.ones_like(a, dtype=np.int64))
    same(np.full_like(dev(a), 3.0), np.full_like(a, 3.0))
    same(np.pad(dev(a), ((0, 0), (1, 2))), np.pad(a, ((0, 0), (1, 2))))
    same(np.tile(dev(B), (2, 2)), np.tile(B, (2, 2)))
    same(dev(a).astype(np.int64), a.astype(np.int64))
    same(dev(a).copy(), a)


def test_numpy_scalars_and_host_arrays_combine():
    x = dev(A)
    same(np.float32(2) * x, np.float32(2) * A)
    same(B + x, B + A)  # a host array operand is uploaded
    assert float(dev(np.asarray(2.5, np.float32))) == 2.5


def test_buffer_from_keeps_one_view_per_offset_and_reads_from_there():
    a = dev(np.arange(100, dtype=np.float32))
    views = [_backend.buffer_from(a[k:]) for k in (0, 5, 5, 7)]
    assert views[0] is a.st.dev  # offset 0: the buffer itself, no view
    assert views[1] is views[2] and views[1] is not views[3]
    assert views[1].copy_to_host()[:3].tolist() == [5, 6, 7]
    assert views[3].copy_to_host()[0] == 7
    for k in range(1, 100):  # many offsets: only the first few are kept
        assert _backend.buffer_from(a[k:]).copy_to_host()[0] == k
    assert len(a.st.views) == _backend._VIEWS_PER_STORAGE
