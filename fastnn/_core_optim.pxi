# Fused optimizer updates; included by _core.pyx.
#
# Each kernel does in one pass what torch.optim's single-tensor path does in
# several tensor ops, keeping torch's operation order and rounding points:
# scalar hyper-parameters are rounded to the array dtype, as torch does for
# Python scalars.

from libc.math cimport pow as _real_pow


cdef inline void _sgd_body(floating* p, const floating* g, floating* buf, Py_ssize_t n,
                           floating sign, floating lr, floating mom, floating keep, floating wd,
                           bint use_wd, bint use_mom, bint first, bint nesterov) noexcept nogil:
    # Inlined with constant flags, so each caller gets a branch-free, vectorizable loop.
    cdef floating d, bi
    cdef Py_ssize_t i
    for i in range(n):
        d = sign * g[i]
        if use_wd:
            d = d + wd * p[i]
        if use_mom:
            if first:
                bi = d
            else:
                bi = mom * buf[i] + keep * d
            buf[i] = bi
            if nesterov:
                d = d + mom * bi
            else:
                d = bi
        p[i] = p[i] - lr * d


cdef void _sgd_k(floating* p, const floating* g, floating* buf, Py_ssize_t n, double lr_d,
                 double mom_d, double damp_d, double wd_d, bint nesterov, bint maximize,
                 bint first) noexcept nogil:
    cdef floating sign = -1 if maximize else 1
    cdef floating lr = <floating>lr_d
    cdef floating mom = <floating>mom_d
    cdef floating keep = <floating>(1.0 - damp_d)
    cdef floating wd = <floating>wd_d
    cdef bint w = wd_d != 0
    if mom_d == 0:
        if w:
            _sgd_body(p, g, buf, n, sign, lr, mom, keep, wd, True, False, False, False)
        else:
            _sgd_body(p, g, buf, n, sign, lr, mom, keep, wd, False, False, False, False)
    elif first:
        # The first step only copies into buf; Nesterov and weight decay still apply.
        if w and nesterov:
            _sgd_body(p, g, buf, n, sign, lr, mom, keep, wd, True, True, True, True)
        elif w:
            _sgd_body(p, g, buf, n, sign, lr, mom, keep, wd, True, True, True, False)
        elif nesterov:
            _sgd_body(p, g, buf, n, sign, lr, mom, keep, wd, False, True, True, True)
        else:
            _sgd_body(p, g, buf, n, sign, lr, mom, keep, wd, False, True, True, False)
    elif w and nesterov:
        _sgd_body(p, g, buf, n, sign, lr, mom, keep, wd, True, True, False, True)
    elif w:
        _sgd_body(p, g, buf, n, sign, lr, mom, keep, wd, True, True, False, False)
    elif nesterov:
        _sgd_body(p, g, buf, n, sign, lr, mom, keep, wd, False, True, False, True)
    else:
        _sgd_body(p, g, buf, n, sign, lr, mom, keep, wd, False, True, False, False)


cdef void _sgd(floating* p, const floating* g, floating* buf, Py_ssize_t n, double lr,
               double mom, double damp, double wd, bint nesterov, bint maximize,
               bint first) noexcept nogil:
    cdef Py_ssize_t chunks = _chunk_count(n)
    cdef Py_ssize_t per, c, lo, hi
    if chunks == 1:
        _sgd_k(p, g, buf, n, lr, mom, damp, wd, nesterov, maximize, first)
        return
    per = _chunk_len(n, chunks)
    for c in prange(chunks, num_threads=_nthreads, schedule="static"):
        lo = c * per
        hi = min(n, lo + per)
        if hi > lo:
            _sgd_k(p + lo, g + lo, buf + lo if buf != NULL else NULL, hi - lo, lr, mom, damp,
                   wd, nesterov, maximize, first)


