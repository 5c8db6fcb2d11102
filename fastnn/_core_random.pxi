# Random initializers drawing from numpy bit generators; included by _core.pyx.
#
# The draws match numpy.random.Generator on the same bit generator state:
# float64 uniform_ equals Generator.uniform, float32 uniform_ equals
# low + (high - low) * Generator.random(dtype=float32), and normal_ uses
# numpy's ziggurat as Generator.standard_normal does.


cdef bitgen_t* _bitgen_ptr(object bitgen, str fn) except NULL:
    capsule = getattr(bitgen, "capsule", None)
    if capsule is None or not PyCapsule_IsValid(capsule, "BitGenerator"):
        raise TypeError(f"{fn}: argument 'bitgen' must be a numpy.random.BitGenerator or "
                        f"Generator, not {type(bitgen).__name__}")
    return <bitgen_t*>PyCapsule_GetPointer(capsule, "BitGenerator")


cdef void _uniform_k(floating* out, Py_ssize_t n, double low, double high,
                     bitgen_t* rng) noexcept nogil:
    cdef floating lo = <floating>low
    cdef floating span = <floating>(high - low)
    cdef float to_unit = 1.0 / 16777216.0
    cdef float u
    cdef Py_ssize_t i
    if floating is float:
        for i in range(n):
            # The top 24 bits fill a float mantissa exactly, as numpy's next_float does.
            u = <float>(rng.next_uint32(rng.state) >> 8) * to_unit
            out[i] = lo + span * u
    else:
        for i in range(n):
            out[i] = lo + span * rng.next_double(rng.state)


cdef void _normal_k(floating* out, Py_ssize_t n, double mean, double std,
                    bitgen_t* rng) noexcept nogil:
    cdef floating mu = <floating>mean
    cdef floating sigma = <floating>std
    cdef Py_ssize_t i
    if floating is float:
        for i in range(n):
            out[i] = mu + sigma * random_standard_normal_f(rng)
    else:
        for i in range(n):
            out[i] = mu + sigma * random_standard_normal(rng)


cdef object _fill(object out, double a, double b, object bitgen, bint normal, str fn):
    cdef cnp.ndarray O = _arg(out, fn, "out", -1, None, None, True)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(O)
    cdef void* po = cnp.PyArray_DATA(O)
    cdef bint single = cnp.PyArray_TYPE(O) == cnp.NPY_FLOAT
    cdef bitgen_t* rng
    if isinstance(bitgen, np.random.Generator):
        bitgen = bitgen.bit_generator
    rng = _bitgen_ptr(bitgen, fn)
    with bitgen.lock:
        with nogil:
            if single:
                if normal:
                    _normal_k(<float*>po, n, a, b, rng)
                else:
                    _uniform_k(<float*>po, n, a, b, rng)
            else:
                if normal:
                    _normal_k(<double*>po, n, a, b, rng)
                else:
                    _uniform_k(<double*>po, n, a, b, rng)
    return out


def uniform_(out, double low, double high, bitgen):
    """out[...] = low + (high - low) * U[0, 1), drawn from a numpy BitGenerator; returns out."""
    if not low <= high:
        raise RuntimeError(f"uniform_: expects to return a [from, to) range, but found "
                           f"from={low} > to={high}")
    return _fill(out, low, high, bitgen, False, "uniform_")


def normal_(out, double mean, double std, bitgen):
    """out[...] = mean + std * N(0, 1), drawn from a numpy BitGenerator; returns out."""
    if not std >= 0:
        raise RuntimeError(f"normal_: normal expects std >= 0.0, but found std {std}")
    return _fill(out, mean, std, bitgen, True, "normal_")
