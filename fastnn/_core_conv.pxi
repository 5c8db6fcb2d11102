# im2col / col2im for 2-D convolutions; included by _core.pyx.
#
# Column layout (C*kh*kw, N, OH, OW): one row per (channel, kernel offset), every output
# position of every sample across. A group's rows are contiguous, the product with the
# weight is one GEMM per group, and each sample's block of a row is a run of OH*OW values,
# so reordering the product to (N, O, OH, OW) copies long runs. Padding is read as zeros
# and never materialized.


cdef inline void _col_span(Py_ssize_t ow, Py_ssize_t w, Py_ssize_t sw, Py_ssize_t start,
                           Py_ssize_t* lo, Py_ssize_t* hi) noexcept nogil:
    # Output columns j with 0 <= start + j*sw < w form the range [lo, hi).
    cdef Py_ssize_t a = 0, b = ow
    while a < ow and start + a * sw < 0:
        a += 1
    while b > a and start + (b - 1) * sw >= w:
        b -= 1
    lo[0] = a
    hi[0] = b


cdef void _im2col_channel(const floating* x, floating* cols, Py_ssize_t c, Py_ssize_t n,
                          Py_ssize_t ch, Py_ssize_t h, Py_ssize_t w, Py_ssize_t kh,
                          Py_ssize_t kw, Py_ssize_t oh, Py_ssize_t ow, Py_ssize_t sh,
                          Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh,
                          Py_ssize_t dw) noexcept nogil:
    cdef Py_ssize_t a, b, s, i, j, r, lo, hi, start
    cdef floating* dst
    cdef const floating* src
    for a in range(kh):
        for b in range(kw):
            start = b * dw - pw
            _col_span(ow, w, sw, start, &lo, &hi)
            dst = cols + ((c * kh + a) * kw + b) * n * oh * ow
            for s in range(n):
                for i in range(oh):
                    r = i * sh - ph + a * dh
                    if r < 0 or r >= h:
                        for j in range(ow):
                            dst[j] = 0
                    else:
                        src = x + ((s * ch + c) * h + r) * w + start
                        for j in range(lo):
                            dst[j] = 0
                        if sw == 1:
                            for j in range(lo, hi):
                                dst[j] = src[j]
                        else:
                            for j in range(lo, hi):
                                dst[j] = src[j * sw]
                        for j in range(hi, ow):
                            dst[j] = 0
                    dst += ow


cdef void _col2im_channel(const floating* cols, floating* gx, Py_ssize_t c, Py_ssize_t n,
                          Py_ssize_t ch, Py_ssize_t h, Py_ssize_t w, Py_ssize_t kh,
                          Py_ssize_t kw, Py_ssize_t oh, Py_ssize_t ow, Py_ssize_t sh,
                          Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh,
                          Py_ssize_t dw) noexcept nogil:
    # Adds channel c's rows into gx[:, c]; different channels never touch the same element.
    cdef Py_ssize_t a, b, s, i, j, r, lo, hi, start
    cdef const floating* src
    cdef floating* dst
    for s in range(n):
        dst = gx + (s * ch + c) * h * w
        for i in range(h * w):
            dst[i] = 0
    for a in range(kh):
        for b in range(kw):
            start = b * dw - pw
            _col_span(ow, w, sw, start, &lo, &hi)
            src = cols + ((c * kh + a) * kw + b) * n * oh * ow
            for s in range(n):
                for i in range(oh):
                    r = i * sh - ph + a * dh
                    if 0 <= r < h:
                        dst = gx + ((s * ch + c) * h + r) * w + start
                        if sw == 1:
                            for j in range(lo, hi):
                                dst[j] += src[j]
                        else:
                            for j in range(lo, hi):
                                dst[j * sw] += src[j]
                    src += ow


cdef void _im2col(const floating* src, floating* dst, Py_ssize_t n, Py_ssize_t ch,
                  Py_ssize_t h, Py_ssize_t w, Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t oh,
                  Py_ssize_t ow, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw,
                  Py_ssize_t dh, Py_ssize_t dw, bint backward) noexcept nogil:
    # forward: image src -> columns dst; backward: columns src -> image dst (col2im)
    cdef Py_ssize_t c
    if ch < 2 or _chunk_count(ch * kh * kw * n * oh * ow) == 1:
        for c in range(ch):
            if backward:
                _col2im_channel(src, dst, c, n, ch, h, w, kh, kw, oh, ow, sh, sw, ph, pw, dh,
                                dw)
            else:
                _im2col_channel(src, dst, c, n, ch, h, w, kh, kw, oh, ow, sh, sw, ph, pw, dh,
                                dw)
        return
    for c in prange(ch, num_threads=_nthreads, schedule="static"):
        if backward:
            _col2im_channel(src, dst, c, n, ch, h, w, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw)
        else:
            _im2col_channel(src, dst, c, n, ch, h, w, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw)


