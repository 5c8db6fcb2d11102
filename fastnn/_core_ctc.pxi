# CTC loss kernels (forward and backward recursions in log space); included by _core.pyx.
#
# Layouts: log_probs (T, N, C); ext (N, L) extended labels blank, l1, blank, ..., blank
# (L = 2 * max target length + 1, positions past a sample's 2 * tl + 1 unused); alpha
# (T, N, L) log forward variables, written for t < input length and s < 2 * tl + 1 only.

from libc.math cimport INFINITY, NAN, log1p, log1pf
from libc.stdlib cimport free, malloc


cdef inline floating _lse3(floating a, floating b, floating c) noexcept nogil:
    """log(exp(a) + exp(b) + exp(c)), -inf when all three are -inf; the largest term is
    factored out, so only the other two are exponentiated."""
    cdef floating m = a, x = b, y = c
    if b > m:
        m, x = b, a
    if c > m:
        m, y = c, m
    if m == -INFINITY:
        return m
    if floating is float:
        return m + log1pf(expf(x - m) + expf(y - m))
    else:
        return m + log1p(exp(x - m) + exp(y - m))


cdef inline Py_ssize_t _band_lo(Py_ssize_t ln, Py_ssize_t il, Py_ssize_t t) noexcept nogil:
    """Below this position a path at frame t can no longer reach the end of the labels."""
    cdef Py_ssize_t lo = ln - 2 * (il - t)
    return lo if lo > 0 else 0


cdef inline Py_ssize_t _band_hi(Py_ssize_t ln, Py_ssize_t t) noexcept nogil:
    """From this position on, frame t is too early to have reached it."""
    cdef Py_ssize_t hi = 2 * t + 2
    return hi if hi < ln else ln


cdef floating _ctc_fwd_one(const floating* lp, const int64_t* ext, floating* alpha,
                           Py_ssize_t n, Py_ssize_t nb, Py_ssize_t c, Py_ssize_t lmax,
                           Py_ssize_t il, Py_ssize_t tl) noexcept nogil:
    """Fill sample n's alpha and return its negative log-likelihood."""
    cdef Py_ssize_t ln = 2 * tl + 1, t, s, lo, hi
    cdef const floating* row
    cdef floating* cur
    cdef floating* prev
    cdef floating a1, a2
    if il == 0:
        return 0 if tl == 0 else INFINITY
    row = lp + n * c
    cur = alpha + n * lmax
    for s in range(ln):
        cur[s] = row[ext[s]] if s < 2 and s >= _band_lo(ln, il, 0) else -INFINITY
    for t in range(1, il):
        prev = cur
        cur = alpha + (t * nb + n) * lmax
        row = lp + (t * nb + n) * c
        lo = _band_lo(ln, il, t)
        hi = _band_hi(ln, t)
        for s in range(lo):
            cur[s] = -INFINITY
        for s in range(lo, hi):
            a1 = prev[s - 1] if s >= 1 else -INFINITY
            a2 = prev[s - 2] if s >= 2 and ext[s] != ext[s - 2] else -INFINITY
            cur[s] = _lse3(prev[s], a1, a2) + row[ext[s]]
        for s in range(hi, ln):
            cur[s] = -INFINITY
    a1 = cur[ln - 2] if ln >= 2 else -INFINITY
    return -_lse3(cur[ln - 1], a1, <floating>-INFINITY)


cdef inline floating _exp(floating x) noexcept nogil:
    if floating is float:
        return expf(x)
    else:
        return exp(x)


