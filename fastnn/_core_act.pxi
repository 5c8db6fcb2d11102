# Elementwise activations over contiguous buffers; included by _core.pyx.


cdef void _relu_k(const floating* x, floating* out, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating v
    for i in range(n):
        v = x[i]
        # `v <= 0` is false for NaN, so NaN passes through as in torch.relu
        out[i] = 0 if v <= 0 else v


cdef void _relu(const floating* x, floating* out, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t chunks = _chunk_count(n)
    cdef Py_ssize_t per, c, lo, hi
    if chunks == 1:
        _relu_k(x, out, n)
        return
    per = _chunk_len(n, chunks)
    for c in prange(chunks, num_threads=_nthreads, schedule="static"):
        lo = c * per
        hi = min(n, lo + per)
        if hi > lo:
            _relu_k(x + lo, out + lo, hi - lo)


def relu_forward(x, out):
    """out = max(x, 0), NaN kept; out may be x itself."""
    cdef str fn = "relu_forward"
    cdef cnp.ndarray X = _arg(x, fn, "x", -1, None, None, False)
    cdef cnp.ndarray O = _arg(out, fn, "out", -1, X, "x", True)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(X)
    _same_shape(O, fn, "out", X, "x")
    _disjoint(O, fn, "out", X, "x", True)
    if cnp.PyArray_TYPE(X) == cnp.NPY_FLOAT:
        with nogil:
            _relu(<float*>cnp.PyArray_DATA(X), <float*>cnp.PyArray_DATA(O), n)
    else:
        with nogil:
            _relu(<double*>cnp.PyArray_DATA(X), <double*>cnp.PyArray_DATA(O), n)
    return out


def relu_backward(g, y, out):
    """out = g where y > 0 else 0 (torch's threshold_backward); out may be g itself."""
    cdef str fn = "relu_backward"
    cdef cnp.ndarray G = _arg(g, fn, "g", -1, None, None, False)
    cdef cnp.ndarray Y = _arg(y, fn, "y", -1, G, "g", False)
    cdef cnp.ndarray O = _arg(out, fn, "out", -1, G, "g", True)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(G)
    _same_shape(Y, fn, "y", G, "g")
    _same_shape(O, fn, "out", G, "g")
    _disjoint(O, fn, "out", G, "g", True)
    _disjoint(O, fn, "out", Y, "y", True)
    if cnp.PyArray_TYPE(G) == cnp.NPY_FLOAT:
        with nogil:
            _relu_back(<float*>cnp.PyArray_DATA(G), <float*>cnp.PyArray_DATA(Y),
                       <float*>cnp.PyArray_DATA(O), n)
    else:
        with nogil:
            _relu_back(<double*>cnp.PyArray_DATA(G), <double*>cnp.PyArray_DATA(Y),
                       <double*>cnp.PyArray_DATA(O), n)
    return out


cdef void _relu_back_k(const floating* g, const floating* y, floating* out,
                       Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating gi
    for i in range(n):
        # Unconditional load: a conditional one keeps gcc from vectorizing the loop.
        gi = g[i]
        out[i] = 0 if y[i] <= 0 else gi


cdef void _relu_back(const floating* g, const floating* y, floating* out,
                     Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t chunks = _chunk_count(n)
    cdef Py_ssize_t per, c, lo, hi
    if chunks == 1:
        _relu_back_k(g, y, out, n)
        return
    per = _chunk_len(n, chunks)
    for c in prange(chunks, num_threads=_nthreads, schedule="static"):
        lo = c * per
        hi = min(n, lo + per)
        if hi > lo:
            _relu_back_k(g + lo, y + lo, out + lo, hi - lo)
