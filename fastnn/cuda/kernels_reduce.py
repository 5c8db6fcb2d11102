"""Reduction kernels: one block per output element, a shared-memory tree inside the block.

The kept and reduced index spaces arrive as (shape, strides) tuples, so any set of axes of any
strided array reduces without a transposing copy.
"""
from numba import from_dtype

from ._backend import (cuda, grid, red_threads, RED_THREADS, SIMULATOR, SMALL_REDUCE,
                       unravel)
from ._launch import launch


def _add(a, b):
    return a + b


def _mul(a, b):
    return a * b


def _max(a, b):
    return a if (a > b or a != a) else b


def _min(a, b):
    return a if (a < b or a != a) else b


_COMBINE = {"sum": _add, "mean": _add, "prod": _mul, "max": _max, "min": _min}
_dev = {}
_kernels = {}


def _device(kind):
    comb = _dev.get(kind)
    if comb is None:
        comb = _dev[kind] = cuda.jit(device=True)(_COMBINE[kind])
    return comb


def _reduce_kernel(kind, nbtype):
    comb = _device(kind)
    threads = RED_THREADS
    mean = kind == "mean"

    @cuda.jit
    def k(nout, nred, kshape, kst, rshape, rst, a, ao, out, init, count):
        sh = cuda.shared.array(threads, nbtype)
        tid = cuda.threadIdx.x
        o = cuda.blockIdx.x
        while o < nout:
            base = unravel(o, kshape, kst, ao)
            acc = init
            j = tid
            while j < nred:
                off = unravel(j, rshape, rst, base)
                acc = comb(acc, a[off])
                j += cuda.blockDim.x
            sh[tid] = acc
            cuda.syncthreads()
            s = cuda.blockDim.x // 2
            while s > 0:
                if tid < s:
                    sh[tid] = comb(sh[tid], sh[tid + s])
                cuda.syncthreads()
                s //= 2
            if tid == 0:
                if mean:
                    out[o] = sh[0] / count
                else:
                    out[o] = sh[0]
            cuda.syncthreads()  # sh is reused by the next output of this block
            o += cuda.gridDim.x
    return k


def _serial_kernel(kind):
    comb = _device(kind)
    mean = kind == "mean"

    @cuda.jit
    def k(nout, nred, kshape, kst, rshape, rst, a, ao, out, init, count):
        # one thread per output: no barriers, coalesced when outputs are adjacent in memory
        o = cuda.grid(1)
        step = cuda.gridsize(1)
        while o < nout:
            base = unravel(o, kshape, kst, ao)
            acc = init
            for j in range(nred):
                off = unravel(j, rshape, rst, base)
                acc = comb(acc, a[off])
            if mean:
                out[o] = acc / count
            else:
                out[o] = acc
            o += step
    return k


def reduce(kind, nout, nred, kshape, kst, rshape, rst, a, ao, out, init, count, tree=None):
    """out[o] = reduction over the nred elements of output o (one kernel launch)."""
    if tree is None:
        tree = nred > SMALL_REDUCE
    args = (nout, nred, kshape, kst, rshape, rst, a, ao, out, init, count)
    if not tree:
        k = _kernels.get(("serial", kind))
        if k is None:
            k = _kernels[("serial", kind)] = _serial_kernel(kind)
        launch(k, grid(nout), *args)
        return
    key = (kind, a.dtype.str)
    k = _kernels.get(key)
    if k is None:
        k = _kernels[key] = _reduce_kernel(kind, from_dtype(a.dtype))
    blocks = 1 if SIMULATOR else min(nout, 65535)
    launch(k, (blocks, red_threads(nred)), *args)


@cuda.jit
def _arg_kernel(nout, kshape, kst, n, st, a, ao, out, use_max):
    # one thread per output; the first extreme (and the first NaN) wins, as in numpy
    o = cuda.grid(1)
    step = cuda.gridsize(1)
    while o < nout:
        base = unravel(o, kshape, kst, ao)
        best = a[base]
        bi = 0
        if best == best:
            for j in range(1, n):
                v = a[base + j * st]
                if v != v:
                    bi = j
                    break
                if (use_max and v > best) or (not use_max and v < best):
                    best = v
                    bi = j
        out[o] = bi
        o += step


def arg_extreme(grid, nout, kshape, kst, n, st, a, ao, out, use_max):
    launch(_arg_kernel, grid, nout, kshape, kst, n, st, a, ao, out, use_max)