cdef void _ctc_bwd_one(const floating* lp, const int64_t* ext, const floating* alpha,
                       floating nll, floating scale, bint zero_inf, floating* out,
                       floating* beta, Py_ssize_t n, Py_ssize_t nb, Py_ssize_t c,
                       Py_ssize_t lmax, Py_ssize_t tmax, Py_ssize_t il,
                       Py_ssize_t tl) noexcept nogil:
    """Write sample n's gradient rows: (exp(lp) - occupancy) * scale for t < il, else 0.

    ``beta`` is scratch of 2 * lmax values (this frame's and the next frame's)."""
    cdef Py_ssize_t ln = 2 * tl + 1, t, s, j, lo, hi
    cdef const floating* row
    cdef const floating* arow
    cdef floating* orow
    cdef floating* cur = beta
    cdef floating* nxt = beta + lmax
    cdef floating* tmp
    cdef floating b1, b2, fill
    for t in range(il, tmax):
        orow = out + (t * nb + n) * c
        for j in range(c):
            orow[j] = 0
    if nll == INFINITY:
        fill = 0 if zero_inf else NAN   # as PyTorch gives
        for t in range(il):
            orow = out + (t * nb + n) * c
            for j in range(c):
                orow[j] = fill
        return
    for t in range(il - 1, -1, -1):
        row = lp + (t * nb + n) * c
        arow = alpha + (t * nb + n) * lmax
        orow = out + (t * nb + n) * c
        lo = _band_lo(ln, il, t)
        hi = _band_hi(ln, t)
        for s in range(lo):
            cur[s] = -INFINITY
        for s in range(hi, ln):
            cur[s] = -INFINITY
        if t == il - 1:
            for s in range(lo, hi):
                cur[s] = row[ext[s]]
        else:
            for s in range(lo, hi):
                b1 = nxt[s + 1] if s + 1 < ln else -INFINITY
                b2 = nxt[s + 2] if s + 2 < ln and ext[s + 2] != ext[s] else -INFINITY
                cur[s] = _lse3(nxt[s], b1, b2) + row[ext[s]]
        for j in range(c):
            orow[j] = _exp(row[j]) * scale
        for s in range(lo, hi):
            orow[ext[s]] -= _exp(arow[s] + cur[s] - row[ext[s]] + nll) * scale
        tmp = cur
        cur = nxt
        nxt = tmp


cdef void _ctc_fwd(const floating* lp, const int64_t* ext, const int64_t* il,
                   const int64_t* tl, floating* alpha, floating* nll, Py_ssize_t tmax,
                   Py_ssize_t nb, Py_ssize_t c, Py_ssize_t lmax) noexcept nogil:
    cdef Py_ssize_t i
    if _chunk_count(tmax * nb * lmax * 8) == 1 or nb < 2:
        for i in range(nb):
            nll[i] = _ctc_fwd_one(lp, ext + i * lmax, alpha, i, nb, c, lmax, il[i], tl[i])
        return
    for i in prange(nb, num_threads=_nthreads, schedule="dynamic"):
        nll[i] = _ctc_fwd_one(lp, ext + i * lmax, alpha, i, nb, c, lmax, il[i], tl[i])


cdef int _ctc_bwd(const floating* lp, const int64_t* ext, const int64_t* il,
                  const int64_t* tl, const floating* nll, const floating* alpha,
                  const floating* scale, bint zero_inf, floating* out, Py_ssize_t tmax,
                  Py_ssize_t nb, Py_ssize_t c, Py_ssize_t lmax) noexcept nogil:
    """Returns -1 when scratch memory could not be had, else 0."""
    cdef Py_ssize_t i
    cdef floating* scratch = <floating*>malloc(nb * 2 * lmax * sizeof(floating))
    if scratch == NULL:
        return -1
    if _chunk_count(tmax * nb * (lmax + c) * 8) == 1 or nb < 2:
        for i in range(nb):
            _ctc_bwd_one(lp, ext + i * lmax, alpha, nll[i], scale[i], zero_inf, out,
                         scratch + i * 2 * lmax, i, nb, c, lmax, tmax, il[i], tl[i])
    else:
        for i in prange(nb, num_threads=_nthreads, schedule="dynamic"):
            _ctc_bwd_one(lp, ext + i * lmax, alpha, nll[i], scale[i], zero_inf, out,
                         scratch + i * 2 * lmax, i, nb, c, lmax, tmax, il[i], tl[i])
    free(scratch)
    return 0


cdef cnp.ndarray _ctc_ints(object a, str fn, str name, int ndim, Py_ssize_t d0):
    cdef cnp.ndarray arr
    if not cnp.PyArray_Check(a):
        raise TypeError(f"{fn}: argument '{name}' must be a numpy.ndarray, not "
                        f"{type(a).__name__}")
    arr = <cnp.ndarray>a
    if cnp.PyArray_TYPE(arr) != cnp.NPY_INT64:
        raise TypeError(f"{fn}: expected '{name}' to have dtype int64, but got {arr.dtype}")
    if cnp.PyArray_NDIM(arr) != ndim:
        raise RuntimeError(f"{fn}: expected '{name}' to be a {ndim}-D array, but got "
                           f"{arr.ndim}-D with shape {_shape(arr)}")
    _layout(arr, fn, name, False)
    if cnp.PyArray_DIM(arr, 0) != d0:
        raise RuntimeError(f"{fn}: expected '{name}' to have {d0} rows, but got "
                           f"{_shape(arr)}")
    return arr


