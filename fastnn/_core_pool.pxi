# Max pooling over 2-D planes: windows of kh x kw at strides sh x sw, no padding or dilation
# (the training-loop case; fastnn.nn.functional handles the others with strided numpy views).
# Included by _core.pyx.

cdef inline void _maxpool_window(const floating* plane, Py_ssize_t first, Py_ssize_t w,
                                 Py_ssize_t kh, Py_ssize_t kw, floating* y,
                                 int32_t* arg) noexcept nogil:
    cdef Py_ssize_t a, b, at, best_at = first
    cdef floating best = plane[first], v
    cdef bint take
    for a in range(kh):
        for b in range(kw):
            at = first + a * w + b
            v = plane[at]
            # the first maximum wins ties; a NaN always wins, the last one kept. Selects
            # rather than branches: random data would mispredict half the comparisons.
            take = (v > best) | (v != v)
            best = v if take else best
            best_at = at if take else best_at
    y[0] = best
    arg[0] = <int32_t>best_at


cdef void _maxpool_2x2_rows(const floating* plane, floating* y, int32_t* arg, Py_ssize_t w,
                            Py_ssize_t oh, Py_ssize_t ow) noexcept nogil:
    # The LeNet case, kernel 2 stride 2: the four candidates compared in a fixed order.
    cdef Py_ssize_t i, j, top
    cdef floating m, v
    cdef int32_t at
    cdef bint take
    for i in range(oh):
        top = 2 * i * w
        for j in range(ow):
            m = plane[top + 2 * j]
            at = <int32_t>(top + 2 * j)
            v = plane[top + 2 * j + 1]
            take = (v > m) | (v != v)
            m = v if take else m
            at = <int32_t>(top + 2 * j + 1) if take else at
            v = plane[top + w + 2 * j]
            take = (v > m) | (v != v)
            m = v if take else m
            at = <int32_t>(top + w + 2 * j) if take else at
            v = plane[top + w + 2 * j + 1]
            take = (v > m) | (v != v)
            m = v if take else m
            at = <int32_t>(top + w + 2 * j + 1) if take else at
            y[i * ow + j] = m
            arg[i * ow + j] = at


cdef void _maxpool_plane(const floating* plane, floating* y, int32_t* arg, Py_ssize_t w,
                         Py_ssize_t oh, Py_ssize_t ow, Py_ssize_t kh, Py_ssize_t kw,
                         Py_ssize_t sh, Py_ssize_t sw) noexcept nogil:
    cdef Py_ssize_t i, j
    if kh == 2 and kw == 2 and sh == 2 and sw == 2:
        _maxpool_2x2_rows(plane, y, arg, w, oh, ow)
        return
    for i in range(oh):
        for j in range(ow):
            _maxpool_window(plane, i * sh * w + j * sw, w, kh, kw, y + i * ow + j,
                            arg + i * ow + j)


cdef void _maxpool_planes(const floating* x, floating* y, int32_t* arg, Py_ssize_t planes,
                          Py_ssize_t h, Py_ssize_t w, Py_ssize_t oh, Py_ssize_t ow,
                          Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh,
                          Py_ssize_t sw) noexcept nogil:
    cdef Py_ssize_t p
    if _chunk_count(planes * h * w) == 1:
        for p in range(planes):
            _maxpool_plane(x + p * h * w, y + p * oh * ow, arg + p * oh * ow, w, oh, ow,
                           kh, kw, sh, sw)
        return
    for p in prange(planes, num_threads=_nthreads, schedule="static"):
        _maxpool_plane(x + p * h * w, y + p * oh * ow, arg + p * oh * ow, w, oh, ow,
                       kh, kw, sh, sw)


cdef void _maxpool_back_planes(const floating* g, const int32_t* arg, floating* gx,
                               Py_ssize_t planes, Py_ssize_t hw, Py_ssize_t ohw) noexcept nogil:
    cdef Py_ssize_t p, i
    for p in range(planes):
        for i in range(hw):
            gx[p * hw + i] = 0
        for i in range(ohw):
            gx[p * hw + arg[p * ohw + i]] += g[p * ohw + i]


