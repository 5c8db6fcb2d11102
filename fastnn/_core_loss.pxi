# Softmax cross-entropy kernels; included by _core.pyx.


cdef cnp.ndarray _targets(object target, str fn, Py_ssize_t n, Py_ssize_t c):
    """Check class indices: 1-D int64 of length n, every value in [0, c)."""
    cdef cnp.ndarray T
    cdef const int64_t* t
    cdef Py_ssize_t i
    if not cnp.PyArray_Check(target):
        raise TypeError(f"{fn}: argument 'target' must be a numpy.ndarray, "
                        f"not {type(target).__name__}")
    T = <cnp.ndarray>target
    if cnp.PyArray_TYPE(T) != cnp.NPY_INT64:
        raise TypeError(f"{fn}: expected 'target' to have dtype int64 (class indices), "
                        f"but got {T.dtype}")
    if cnp.PyArray_NDIM(T) != 1:
        raise RuntimeError(f"{fn}: expected 'target' to be a 1-D array, but got "
                           f"{T.ndim}-D with shape {_shape(T)}")
    _layout(T, fn, "target", False)
    _dims1(T, fn, "target", n)
    t = <const int64_t*>cnp.PyArray_DATA(T)
    for i in range(n):
        if t[i] < 0 or t[i] >= c:
            raise IndexError(f"Target {t[i]} is out of bounds.")
    return T


cdef void _log_softmax_rows(const floating* x, const int64_t* t, floating* lp, floating* nll,
                            Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t c) noexcept nogil:
    """lp = x - max - log(sum(exp(x - max))) per row, nll[i] = -lp[i, t[i]]."""
    cdef Py_ssize_t i, j
    cdef const floating* row
    cdef floating* orow
    cdef floating mx, lse
    cdef double s
    for i in range(lo, hi):
        row = x + i * c
        orow = lp + i * c
        mx = row[0]
        for j in range(1, c):
            if row[j] > mx:
                mx = row[j]
        # Sum in double: for float32 this costs nothing and keeps wide rows accurate.
        s = 0
        if floating is float:
            for j in range(c):
                s += expf(row[j] - mx)
        else:
            for j in range(c):
                s += exp(row[j] - mx)
        lse = <floating>log(s)
        # Written in a last, separate pass so lp may be x itself.
        for j in range(c):
            orow[j] = (row[j] - mx) - lse
        nll[i] = -orow[t[i]]


cdef void _ce_back_rows(const floating* lp, const int64_t* t, const floating* scale,
                        floating s0, floating* out, Py_ssize_t lo, Py_ssize_t hi,
                        Py_ssize_t c) noexcept nogil:
    """out = (exp(lp) - onehot(t)) * scale per row; scale NULL means s0 for every row."""
    cdef Py_ssize_t i, j
    cdef const floating* row
    cdef floating* orow
    cdef floating si, pt
    for i in range(lo, hi):
        row = lp + i * c
        orow = out + i * c
        si = scale[i] if scale != NULL else s0
        # Read before the row is overwritten, which happens when out is lp.
        pt = row[t[i]]
        if floating is float:
            for j in range(c):
                orow[j] = expf(row[j]) * si
            orow[t[i]] = (expf(pt) - 1) * si
        else:
            for j in range(c):
                orow[j] = exp(row[j]) * si
            orow[t[i]] = (exp(pt) - 1) * si


cdef void _ce_fwd(const floating* x, const int64_t* t, floating* lp, floating* nll,
                  Py_ssize_t n, Py_ssize_t c) noexcept nogil:
    cdef Py_ssize_t chunks = _chunk_count(n * c)
    cdef Py_ssize_t per, k, lo, hi
    if chunks == 1 or n < 2:
        _log_softmax_rows(x, t, lp, nll, 0, n, c)
        return
    per = (n + chunks - 1) // chunks
    for k in prange(chunks, num_threads=_nthreads, schedule="static"):
        lo = k * per
        hi = min(n, lo + per)
        if hi > lo:
            _log_softmax_rows(x, t, lp, nll, lo, hi, c)


cdef void _ce_back(const floating* lp, const int64_t* t, const floating* scale, floating s0,
                   floating* out, Py_ssize_t n, Py_ssize_t c) noexcept nogil:
    cdef Py_ssize_t chunks = _chunk_count(n * c)
    cdef Py_ssize_t per, k, lo, hi
    if chunks == 1 or n < 2:
        _ce_back_rows(lp, t, scale, s0, out, 0, n, c)
        return
    per = (n + chunks - 1) // chunks
    for k in prange(chunks, num_threads=_nthreads, schedule="static"):
        lo = k * per
        hi = min(n, lo + per)
        if hi > lo:
            _ce_back_rows(lp, t, scale, s0, out, lo, hi, c)


