"""Shared-memory GEMMs: c = alpha * (a @ b) + beta * cin, batched, any strides.

Operands are read through their strides, so transposed views (``w.T``) cost no copy; ``cin``
(a bias broadcast over rows, or the output itself to accumulate) and a ReLU are fused into
the epilogue. Three kernels, by size: one thread per output (small products), one output per
thread of a 16 x 16 tile, and a register-blocked one where each thread keeps a 4 x 4 block
of a 64 x 64 tile, reading shared memory a quarter as often per multiply-add (the last two
are one kernel, built for 1 or 4 outputs per thread per side). All three add the products
of each output in the same order, k ascending.
"""
import numpy as np
from numba import from_dtype

from ._backend import (cuda, grid, TILE, SMALL_GEMM, MAX_BLOCKS, SIMULATOR, REG_TILE,
                       BLOCKED_TILES, SPLIT_BELOW_TILES, SPLIT_BLOCKS, SPLIT_MIN_K)
from ._launch import launch
from ._array import CudaArray, empty, from_host
from ._layout import collapse

_kernels = {}


@cuda.jit(device=True)
def _finish(acc, alpha, beta, cin, ci, zero, relu):
    """The epilogue: alpha * acc + beta * cin[ci], then max(., 0) if relu (NaN stays NaN, as
    max(NaN, 0) does); cin is not read when beta is 0."""
    v = alpha * acc
    if beta != 0:
        v += beta * cin[ci]
    if relu and v < zero:
        v = zero
    return v


@cuda.jit(device=True)
def _tile_origin(t, M, N, side):
    """(batch, first row, first column) of output tile t; tiles run row-major per batch."""
    tm = (M + side - 1) // side
    tn = (N + side - 1) // side
    return t // (tm * tn), (t % (tm * tn)) // tn * side, t % tn * side


