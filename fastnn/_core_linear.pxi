# Fully connected layer kernels; included by _core.pyx.

cdef enum:
    COL_BLOCK = 256    # columns summed together, kept in a stack buffer
    ROW_BLOCK = 128    # rows per partial sum, which bounds float32 rounding growth


cdef void _bias_act_rows(floating* out, const floating* b, Py_ssize_t n, Py_ssize_t m,
                         bint relu) noexcept nogil:
    """out[i, :] = act(out[i, :] + b) for n rows of width m; b may be NULL."""
    cdef Py_ssize_t i, j
    cdef floating v
    cdef floating* row
    for i in range(n):
        row = out + i * m
        if b != NULL and relu:
            for j in range(m):
                v = row[j] + b[j]
                # `v < 0` rather than `v > 0` so NaN passes through, as in torch.relu.
                row[j] = 0 if v < 0 else v
        elif b != NULL:
            for j in range(m):
                row[j] = row[j] + b[j]
        elif relu:
            for j in range(m):
                v = row[j]
                row[j] = 0 if v < 0 else v


cdef void _bias_act(floating* out, const floating* b, Py_ssize_t n, Py_ssize_t m,
                    bint relu) noexcept nogil:
    cdef Py_ssize_t chunks = _chunk_count(n * m)
    cdef Py_ssize_t per, c, lo, hi
    if chunks == 1 or n < 2:
        _bias_act_rows(out, b, n, m, relu)
        return
    per = (n + chunks - 1) // chunks
    for c in prange(chunks, num_threads=_nthreads, schedule="static"):
        lo = c * per
        hi = min(n, lo + per)
        if hi > lo:
            _bias_act_rows(out + lo * m, b, hi - lo, m, relu)


cdef void _colsum_cols(const floating* g, Py_ssize_t n, Py_ssize_t m, Py_ssize_t j0,
                       Py_ssize_t j1, floating* gb, bint acc) noexcept nogil:
    """gb[j] (+)= sum_i g[i, j] for j in [j0, j1), summed in blocks of rows."""
    cdef floating part[COL_BLOCK]
    cdef floating total[COL_BLOCK]
    cdef Py_ssize_t jb, w, i0, i1, i, j
    cdef const floating* row
    jb = j0
    while jb < j1:
        w = min(<Py_ssize_t>COL_BLOCK, j1 - jb)
        for j in range(w):
            total[j] = 0
        i0 = 0
        while i0 < n:
            i1 = min(n, i0 + ROW_BLOCK)
            for j in range(w):
                part[j] = 0
            for i in range(i0, i1):
                row = g + i * m + jb
                for j in range(w):
                    part[j] += row[j]
            for j in range(w):
                total[j] += part[j]
            i0 = i1
        if acc:
            for j in range(w):
                gb[jb + j] = gb[jb + j] + total[j]
        else:
            for j in range(w):
                gb[jb + j] = total[j]
        jb += w


cdef void _colsum(const floating* g, Py_ssize_t n, Py_ssize_t m, floating* gb,
                  bint acc) noexcept nogil:
    cdef Py_ssize_t chunks = _chunk_count(n * m)
    cdef Py_ssize_t per, c, lo, hi
    if m < 2 * COL_BLOCK:
        chunks = 1
    if chunks == 1:
        _colsum_cols(g, n, m, 0, m, gb, acc)
        return
    per = _chunk_len(m, chunks)
    for c in prange(chunks, num_threads=_nthreads, schedule="static"):
        lo = c * per
        hi = min(m, lo + per)
        if hi > lo:
            _colsum_cols(g, n, m, lo, hi, gb, acc)