def cross_entropy_forward(logits, target, out_logprobs):
    """out_logprobs = log_softmax(logits, 1); returns nll[i] = -out_logprobs[i, target[i]]."""
    cdef str fn = "cross_entropy_forward"
    cdef cnp.ndarray X = _arg(logits, fn, "logits", 2, None, None, False)
    cdef Py_ssize_t n = cnp.PyArray_DIM(X, 0), c = cnp.PyArray_DIM(X, 1)
    cdef cnp.ndarray T = _targets(target, fn, n, c)
    cdef cnp.ndarray O = _arg(out_logprobs, fn, "out_logprobs", 2, X, "logits", True)
    cdef cnp.ndarray NLL
    cdef cnp.npy_intp dims[1]
    _dims2(O, fn, "out_logprobs", n, c)
    _disjoint(O, fn, "out_logprobs", X, "logits", True)
    _disjoint(O, fn, "out_logprobs", T, "target", False)
    dims[0] = n
    NLL = cnp.PyArray_EMPTY(1, dims, cnp.PyArray_TYPE(X), 0)
    if cnp.PyArray_TYPE(X) == cnp.NPY_FLOAT:
        with nogil:
            _ce_fwd(<float*>cnp.PyArray_DATA(X), <int64_t*>cnp.PyArray_DATA(T),
                    <float*>cnp.PyArray_DATA(O), <float*>cnp.PyArray_DATA(NLL), n, c)
    else:
        with nogil:
            _ce_fwd(<double*>cnp.PyArray_DATA(X), <int64_t*>cnp.PyArray_DATA(T),
                    <double*>cnp.PyArray_DATA(O), <double*>cnp.PyArray_DATA(NLL), n, c)
    return NLL


def cross_entropy_backward(logprobs, target, grad_scale, out):
    """out = (exp(logprobs) - onehot(target)) * grad_scale[:, None]; out may be logprobs.

    ``grad_scale`` is a 1-D per-row weight array, or a Python number applied to every row.
    """
    cdef str fn = "cross_entropy_backward"
    cdef cnp.ndarray L = _arg(logprobs, fn, "logprobs", 2, None, None, False)
    cdef Py_ssize_t n = cnp.PyArray_DIM(L, 0), c = cnp.PyArray_DIM(L, 1)
    cdef cnp.ndarray T = _targets(target, fn, n, c)
    cdef cnp.ndarray S = None
    cdef cnp.ndarray O = _arg(out, fn, "out", 2, L, "logprobs", True)
    cdef double s0 = 0
    cdef void* ps = NULL
    if isinstance(grad_scale, (int, float)) and not isinstance(grad_scale, bool):
        s0 = grad_scale
    else:
        S = _arg(grad_scale, fn, "grad_scale", 1, L, "logprobs", False)
        _dims1(S, fn, "grad_scale", n)
        ps = cnp.PyArray_DATA(S)
    _dims2(O, fn, "out", n, c)
    _disjoint(O, fn, "out", L, "logprobs", True)
    _disjoint(O, fn, "out", T, "target", False)
    _disjoint(O, fn, "out", S, "grad_scale", False)
    if cnp.PyArray_TYPE(L) == cnp.NPY_FLOAT:
        with nogil:
            _ce_back(<float*>cnp.PyArray_DATA(L), <int64_t*>cnp.PyArray_DATA(T), <float*>ps,
                     <float>s0, <float*>cnp.PyArray_DATA(O), n, c)
    else:
        with nogil:
            _ce_back(<double*>cnp.PyArray_DATA(L), <int64_t*>cnp.PyArray_DATA(T), <double*>ps,
                     <double>s0, <double*>cnp.PyArray_DATA(O), n, c)
    return out


# The training-loop case of F.cross_entropy (class targets, mean): forward keeps softmax
# probabilities rather than log-probabilities, so backward is one multiply-add per element
# with no exp, and the mean loss comes back from the kernel as a 0-d array.

cdef void _softmax_nll_rows(const floating* x, const int64_t* t, floating* p, double* nll,
                            Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t c) noexcept nogil:
    """p = softmax(x) per row, nll[i] = log(sum(exp(x[i] - max))) - (x[i, t[i]] - max)."""
    cdef Py_ssize_t i, j
    cdef const floating* row
    cdef floating* orow
    cdef floating mx, xt, e
    cdef double s, inv
    for i in range(lo, hi):
        row = x + i * c
        orow = p + i * c
        xt = row[t[i]]      # read first: p may be x itself
        mx = row[0]
        for j in range(1, c):
            if row[j] > mx:
                mx = row[j]
        s = 0
        for j in range(c):
            if floating is float:
                e = expf(row[j] - mx)
            else:
                e = exp(row[j] - mx)
            orow[j] = e
            s += e
        inv = 1.0 / s
        for j in range(c):
            orow[j] = <floating>(orow[j] * inv)
        nll[i] = log(s) - <double>(xt - mx)


cdef void _softmax_grad_rows(const floating* p, const int64_t* t, floating s0, floating* out,
                             Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t c) noexcept nogil:
    """out = (p - onehot(t)) * s0 per row."""
    cdef Py_ssize_t i, j
    cdef const floating* row
    cdef floating* orow
    cdef floating pt
    for i in range(lo, hi):
        row = p + i * c
        orow = out + i * c
        pt = row[t[i]]      # read first: out may be p itself
        for j in range(c):
            orow[j] = row[j] * s0
        orow[t[i]] = (pt - 1) * s0