cdef int _ctc_check(str fn, cnp.ndarray L, cnp.ndarray E, cnp.ndarray IL,
                    cnp.ndarray TL) except -1:
    """Lengths within the arrays, labels within the classes: the kernels index by them."""
    cdef Py_ssize_t tmax = cnp.PyArray_DIM(L, 0), nb = cnp.PyArray_DIM(L, 1)
    cdef Py_ssize_t c = cnp.PyArray_DIM(L, 2), lmax = cnp.PyArray_DIM(E, 1), i, s
    cdef const int64_t* e = <const int64_t*>cnp.PyArray_DATA(E)
    cdef const int64_t* il = <const int64_t*>cnp.PyArray_DATA(IL)
    cdef const int64_t* tl = <const int64_t*>cnp.PyArray_DATA(TL)
    if lmax < 1:
        raise RuntimeError(f"{fn}: 'ext' must have at least one column")
    for i in range(nb):
        if il[i] < 0 or il[i] > tmax:
            raise ValueError(f"{fn}: input length {il[i]} is outside [0, {tmax}]")
        if tl[i] < 0 or 2 * tl[i] + 1 > lmax:
            raise ValueError(f"{fn}: target length {tl[i]} does not fit 'ext' ({lmax} "
                             f"columns)")
    for i in range(nb * lmax):
        if e[i] < 0 or e[i] >= c:
            raise IndexError(f"Target {e[i]} is out of bounds.")
    return 0


def ctc_loss_forward(log_probs, ext, input_lengths, target_lengths, out_alpha, out_nll):
    """out_nll[n] = -log p(target n | log_probs[:, n]); out_alpha gets the log forward
    variables (only the entries the backward reads are written)."""
    cdef str fn = "ctc_loss_forward"
    cdef cnp.ndarray L = _arg(log_probs, fn, "log_probs", 3, None, None, False)
    cdef Py_ssize_t tmax = cnp.PyArray_DIM(L, 0), nb = cnp.PyArray_DIM(L, 1)
    cdef Py_ssize_t c = cnp.PyArray_DIM(L, 2)
    cdef cnp.ndarray E = _ctc_ints(ext, fn, "ext", 2, nb)
    cdef cnp.ndarray IL = _ctc_ints(input_lengths, fn, "input_lengths", 1, nb)
    cdef cnp.ndarray TL = _ctc_ints(target_lengths, fn, "target_lengths", 1, nb)
    cdef Py_ssize_t lmax = cnp.PyArray_DIM(E, 1)
    cdef cnp.ndarray A = _arg(out_alpha, fn, "out_alpha", 3, L, "log_probs", True)
    cdef cnp.ndarray NLL = _arg(out_nll, fn, "out_nll", 1, L, "log_probs", True)
    if (cnp.PyArray_DIM(A, 0) != tmax or cnp.PyArray_DIM(A, 1) != nb or
            cnp.PyArray_DIM(A, 2) != lmax):
        raise RuntimeError(f"{fn}: expected 'out_alpha' to have shape ({tmax}, {nb}, "
                           f"{lmax}), but got {_shape(A)}")
    _dims1(NLL, fn, "out_nll", nb)
    _ctc_check(fn, L, E, IL, TL)
    _disjoint(A, fn, "out_alpha", L, "log_probs", False)
    _disjoint(NLL, fn, "out_nll", L, "log_probs", False)
    _disjoint(NLL, fn, "out_nll", A, "out_alpha", False)
    cdef const int64_t* pe = <const int64_t*>cnp.PyArray_DATA(E)
    cdef const int64_t* pil = <const int64_t*>cnp.PyArray_DATA(IL)
    cdef const int64_t* ptl = <const int64_t*>cnp.PyArray_DATA(TL)
    if cnp.PyArray_TYPE(L) == cnp.NPY_FLOAT:
        with nogil:
            _ctc_fwd(<const float*>cnp.PyArray_DATA(L), pe, pil, ptl,
                     <float*>cnp.PyArray_DATA(A), <float*>cnp.PyArray_DATA(NLL),
                     tmax, nb, c, lmax)
    else:
        with nogil:
            _ctc_fwd(<const double*>cnp.PyArray_DATA(L), pe, pil, ptl,
                     <double*>cnp.PyArray_DATA(A), <double*>cnp.PyArray_DATA(NLL),
                     tmax, nb, c, lmax)
    return out_nll