def max_pool2d_forward(x, int kh, int kw, int sh, int sw):
    """(y, argmax): y[n, c, i, j] = max of x[n, c] over window (i, j); argmax is its flat
    position in the (H, W) plane (int32)."""
    cdef str fn = "max_pool2d_forward"
    cdef cnp.ndarray X = _arg(x, fn, "x", 4, None, None, False)
    cdef Py_ssize_t n = cnp.PyArray_DIM(X, 0), c = cnp.PyArray_DIM(X, 1)
    cdef Py_ssize_t h = cnp.PyArray_DIM(X, 2), w = cnp.PyArray_DIM(X, 3)
    cdef Py_ssize_t oh, ow
    cdef cnp.ndarray Y, A
    if kh < 1 or kw < 1 or sh < 1 or sw < 1:
        raise ValueError(f"{fn}: kernel and stride must be positive, got kernel ({kh}, {kw}) "
                         f"and stride ({sh}, {sw})")
    if kh > h or kw > w:
        raise RuntimeError(f"{fn}: kernel ({kh}, {kw}) is larger than the input plane "
                           f"({h}, {w})")
    if h * w >= 2 ** 31:
        raise ValueError(f"{fn}: planes of {h * w} elements exceed int32 indices")
    oh = (h - kh) // sh + 1
    ow = (w - kw) // sw + 1
    Y = np.empty((n, c, oh, ow), dtype=X.dtype)
    A = np.empty((n, c, oh, ow), dtype=np.int32)
    if cnp.PyArray_TYPE(X) == cnp.NPY_FLOAT:
        with nogil:
            _maxpool_planes(<float*>cnp.PyArray_DATA(X), <float*>cnp.PyArray_DATA(Y),
                            <int32_t*>cnp.PyArray_DATA(A), n * c, h, w, oh, ow, kh, kw, sh, sw)
    else:
        with nogil:
            _maxpool_planes(<double*>cnp.PyArray_DATA(X), <double*>cnp.PyArray_DATA(Y),
                            <int32_t*>cnp.PyArray_DATA(A), n * c, h, w, oh, ow, kh, kw, sh, sw)
    return Y, A


def max_pool2d_backward(g, argmax, gx):
    """gx = 0, then gx[n, c].flat[argmax[n, c, i, j]] += g[n, c, i, j]; returns gx."""
    cdef str fn = "max_pool2d_backward"
    cdef cnp.ndarray G = _arg(g, fn, "g", 4, None, None, False)
    cdef cnp.ndarray GX = _arg(gx, fn, "gx", 4, G, "g", True)
    cdef cnp.ndarray A
    cdef Py_ssize_t planes, hw, ohw, i
    cdef int32_t* pa
    if not cnp.PyArray_Check(argmax) or cnp.PyArray_TYPE(<cnp.ndarray>argmax) != cnp.NPY_INT32:
        raise TypeError(f"{fn}: 'argmax' must be an int32 numpy.ndarray")
    A = <cnp.ndarray>argmax
    _layout(A, fn, "argmax", False)
    if (<object>A).shape != (<object>G).shape:
        raise RuntimeError(f"{fn}: 'argmax' shape {_shape(A)} does not match 'g' {_shape(G)}")
    if cnp.PyArray_DIM(GX, 0) != cnp.PyArray_DIM(G, 0) or \
            cnp.PyArray_DIM(GX, 1) != cnp.PyArray_DIM(G, 1):
        raise RuntimeError(f"{fn}: 'gx' {_shape(GX)} and 'g' {_shape(G)} differ in batch or "
                           "channels")
    _disjoint(GX, fn, "gx", G, "g", False)
    planes = cnp.PyArray_DIM(G, 0) * cnp.PyArray_DIM(G, 1)
    hw = cnp.PyArray_DIM(GX, 2) * cnp.PyArray_DIM(GX, 3)
    ohw = cnp.PyArray_DIM(G, 2) * cnp.PyArray_DIM(G, 3)
    pa = <int32_t*>cnp.PyArray_DATA(A)
    for i in range(planes * ohw):   # checked once here so the nogil loop can trust them
        if pa[i] < 0 or pa[i] >= hw:
            raise IndexError(f"{fn}: argmax {pa[i]} is outside a plane of {hw} elements")
    if cnp.PyArray_TYPE(G) == cnp.NPY_FLOAT:
        with nogil:
            _maxpool_back_planes(<float*>cnp.PyArray_DATA(G), pa, <float*>cnp.PyArray_DATA(GX),
                                 planes, hw, ohw)
    else:
        with nogil:
            _maxpool_back_planes(<double*>cnp.PyArray_DATA(G), pa, <double*>cnp.PyArray_DATA(GX),
                                 planes, hw, ohw)
    return gx