cdef inline void _softmax_rows(const floating* a, const int64_t* t, floating* b, double* nll,
                               floating s0, Py_ssize_t lo, Py_ssize_t hi,
                               Py_ssize_t c) noexcept nogil:
    # forward when nll is given, backward otherwise
    if nll != NULL:
        _softmax_nll_rows(a, t, b, nll, lo, hi, c)
    else:
        _softmax_grad_rows(a, t, s0, b, lo, hi, c)


cdef void _softmax_rows_pass(const floating* a, const int64_t* t, floating* b, double* nll,
                             floating s0, Py_ssize_t n, Py_ssize_t c) noexcept nogil:
    cdef Py_ssize_t chunks = _chunk_count(n * c)
    cdef Py_ssize_t per, k, lo, hi
    if chunks == 1 or n < 2:
        _softmax_rows(a, t, b, nll, s0, 0, n, c)
        return
    per = (n + chunks - 1) // chunks
    for k in prange(chunks, num_threads=_nthreads, schedule="static"):
        lo = k * per
        hi = min(n, lo + per)
        if hi > lo:
            _softmax_rows(a, t, b, nll, s0, lo, hi, c)


def softmax_cross_entropy_forward(logits, target, out_probs):
    """out_probs = softmax(logits, 1); returns mean_i(-log_softmax(logits)[i, target[i]]) as a
    0-d array of the logits' dtype (rows summed in double)."""
    cdef str fn = "softmax_cross_entropy_forward"
    cdef cnp.ndarray X = _arg(logits, fn, "logits", 2, None, None, False)
    cdef Py_ssize_t n = cnp.PyArray_DIM(X, 0), c = cnp.PyArray_DIM(X, 1), i
    cdef cnp.ndarray T = _targets(target, fn, n, c)
    cdef cnp.ndarray P = _arg(out_probs, fn, "out_probs", 2, X, "logits", True)
    cdef cnp.ndarray NLL, LOSS
    cdef cnp.npy_intp dims[1]
    cdef double* nll
    cdef double total = 0
    _dims2(P, fn, "out_probs", n, c)
    _disjoint(P, fn, "out_probs", X, "logits", True)
    _disjoint(P, fn, "out_probs", T, "target", False)
    if n == 0:
        raise ValueError(f"{fn}: the mean over an empty batch is undefined")
    dims[0] = n
    NLL = cnp.PyArray_EMPTY(1, dims, cnp.NPY_DOUBLE, 0)
    nll = <double*>cnp.PyArray_DATA(NLL)
    if cnp.PyArray_TYPE(X) == cnp.NPY_FLOAT:
        with nogil:
            _softmax_rows_pass(<float*>cnp.PyArray_DATA(X), <int64_t*>cnp.PyArray_DATA(T),
                               <float*>cnp.PyArray_DATA(P), nll, 0, n, c)
    else:
        with nogil:
            _softmax_rows_pass(<double*>cnp.PyArray_DATA(X), <int64_t*>cnp.PyArray_DATA(T),
                               <double*>cnp.PyArray_DATA(P), nll, 0, n, c)
    for i in range(n):
        total += nll[i]
    LOSS = cnp.PyArray_EMPTY(0, dims, cnp.PyArray_TYPE(X), 0)
    if cnp.PyArray_TYPE(X) == cnp.NPY_FLOAT:
        (<float*>cnp.PyArray_DATA(LOSS))[0] = <float>(total / n)
    else:
        (<double*>cnp.PyArray_DATA(LOSS))[0] = total / n
    return LOSS


def softmax_cross_entropy_backward(probs, target, double grad_scale, out):
    """out = (probs - onehot(target)) * grad_scale; out may be probs; returns out."""
    cdef str fn = "softmax_cross_entropy_backward"
    cdef cnp.ndarray P = _arg(probs, fn, "probs", 2, None, None, False)
    cdef Py_ssize_t n = cnp.PyArray_DIM(P, 0), c = cnp.PyArray_DIM(P, 1)
    cdef cnp.ndarray T = _targets(target, fn, n, c)
    cdef cnp.ndarray O = _arg(out, fn, "out", 2, P, "probs", True)
    _dims2(O, fn, "out", n, c)
    _disjoint(O, fn, "out", P, "probs", True)
    _disjoint(O, fn, "out", T, "target", False)
    if cnp.PyArray_TYPE(P) == cnp.NPY_FLOAT:
        with nogil:
            _softmax_rows_pass(<float*>cnp.PyArray_DATA(P), <int64_t*>cnp.PyArray_DATA(T),
                               <float*>cnp.PyArray_DATA(O), NULL, <float>grad_scale, n, c)
    else:
        with nogil:
            _softmax_rows_pass(<double*>cnp.PyArray_DATA(P), <int64_t*>cnp.PyArray_DATA(T),
                               <double*>cnp.PyArray_DATA(O), NULL, grad_scale, n, c)
    return out