def ctc_loss_backward(log_probs, ext, input_lengths, target_lengths, nll, alpha, scale,
                      bint zero_infinity, out):
    """out = d(sum_n scale[n] * loss[n]) / d log_probs in PyTorch's form: exp(log_probs)
    minus the label occupancy on each sample's frames, zero past its input length; an
    infinite loss gives zeros (zero_infinity) or NaN on its frames."""
    cdef str fn = "ctc_loss_backward"
    cdef cnp.ndarray L = _arg(log_probs, fn, "log_probs", 3, None, None, False)
    cdef Py_ssize_t tmax = cnp.PyArray_DIM(L, 0), nb = cnp.PyArray_DIM(L, 1)
    cdef Py_ssize_t c = cnp.PyArray_DIM(L, 2)
    cdef cnp.ndarray E = _ctc_ints(ext, fn, "ext", 2, nb)
    cdef cnp.ndarray IL = _ctc_ints(input_lengths, fn, "input_lengths", 1, nb)
    cdef cnp.ndarray TL = _ctc_ints(target_lengths, fn, "target_lengths", 1, nb)
    cdef Py_ssize_t lmax = cnp.PyArray_DIM(E, 1)
    cdef cnp.ndarray NLL = _arg(nll, fn, "nll", 1, L, "log_probs", False)
    cdef cnp.ndarray A = _arg(alpha, fn, "alpha", 3, L, "log_probs", False)
    cdef cnp.ndarray S = _arg(scale, fn, "scale", 1, L, "log_probs", False)
    cdef cnp.ndarray O = _arg(out, fn, "out", 3, L, "log_probs", True)
    cdef int rc
    _dims1(NLL, fn, "nll", nb)
    _dims1(S, fn, "scale", nb)
    if (cnp.PyArray_DIM(A, 0) != tmax or cnp.PyArray_DIM(A, 1) != nb or
            cnp.PyArray_DIM(A, 2) != lmax):
        raise RuntimeError(f"{fn}: expected 'alpha' to have shape ({tmax}, {nb}, {lmax}), "
                           f"but got {_shape(A)}")
    _same_shape(O, fn, "out", L, "log_probs")
    _ctc_check(fn, L, E, IL, TL)
    for other, name in ((L, "log_probs"), (A, "alpha"), (NLL, "nll"), (S, "scale")):
        _disjoint(O, fn, "out", other, name, False)
    cdef const int64_t* pe = <const int64_t*>cnp.PyArray_DATA(E)
    cdef const int64_t* pil = <const int64_t*>cnp.PyArray_DATA(IL)
    cdef const int64_t* ptl = <const int64_t*>cnp.PyArray_DATA(TL)
    if cnp.PyArray_TYPE(L) == cnp.NPY_FLOAT:
        with nogil:
            rc = _ctc_bwd(<const float*>cnp.PyArray_DATA(L), pe, pil, ptl,
                          <const float*>cnp.PyArray_DATA(NLL),
                          <const float*>cnp.PyArray_DATA(A), <const float*>cnp.PyArray_DATA(S),
                          zero_infinity, <float*>cnp.PyArray_DATA(O), tmax, nb, c, lmax)
    else:
        with nogil:
            rc = _ctc_bwd(<const double*>cnp.PyArray_DATA(L), pe, pil, ptl,
                          <const double*>cnp.PyArray_DATA(NLL),
                          <const double*>cnp.PyArray_DATA(A),
                          <const double*>cnp.PyArray_DATA(S),
                          zero_infinity, <double*>cnp.PyArray_DATA(O), tmax, nb, c, lmax)
    if rc != 0:
        raise MemoryError(f"{fn}: could not allocate scratch memory")
    return out
