"""Gather and scatter through precomputed element offsets (advanced indexing, take/put along
an axis, ``np.add.at``)."""
from ._backend import cuda, grid
from ._launch import launch


@cuda.jit
def _gather(n, out, src, offs):
    i = cuda.grid(1)
    step = cuda.gridsize(1)
    while i < n:
        out[i] = src[offs[i]]
        i += step


@cuda.jit
def _scatter(n, dst, offs, v):
    i = cuda.grid(1)
    step = cuda.gridsize(1)
    while i < n:
        dst[offs[i]] = v[i]
        i += step


@cuda.jit
def _scatter_add(n, dst, offs, v):
    # duplicates in offs accumulate: atomics make that correct in any thread order
    i = cuda.grid(1)
    step = cuda.gridsize(1)
    while i < n:
        cuda.atomic.add(dst, offs[i], v[i])
        i += step


def gather(n, out, src, offs):
    launch(_gather, grid(n), n, out, src, offs)


def scatter(n, dst, offs, v):
    launch(_scatter, grid(n), n, dst, offs, v)


def scatter_add(n, dst, offs, v):
    launch(_scatter_add, grid(n), n, dst, offs, v)