def _blocked_kernel(nbtype, T, R):
    """T x T threads per block, each computing R x R outputs of a (T*R)-square tile: rows
    ty + T*i and columns tx + T*j, so that loads and stores stay coalesced. R = 1 is the
    plain tile kernel (one output per thread), R = 4 the register-blocked one."""
    S = T * R

    @cuda.jit
    def k(M, N, K, nbatch, a, ao, as0, as1, abt, b, bo, bs0, bs1, bbt, c, co, cs0, cs1, cbt,
          alpha, cin, cio, cis0, cis1, cibt, beta, zero, relu):
        sa = cuda.shared.array((S, T), nbtype)
        sb = cuda.shared.array((T, S), nbtype)
        acc = cuda.local.array((R, R), nbtype)
        ra = cuda.local.array(R, nbtype)
        rb = cuda.local.array(R, nbtype)
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        tiles = ((M + S - 1) // S) * ((N + S - 1) // S) * nbatch
        t = cuda.blockIdx.x
        while t < tiles:  # a grid-stride loop over output tiles
            z, r0, c0 = _tile_origin(t, M, N, S)
            abase = ao + z * abt
            bbase = bo + z * bbt
            for i in range(R):
                for j in range(R):
                    acc[i, j] = zero
            for k0 in range(0, K, T):
                ka = k0 + tx
                kb = k0 + ty
                for i in range(R):
                    row = r0 + ty + T * i
                    sa[ty + T * i, tx] = a[abase + row * as0 + ka * as1] \
                        if (row < M and ka < K) else zero
                    col = c0 + tx + T * i
                    sb[ty, tx + T * i] = b[bbase + kb * bs0 + col * bs1] \
                        if (kb < K and col < N) else zero
                cuda.syncthreads()
                for kk in range(T):
                    for i in range(R):
                        ra[i] = sa[ty + T * i, kk]
                        rb[i] = sb[kk, tx + T * i]
                    for i in range(R):
                        for j in range(R):
                            acc[i, j] += ra[i] * rb[j]
                cuda.syncthreads()
            for i in range(R):
                row = r0 + ty + T * i
                for j in range(R):
                    col = c0 + tx + T * j
                    if row < M and col < N:
                        c[co + z * cbt + row * cs0 + col * cs1] = _finish(
                            acc[i, j], alpha, beta, cin,
                            cio + z * cibt + row * cis0 + col * cis1, zero, relu)
            t += cuda.gridDim.x
    return k


@cuda.jit
def _simple_kernel(M, N, K, nbatch, a, ao, as0, as1, abt, b, bo, bs0, bs1, bbt, c, co, cs0,
                   cs1, cbt, alpha, cin, cio, cis0, cis1, cibt, beta, zero, relu):
    # one thread per output element: for products too small to fill a tile
    i = cuda.grid(1)
    step = cuda.gridsize(1)
    while i < M * N * nbatch:
        z = i // (M * N)
        row = i % (M * N) // N
        col = i % N
        pa = ao + z * abt + row * as0
        pb = bo + z * bbt + col * bs1
        acc = zero
        for kk in range(K):
            acc += a[pa + kk * as1] * b[pb + kk * bs0]
        c[co + z * cbt + row * cs0 + col * cs1] = _finish(
            acc, alpha, beta, cin, cio + z * cibt + row * cis0 + col * cis1, zero, relu)
        i += step


def gemm(a, b, out, alpha=1, cin=None, beta=0, tiled=None, relu=False, blocked=None,
         split=None):
    """out[z] = alpha * a[z] @ b[z] + beta * cin[z] on 3-D (batch, rows, cols) CudaArrays,
    then max(., 0) if relu; cin may be out itself (accumulate) or a broadcast view (bias).
    ``tiled``, ``blocked`` and ``split`` force a kernel or a K-split (tests); by default the
    sizes pick them."""
    nbatch, M, K = a.shape
    N = b.shape[2]
    dt = out.dtype
    if cin is None:
        cin, beta = out, 0
    if split is None:
        split = _split_count(M, N, K, nbatch)
    elif split > 1 and K % split:
        raise ValueError(f"gemm: split={split} must divide the inner dimension K={K}")
    if split > 1 and nbatch == 1:
        return _split_gemm(a, b, out, alpha, cin, beta, relu, split, tiled, blocked)
    args = (M, N, K, nbatch, a.st.dev, a.off, a.est[1], a.est[2], a.est[0],
            b.st.dev, b.off, b.est[1], b.est[2], b.est[0],
            out.st.dev, out.off, out.est[1], out.est[2], out.est[0],
            dt.type(alpha), cin.st.dev, cin.off, cin.est[1], cin.est[2], cin.est[0],
            dt.type(beta), dt.type(0), bool(relu))
    _run(args, dt, M, N, K, nbatch, tiled, blocked)
    return out


def _run(args, dt, M, N, K, nbatch, tiled, blocked):
    """Launch the kernel the sizes call for on prepared arguments."""
    if tiled is None:
        tiled = M * N * K * nbatch > SMALL_GEMM
    if not tiled:
        launch(_simple_kernel, grid(M * N * nbatch), *args)
        return
    if blocked is None:
        side = REG_TILE[0] * REG_TILE[1]
        blocked = -(-M // side) * -(-N // side) * nbatch >= BLOCKED_TILES
    T, R = REG_TILE if blocked else (TILE, 1)
    key = (dt.str, T, R)
    k = _kernels.get(key)
    if k is None:
        k = _kernels[key] = _blocked_kernel(from_dtype(dt), T, R)
    tiles = -(-M // (T * R)) * -(-N // (T * R)) * nbatch
    launch(k, (1 if SIMULATOR else min(tiles, MAX_BLOCKS * 16), (T, T)), *args)


_splits = {}


def _split_count(M, N, K, nbatch):
    """K-slices for a product with too few output tiles to fill the GPU (1: none).

    A convolution's weight gradient is such a product: (out channels) x (kernel taps) outputs
    summed over batch x positions, 20 x 25 over 73,728 terms in LeNet's first layer, which
    gives a handful of tiles, each a long serial loop. Split, the slices run as a batch and
    a second launch sums them. The count divides K, so the slices stay one strided batch."""
    key = (M, N, K, nbatch)
    s = _splits.get(key)
    if s is None:
        s = 1
        tiles = -(-M // TILE) * -(-N // TILE) * nbatch
        if nbatch == 1 and 0 < tiles < SPLIT_BELOW_TILES:
            for cand in range(min(SPLIT_BLOCKS // tiles, K // SPLIT_MIN_K), 1, -1):
                if K % cand == 0:
                    s = cand
                    break
        _splits[key] = s
    return s


_ones = {}


def _split_gemm(a, b, out, alpha, cin, beta, relu, S, tiled, blocked):
    _, M, K = a.shape
    N = b.shape[2]
    dt = out.dtype
    ks = K // S
    part = empty((S, M, N), dt)
    # slice s is batch s: a[:, s*ks:(s+1)*ks] @ b[s*ks:(s+1)*ks, :]
    _run((M, N, ks, S, a.st.dev, a.off, a.est[1], a.est[2], ks * a.est[2],
          b.st.dev, b.off, b.est[1], b.est[2], ks * b.est[1],
          part.st.dev, 0, N, 1, M * N, dt.type(1), part.st.dev, 0, N, 1, M * N,
          dt.type(0), dt.type(0), False), dt, M, N, ks, S, tiled, blocked)
    # out[m, :] = alpha * ones(S) @ part[:, m, :] + beta * cin[m, :]: a batch of M
    # one-row products, s ascending; the epilogue is the one-pass kernels'
    key = (dt.str, S)
    ones = _ones.get(key)
    if ones is None:
        ones = _ones[key] = from_host(np.ones(S, dt))
    launch(_simple_kernel, grid(M * N), 1, N, S, M, ones.st.dev, 0, 0, 1, 0,
           part.st.dev, 0, M * N, 1, N, out.st.dev, out.off, 0, out.est[2], out.est[1],
           dt.type(alpha), cin.st.dev, cin.off, 0, cin.est[2], cin.est[1],
           dt.type(beta), dt.type(0), bool(relu))
    return out


def _as3(x, bshape, rows, cols):
    """x broadcast to bshape + (rows, cols), its batch dimensions merged into one."""
    x = x.broadcast_to(tuple(bshape) + (rows, cols))
    nb = len(bshape)
    if nb == 0:
        return CudaArray(x.st, x.off, (1, rows, cols), (0,) + x.est, x.dtype, x._root())
    bs, (bst,) = collapse(tuple(bshape), x.est[:nb])
    if len(bs) > 1:
        x = x.copy()
        bs, bst = (x.size // (rows * cols),), (rows * cols,)
    return CudaArray(x.st, x.off, (bs[0], rows, cols), (bst[0],) + x.est[nb:], x.dtype,
                     x._root())


def matmul(a, b, out=None):
    """numpy.matmul: 1-D operands promoted and their dimension dropped, batches broadcast."""
    if not isinstance(a, CudaArray) or not isinstance(b, CudaArray):
        from ._dispatch import as_cuda
        a, b = as_cuda(a), as_cuda(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: Input operand does not have enough dimensions")
    dt = np.matmul.resolve_dtypes((a.dtype, b.dtype, None))[-1]
    a = a if a.dtype == dt else a.astype(dt)
    b = b if b.dtype == dt else b.astype(dt)
    a2 = a.reshape((1,) + a.shape) if a.ndim == 1 else a
    b2 = b.reshape(b.shape + (1,)) if b.ndim == 1 else b
    M, K = a2.shape[-2:]
    K2, N = b2.shape[-2:]
    if K != K2:
        raise ValueError(f"matmul: Input operand 1 has a mismatch in its core dimension 0, "
                         f"with gufunc signature (n?,k),(k,m?)->(n?,m?) (size {K2} is different "
                         f"from {K})")
    bshape = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    full = tuple(bshape) + (M, N)
    shape = tuple(bshape) + ((M,) if a.ndim > 1 else ()) + ((N,) if b.ndim > 1 else ())
    res = empty(full, dt)
    if res.size:
        if K == 0:
            res.fill(0)
        else:
            gemm(_as3(a2, bshape, M, K), _as3(b2, bshape, K, N), _as3(res, bshape, M, N))
    res = res.reshape(shape)
    if out is not None:
        from ._array import assign
        assign(out, res)
        return out
    return res