def sgd_step(param, grad, buf, double lr, double momentum, double dampening,
             double weight_decay, bint nesterov, bint maximize, bint first_step):
    """p -= lr * d, d = (+/-)grad + wd*p through (Nesterov) momentum buf, as torch.optim.SGD."""
    cdef str fn = "sgd_step"
    cdef cnp.ndarray P = _arg(param, fn, "param", -1, None, None, True)
    cdef cnp.ndarray G = _arg(grad, fn, "grad", -1, P, "param", False)
    cdef cnp.ndarray Bf = None
    cdef Py_ssize_t n = cnp.PyArray_SIZE(P)
    cdef void* pp
    cdef void* pg
    cdef void *pbuf = NULL
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError(f"{fn}: Nesterov momentum requires a momentum and zero dampening")
    _same_shape(G, fn, "grad", P, "param")
    _disjoint(P, fn, "param", G, "grad", False)
    if momentum != 0:
        if buf is None:
            raise TypeError(f"{fn}: argument 'buf' must be a numpy.ndarray when momentum != 0, "
                            f"not NoneType")
        Bf = _arg(buf, fn, "buf", -1, P, "param", True)
        _same_shape(Bf, fn, "buf", P, "param")
        _disjoint(Bf, fn, "buf", P, "param", False)
        _disjoint(Bf, fn, "buf", G, "grad", False)
        pbuf = cnp.PyArray_DATA(Bf)
    pp, pg = cnp.PyArray_DATA(P), cnp.PyArray_DATA(G)
    if cnp.PyArray_TYPE(P) == cnp.NPY_FLOAT:
        with nogil:
            _sgd(<float*>pp, <float*>pg, <float*>pbuf, n, lr, momentum, dampening,
                 weight_decay, nesterov, maximize, first_step)
    else:
        with nogil:
            _sgd(<double*>pp, <double*>pg, <double*>pbuf, n, lr, momentum, dampening,
                 weight_decay, nesterov, maximize, first_step)
    return param


cdef inline void _adam_body(floating* p, const floating* g, floating* m, floating* v,
                            floating* vmax, Py_ssize_t n, floating sign, floating wd,
                            floating shrink, floating w1, floating w1c, floating b2, floating c2,
                            floating bc2_sqrt, floating eps, floating neg_step, bint coupled,
                            bint small_w1, bint ams) noexcept nogil:
    # Inlined with constant flags, so each caller gets a branch-free, vectorizable loop.
    # sign and shrink are 1 when unused: multiplying by 1 (or -1) is exact.
    cdef floating d, pi, mi, vi, vm, denom
    cdef Py_ssize_t i
    for i in range(n):
        d = sign * g[i]
        pi = p[i] * shrink
        if coupled:
            d = d + wd * pi
        mi = m[i]
        if small_w1:
            mi = mi + w1 * (d - mi)
        else:
            mi = d - (d - mi) * w1c
        m[i] = mi
        vi = v[i] * b2
        vi = vi + (c2 * d) * d
        v[i] = vi
        if ams:
            vm = vmax[i]
            # NaN in either operand propagates, as in torch.maximum.
            vm = vi if (vi > vm) | (vi != vi) else vm
            vmax[i] = vm
            vi = vm
        if floating is float:
            denom = sqrtf(vi) / bc2_sqrt + eps
        else:
            denom = sqrt(vi) / bc2_sqrt + eps
        p[i] = pi + (neg_step * mi) / denom


cdef void _adam_k(floating* p, const floating* g, floating* m, floating* v, floating* vmax,
                  Py_ssize_t n, double lr, double beta1, double beta2, double eps_d,
                  double wd_d, double step_size, double bc2_sqrt_d, bint maximize,
                  bint decoupled) noexcept nogil:
    # torch.lerp switches formula at weight 0.5 for accuracy; both branches kept.
    cdef floating w1 = <floating>(1.0 - beta1)
    cdef floating w1c = 1 - w1
    cdef bint small_w1 = (w1 if w1 >= 0 else -w1) < 0.5
    cdef bint coupled = wd_d != 0 and not decoupled
    cdef floating sign = -1 if maximize else 1
    cdef floating shrink = <floating>(1.0 - lr * wd_d) if (wd_d != 0 and decoupled) else 1
    cdef floating wd = <floating>wd_d
    cdef floating b2 = <floating>beta2
    cdef floating c2 = <floating>(1.0 - beta2)
    cdef floating bc2 = <floating>bc2_sqrt_d
    cdef floating eps = <floating>eps_d
    cdef floating ns = <floating>(-step_size)
    if vmax != NULL:
        if coupled:
            if small_w1:
                _adam_body(p, g, m, v, vmax, n, sign, wd, shrink, w1, w1c, b2, c2, bc2, eps, ns,
                           True, True, True)
            else:
                _adam_body(p, g, m, v, vmax, n, sign, wd, shrink, w1, w1c, b2, c2, bc2, eps, ns,
                           True, False, True)
        elif small_w1:
            _adam_body(p, g, m, v, vmax, n, sign, wd, shrink, w1, w1c, b2, c2, bc2, eps, ns,
                       False, True, True)
        else:
            _adam_body(p, g, m, v, vmax, n, sign, wd, shrink, w1, w1c, b2, c2, bc2, eps, ns,
                       False, False, True)
    elif coupled:
        if small_w1:
            _adam_body(p, g, m, v, vmax, n, sign, wd, shrink, w1, w1c, b2, c2, bc2, eps, ns,
                       True, True, False)
        else:
            _adam_body(p, g, m, v, vmax, n, sign, wd, shrink, w1, w1c, b2, c2, bc2, eps, ns,
                       True, False, False)
    elif small_w1:
        _adam_body(p, g, m, v, vmax, n, sign, wd, shrink, w1, w1c, b2, c2, bc2, eps, ns,
                   False, True, False)
    else:
        _adam_body(p, g, m, v, vmax, n, sign, wd, shrink, w1, w1c, b2, c2, bc2, eps, ns,
                   False, False, False)