cdef object _linear_fwd(object x, object w, object b, object out, bint relu, str fn):
    cdef cnp.ndarray X = _arg(x, fn, "x", 2, None, None, False)
    cdef cnp.ndarray W = _arg(w, fn, "w", 2, X, "x", False)
    cdef cnp.ndarray B = None
    cdef cnp.ndarray O
    cdef Py_ssize_t n = cnp.PyArray_DIM(X, 0), k = cnp.PyArray_DIM(X, 1)
    cdef Py_ssize_t m = cnp.PyArray_DIM(W, 0)
    cdef bint direct
    cdef void* pb = NULL
    if cnp.PyArray_DIM(W, 1) != k:
        raise RuntimeError(f"{fn}: mat1 and mat2 shapes cannot be multiplied "
                           f"({n}x{k} and {cnp.PyArray_DIM(W, 1)}x{m})")
    if b is not None:
        B = _arg(b, fn, "b", 1, X, "x", False)
        _dims1(B, fn, "b", m)
        pb = cnp.PyArray_DATA(B)
    O = _arg(out, fn, "out", 2, X, "x", True)
    _dims2(O, fn, "out", n, m)
    _disjoint(O, fn, "out", X, "x", False)
    _disjoint(O, fn, "out", W, "w", False)
    _disjoint(O, fn, "out", B, "b", False)
    direct = _gemm_ready(n, m, k)
    if not direct and n > 0 and m > 0 and k > 0:
        PyArray_MatrixProduct2(X, W.T, O)
    if cnp.PyArray_TYPE(X) == cnp.NPY_FLOAT:
        with nogil:
            _mm_into(False, True, n, m, k, <float*>cnp.PyArray_DATA(X),
                     <float*>cnp.PyArray_DATA(W), <float*>cnp.PyArray_DATA(O), False, direct)
            if pb != NULL or relu:
                _bias_act(<float*>cnp.PyArray_DATA(O), <float*>pb, n, m, relu)
    else:
        with nogil:
            _mm_into(False, True, n, m, k, <double*>cnp.PyArray_DATA(X),
                     <double*>cnp.PyArray_DATA(W), <double*>cnp.PyArray_DATA(O), False, direct)
            if pb != NULL or relu:
                _bias_act(<double*>cnp.PyArray_DATA(O), <double*>pb, n, m, relu)
    return out


def linear_forward(x, w, b, out):
    """out = x @ w.T + b; x (N, K), w (M, K), b (M,) or None, out (N, M); returns out."""
    return _linear_fwd(x, w, b, out, False, "linear_forward")


def linear_relu_forward(x, w, b, out):
    """out = max(x @ w.T + b, 0); shapes as in linear_forward; returns out."""
    return _linear_fwd(x, w, b, out, True, "linear_relu_forward")


def linear_backward(g, x, w, gx, gw, gb, bint accumulate_w=False, bint accumulate_b=False,
                    bint accumulate_x=False):
    """gx (+)= g @ w, gw (+)= g.T @ x, gb (+)= g.sum(0); None skips an output; returns all three."""
    cdef str fn = "linear_backward"
    cdef cnp.ndarray G = _arg(g, fn, "g", 2, None, None, False)
    cdef cnp.ndarray X = _arg(x, fn, "x", 2, G, "g", False)
    cdef cnp.ndarray W = _arg(w, fn, "w", 2, G, "g", False)
    cdef cnp.ndarray GX = None, GW = None, GB = None
    cdef Py_ssize_t n = cnp.PyArray_DIM(G, 0), m = cnp.PyArray_DIM(G, 1)
    cdef Py_ssize_t k = cnp.PyArray_DIM(X, 1)
    cdef bint direct
    cdef void* pg
    cdef void* px
    cdef void* pw
    cdef void *pgx = NULL
    cdef void *pgw = NULL
    cdef void *pgb = NULL
    if cnp.PyArray_DIM(X, 0) != n:
        raise RuntimeError(f"{fn}: expected 'x' to have {n} rows like 'g' {_shape(G)}, "
                           f"but got shape {_shape(X)}")
    if cnp.PyArray_DIM(W, 0) != m or cnp.PyArray_DIM(W, 1) != k:
        raise RuntimeError(f"{fn}: expected 'w' to have shape ({m}, {k}) to match 'g' "
                           f"{_shape(G)} and 'x' {_shape(X)}, but got {_shape(W)}")
    if gx is not None:
        GX = _arg(gx, fn, "gx", 2, G, "g", True)
        _dims2(GX, fn, "gx", n, k)
        pgx = cnp.PyArray_DATA(GX)
    if gw is not None:
        GW = _arg(gw, fn, "gw", 2, G, "g", True)
        _dims2(GW, fn, "gw", m, k)
        pgw = cnp.PyArray_DATA(GW)
    if gb is not None:
        GB = _arg(gb, fn, "gb", 1, G, "g", True)
        _dims1(GB, fn, "gb", m)
        pgb = cnp.PyArray_DATA(GB)
    for O, oname in ((GX, "gx"), (GW, "gw"), (GB, "gb")):
        if O is not None:
            _disjoint(O, fn, oname, G, "g", False)
            _disjoint(O, fn, oname, X, "x", False)
            _disjoint(O, fn, oname, W, "w", False)
    _disjoint(GX, fn, "gx", GW, "gw", False)
    _disjoint(GX, fn, "gx", GB, "gb", False)
    _disjoint(GW, fn, "gw", GB, "gb", False)
    direct = _gemm_ready(max(n, m), k, max(n, m))
    if not direct:
        if GX is not None and n > 0 and k > 0 and m > 0:
            _np_mm_into(G, W, GX, accumulate_x)
        if GW is not None and m > 0 and k > 0 and n > 0:
            _np_mm_into(G.T, X, GW, accumulate_w)
    pg, px, pw = cnp.PyArray_DATA(G), cnp.PyArray_DATA(X), cnp.PyArray_DATA(W)
    if cnp.PyArray_TYPE(G) == cnp.NPY_FLOAT:
        with nogil:
            if pgx != NULL:
                _mm_into(False, False, n, k, m, <float*>pg, <float*>pw, <float*>pgx,
                         accumulate_x, direct)
            if pgw != NULL:
                _mm_into(True, False, m, k, n, <float*>pg, <float*>px, <float*>pgw,
                         accumulate_w, direct)
            if pgb != NULL:
                _colsum(<float*>pg, n, m, <float*>pgb, accumulate_b)
    else:
        with nogil:
            if pgx != NULL:
                _mm_into(False, False, n, k, m, <double*>pg, <double*>pw, <double*>pgx,
                         accumulate_x, direct)
            if pgw != NULL:
                _mm_into(True, False, m, k, n, <double*>pg, <double*>px, <double*>pgw,
                         accumulate_w, direct)
            if pgb != NULL:
                _colsum(<double*>pg, n, m, <double*>pgb, accumulate_b)
    return gx, gw, gb