cdef object _conv_geometry(cnp.ndarray image, cnp.ndarray cols, str fn, str image_name,
                           int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw):
    """Validate the window arguments and the two arrays; returns (OH, OW)."""
    cdef Py_ssize_t h = cnp.PyArray_DIM(image, 2), w = cnp.PyArray_DIM(image, 3)
    cdef Py_ssize_t oh, ow
    if kh < 1 or kw < 1 or sh < 1 or sw < 1 or dh < 1 or dw < 1 or ph < 0 or pw < 0:
        raise ValueError(f"{fn}: kernel, stride and dilation must be positive and padding "
                         f"non-negative, got kernel ({kh}, {kw}), stride ({sh}, {sw}), "
                         f"padding ({ph}, {pw}), dilation ({dh}, {dw})")
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if h + 2 * ph < dh * (kh - 1) + 1 or w + 2 * pw < dw * (kw - 1) + 1:
        raise RuntimeError(f"{fn}: kernel extent ({dh * (kh - 1) + 1}, {dw * (kw - 1) + 1}) "
                           f"exceeds the padded input ({h + 2 * ph}, {w + 2 * pw})")
    expected = (cnp.PyArray_DIM(image, 1) * kh * kw, cnp.PyArray_DIM(image, 0), oh, ow)
    if _shape(cols) != expected:
        raise RuntimeError(f"{fn}: expected 'cols' of shape {expected} for '{image_name}' "
                           f"{_shape(image)}, but got {_shape(cols)}")
    return oh, ow


def im2col2d(x, cols, int kh, int kw, int sh=1, int sw=1, int ph=0, int pw=0, int dh=1,
             int dw=1):
    """cols[(c, a, b), n, i, j] = x[n, c, i*sh - ph + a*dh, j*sw - pw + b*dw] (0 outside x)."""
    cdef str fn = "im2col2d"
    cdef cnp.ndarray X = _arg(x, fn, "x", 4, None, None, False)
    cdef cnp.ndarray Cl = _arg(cols, fn, "cols", 4, X, "x", True)
    oh, ow = _conv_geometry(X, Cl, fn, "x", kh, kw, sh, sw, ph, pw, dh, dw)
    _disjoint(Cl, fn, "cols", X, "x", False)
    _conv_pass(X, Cl, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw, False)
    return cols


def col2im2d(cols, gx, int kh, int kw, int sh=1, int sw=1, int ph=0, int pw=0, int dh=1,
             int dw=1):
    """gx = 0, then gx[n, c, i*sh - ph + a*dh, j*sw - pw + b*dw] += cols[(c, a, b), n, i, j]."""
    cdef str fn = "col2im2d"
    cdef cnp.ndarray Cl = _arg(cols, fn, "cols", 4, None, None, False)
    cdef cnp.ndarray GX = _arg(gx, fn, "gx", 4, Cl, "cols", True)
    oh, ow = _conv_geometry(GX, Cl, fn, "gx", kh, kw, sh, sw, ph, pw, dh, dw)
    _disjoint(GX, fn, "gx", Cl, "cols", False)
    _conv_pass(GX, Cl, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw, True)
    return gx


cdef void _conv_pass(cnp.ndarray image, cnp.ndarray cols, Py_ssize_t kh, Py_ssize_t kw,
                     Py_ssize_t oh, Py_ssize_t ow, Py_ssize_t sh, Py_ssize_t sw,
                     Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh, Py_ssize_t dw,
                     bint backward):
    cdef Py_ssize_t n = cnp.PyArray_DIM(image, 0), ch = cnp.PyArray_DIM(image, 1)
    cdef Py_ssize_t h = cnp.PyArray_DIM(image, 2), w = cnp.PyArray_DIM(image, 3)
    cdef void* pi = cnp.PyArray_DATA(image)
    cdef void* pc = cnp.PyArray_DATA(cols)
    # forward reads the image and writes cols; backward reads cols and writes the image
    if cnp.PyArray_TYPE(image) == cnp.NPY_FLOAT:
        with nogil:
            if backward:
                _im2col(<float*>pc, <float*>pi, n, ch, h, w, kh, kw, oh, ow, sh, sw, ph, pw,
                        dh, dw, True)
            else:
                _im2col(<float*>pi, <float*>pc, n, ch, h, w, kh, kw, oh, ow, sh, sw, ph, pw,
                        dh, dw, False)
    else:
        with nogil:
            if backward:
                _im2col(<double*>pc, <double*>pi, n, ch, h, w, kh, kw, oh, ow, sh, sw, ph,
                        pw, dh, dw, True)
            else:
                _im2col(<double*>pi, <double*>pc, n, ch, h, w, kh, kw, oh, ow, sh, sw, ph,
                        pw, dh, dw, False)