cdef void _adam(floating* p, const floating* g, floating* m, floating* v, floating* vmax,
                Py_ssize_t n, double lr, double beta1, double beta2, double eps, double wd,
                double step_size, double bc2_sqrt, bint maximize, bint decoupled) noexcept nogil:
    cdef Py_ssize_t chunks = _chunk_count(n)
    cdef Py_ssize_t per, c, lo, hi
    if chunks == 1:
        _adam_k(p, g, m, v, vmax, n, lr, beta1, beta2, eps, wd, step_size, bc2_sqrt, maximize,
                decoupled)
        return
    per = _chunk_len(n, chunks)
    for c in prange(chunks, num_threads=_nthreads, schedule="static"):
        lo = c * per
        hi = min(n, lo + per)
        if hi > lo:
            _adam_k(p + lo, g + lo, m + lo, v + lo, vmax + lo if vmax != NULL else NULL,
                    hi - lo, lr, beta1, beta2, eps, wd, step_size, bc2_sqrt, maximize,
                    decoupled)


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, double lr, double beta1,
              double beta2, double eps, double weight_decay, step, bint amsgrad, bint maximize,
              bint decoupled):
    """Adam (AdamW if decoupled): p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)."""
    cdef str fn = "adam_step"
    cdef cnp.ndarray P = _arg(param, fn, "param", -1, None, None, True)
    cdef cnp.ndarray G = _arg(grad, fn, "grad", -1, P, "param", False)
    cdef cnp.ndarray M = _arg(exp_avg, fn, "exp_avg", -1, P, "param", True)
    cdef cnp.ndarray V = _arg(exp_avg_sq, fn, "exp_avg_sq", -1, P, "param", True)
    cdef cnp.ndarray VM = None
    cdef Py_ssize_t n = cnp.PyArray_SIZE(P)
    cdef double t, step_size, bc2_sqrt
    cdef void* pp
    cdef void* pg
    cdef void* pm
    cdef void* pv
    cdef void *pvm = NULL
    t = float(step)
    if not t >= 1:
        raise ValueError(f"{fn}: expected 'step' to count from 1, but got {step}")
    arrays = [(P, "param"), (G, "grad"), (M, "exp_avg"), (V, "exp_avg_sq")]
    if amsgrad:
        if max_exp_avg_sq is None:
            raise TypeError(f"{fn}: argument 'max_exp_avg_sq' must be a numpy.ndarray when "
                            f"amsgrad=True, not NoneType")
        VM = _arg(max_exp_avg_sq, fn, "max_exp_avg_sq", -1, P, "param", True)
        arrays.append((VM, "max_exp_avg_sq"))
        pvm = cnp.PyArray_DATA(VM)
    for i, (A, name) in enumerate(arrays):
        _same_shape(A, fn, name, P, "param")
        for B, other in arrays[:i]:
            _disjoint(A, fn, name, B, other, False)
    # real C pow, as Python computes these in torch.optim (Cython's ** on doubles is complex)
    step_size = lr / (1.0 - _real_pow(beta1, t))
    bc2_sqrt = _real_pow(1.0 - _real_pow(beta2, t), 0.5)
    pp, pg, pm, pv = (cnp.PyArray_DATA(P), cnp.PyArray_DATA(G), cnp.PyArray_DATA(M),
                      cnp.PyArray_DATA(V))
    if cnp.PyArray_TYPE(P) == cnp.NPY_FLOAT:
        with nogil:
            _adam(<float*>pp, <float*>pg, <float*>pm, <float*>pv, <float*>pvm, n, lr, beta1,
                  beta2, eps, weight_decay, step_size, bc2_sqrt, maximize, decoupled)
    else:
        with nogil:
            _adam(<double*>pp, <double*>pg, <double*>pm, <double*>pv, <double*>pvm, n, lr,
                  beta1, beta2, eps, weight_decay, step_size, bc2_sqrt, maximize, decoupled)
    return param