cdef cnp.ndarray _operand(object a, str fn, str name, cnp.ndarray ref, bint* trans):
    """A 2-D gemm operand: C-contiguous as is, or F-contiguous read as a transposed C array."""
    cdef cnp.ndarray arr
    if cnp.PyArray_Check(a) and cnp.PyArray_NDIM(<cnp.ndarray>a) == 2 and \
            not cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>a) and \
            cnp.PyArray_IS_F_CONTIGUOUS(<cnp.ndarray>a):
        trans[0] = True
        return _arg((<cnp.ndarray>a).T, fn, name, 2, ref, "a", False)
    trans[0] = False
    return _arg(a, fn, name, 2, ref, "a", False)


def matmul_into(a, b, out, bint accumulate=False):
    """out (+)= a @ b for 2-D a (M, K), b (K, N), each C- or F-contiguous; out (M, N) C-contiguous."""
    cdef str fn = "matmul_into"
    cdef bint ta = False, tb = False
    cdef cnp.ndarray A = _operand(a, fn, "a", None, &ta)
    cdef cnp.ndarray B = _operand(b, fn, "b", A, &tb)
    cdef cnp.ndarray O = _arg(out, fn, "out", 2, A, "a", True)
    cdef Py_ssize_t m = (<object>a).shape[0], k = (<object>a).shape[1]
    cdef Py_ssize_t n = (<object>b).shape[1]
    cdef bint direct
    if (<object>b).shape[0] != k:
        raise RuntimeError(f"{fn}: mat1 and mat2 shapes cannot be multiplied "
                           f"({m}x{k} and {(<object>b).shape[0]}x{n})")
    _dims2(O, fn, "out", m, n)
    _disjoint(O, fn, "out", A, "a", False)
    _disjoint(O, fn, "out", B, "b", False)
    direct = _gemm_ready(m, n, k)
    if not direct:
        if m > 0 and n > 0 and k > 0:
            _np_mm_into(a, b, O, accumulate)
        elif not accumulate:
            O.fill(0)
        return out
    if cnp.PyArray_TYPE(A) == cnp.NPY_FLOAT:
        with nogil:
            _mm_into(ta, tb, m, n, k, <float*>cnp.PyArray_DATA(A), <float*>cnp.PyArray_DATA(B),
                     <float*>cnp.PyArray_DATA(O), accumulate, True)
    else:
        with nogil:
            _mm_into(ta, tb, m, n, k, <double*>cnp.PyArray_DATA(A),
                     <double*>cnp.PyArray_DATA(B), <double*>cnp.PyArray_DATA(O), accumulate, True)
    return out
