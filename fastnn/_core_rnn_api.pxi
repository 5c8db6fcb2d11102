# The checked wrappers of the recurrent kernels in _core_rnn.pxi (which includes this
# file): every argument validated before the loop runs without the GIL.

# ---- checked wrappers

cdef int _rnn_mode(object mode) except -1:
    m = _RNN_MODES.get(mode)
    if m is None:
        raise ValueError(f"rnn kernels: unknown mode {mode!r}; expected one of "
                         f"{', '.join(_RNN_MODES)}")
    return m


cdef Py_ssize_t _rnn_sizes(object batch_sizes, str fn, Py_ssize_t B, _Rnn* r) except -1:
    """Validate the packed step sizes into ``r``; returns the total row count N."""
    cdef cnp.ndarray S
    cdef const int64_t* p
    cdef Py_ssize_t t, T, n = 0
    if not cnp.PyArray_Check(batch_sizes):
        raise TypeError(f"{fn}: argument 'batch_sizes' must be a numpy.ndarray, not "
                        f"{type(batch_sizes).__name__}")
    S = <cnp.ndarray>batch_sizes
    if cnp.PyArray_TYPE(S) != cnp.NPY_INT64 or cnp.PyArray_NDIM(S) != 1:
        raise TypeError(f"{fn}: expected 'batch_sizes' to be a 1-D int64 array, but got "
                        f"{S.ndim}-D {S.dtype}")
    _layout(S, fn, "batch_sizes", False)
    T = cnp.PyArray_DIM(S, 0)
    if T == 0:
        raise ValueError(f"{fn}: 'batch_sizes' is empty")
    p = <const int64_t*>cnp.PyArray_DATA(S)
    for t in range(T):
        if p[t] < 1 or p[t] > B or (t > 0 and p[t] > p[t - 1]):
            raise ValueError(f"{fn}: 'batch_sizes' must be non-increasing, each in [1, {B}], "
                             f"but got {batch_sizes.tolist()}")
        n += p[t]
    r.T, r.bsz = T, p
    return n


cdef cnp.ndarray _rnn_opt(object a, str fn, str name, bint need, cnp.ndarray ref,
                          Py_ssize_t d0, Py_ssize_t d1, bint out, void** ptr):
    """A 2-D (d0, d1) array of ref's dtype, or None where the mode does not use it; its data
    pointer goes to ``ptr``."""
    cdef cnp.ndarray arr
    ptr[0] = NULL
    if not need:
        return None
    if a is None:
        raise TypeError(f"{fn}: argument '{name}' is required for this mode, not None")
    arr = _arg(a, fn, name, 2, ref, "w_hh", out)
    _dims2(arr, fn, name, d0, d1)
    ptr[0] = cnp.PyArray_DATA(arr)
    return arr


cdef int _rnn_disjoint(str fn, list outs, list ins) except -1:
    for i, (O, oname) in enumerate(outs):
        for other, other_name in ins + outs[i + 1:]:
            _disjoint(O, fn, oname, other, other_name, False)
    return 0


cdef cnp.ndarray _rnn_weight(object w_hh, str fn, int m, _Rnn* r):
    cdef cnp.ndarray W = _arg(w_hh, fn, "w_hh", 2, None, None, False)
    r.mode, r.H = m, cnp.PyArray_DIM(W, 1)
    r.G = _RNN_GATES[m] * r.H
    _dims2(W, fn, "w_hh", r.G, r.H)
    if r.H == 0:  # BLAS rejects zero leading dimensions
        raise ValueError(f"{fn}: expected a hidden size of at least 1, but 'w_hh' has shape "
                         f"{_shape(W)}")
    r.w = cnp.PyArray_DATA(W)
    return W


def rnn_forward(mode, gi, w_hh, b_hh, batch_sizes, bint reverse, h, c, y, hp, cp, tc, act,
                tmp):
    """One layer and direction over packed steps: a_t = gi_t + h_{t-1} @ w_hh.T + b_hh, then
    the cell's gates; h (B, H) and c (LSTM) hold h0/c0 on entry and the final states on exit.

    Writes y (N, H) and the saved values: hp (N, H) every h_{t-1}; LSTM: act (N, 4H) gates
    [i, f, g, o], cp (N, H) c_{t-1}, tc (N, H) tanh(c_t); GRU: act (N, 4H) [r, z, n, hn] and
    the scratch tmp (B, 3H). Arrays a mode does not use may be None. ``reverse`` runs the
    steps last to first."""
    cdef str fn = "rnn_forward"
    cdef _Rnn r
    cdef int m = _rnn_mode(mode)
    cdef cnp.ndarray W = _rnn_weight(w_hh, fn, m, &r)
    cdef cnp.ndarray B_, Hs, GI
    cdef bint lstm = m == RNN_LSTM, gru = m == RNN_GRU
    r.reverse = reverse
    Hs = _arg(h, fn, "h", 2, W, "w_hh", True)
    _dims2(Hs, fn, "h", cnp.PyArray_DIM(Hs, 0), r.H)
    r.h = cnp.PyArray_DATA(Hs)
    r.N = _rnn_sizes(batch_sizes, fn, cnp.PyArray_DIM(Hs, 0), &r)
    GI = _rnn_opt(gi, fn, "gi", True, W, r.N, r.G, False, &r.gi)
    if b_hh is None:  # the kernels always add a bias: branch-free loops vectorize
        B_ = np.zeros(r.G, W.dtype)
    else:
        B_ = _arg(b_hh, fn, "b_hh", 1, W, "w_hh", False)
        _dims1(B_, fn, "b_hh", r.G)
    r.b = cnp.PyArray_DATA(B_)
    outs = [(Hs, "h"), (_rnn_opt(c, fn, "c", lstm, W, Hs.shape[0], r.H, True, &r.c), "c"),
            (_rnn_opt(y, fn, "y", True, W, r.N, r.H, True, &r.y), "y"),
            (_rnn_opt(hp, fn, "hp", True, W, r.N, r.H, True, &r.hp), "hp"),
            (_rnn_opt(cp, fn, "cp", lstm, W, r.N, r.H, True, &r.cp), "cp"),
            (_rnn_opt(tc, fn, "tc", lstm, W, r.N, r.H, True, &r.tc), "tc"),
            (_rnn_opt(act, fn, "act", lstm or gru, W, r.N, 4 * r.H, True, &r.act), "act"),
            (_rnn_opt(tmp, fn, "tmp", gru, W, Hs.shape[0], 3 * r.H, True, &r.tmp), "tmp")]
    _rnn_disjoint(fn, outs, [(GI, "gi"), (W, "w_hh"), (B_, "b_hh")])
    dest = outs[6][0] if lstm else (outs[7][0] if gru else outs[2][0])
    _run(&r, True, cnp.PyArray_TYPE(W) == cnp.NPY_FLOAT, [Hs, W, dest])
    return y


def rnn_backward(mode, w_hh, batch_sizes, bint reverse, y, hp, cp, tc, act, gy, dh, dc, dgi,
                 dgh):
    """Backpropagation through time of ``rnn_forward`` (same mode, sizes and saved arrays).

    y is read by the RNN modes only (None for LSTM and GRU); gy (N, H) is the grad of y or
    None; dh (B, H) and dc (LSTM) hold the grads of the final states on entry and those of
    h0/c0 on exit. Writes dgi (N, G*H), the grad of gi, and for GRU dgh (N, 3H), the grad of
    h_{t-1} @ w_hh.T + b_hh (for the others that is dgi)."""
    cdef str fn = "rnn_backward"
    cdef _Rnn r
    cdef int m = _rnn_mode(mode)
    cdef cnp.ndarray W = _rnn_weight(w_hh, fn, m, &r)
    cdef cnp.ndarray DH, DGI, DGH, GY
    cdef bint lstm = m == RNN_LSTM, gru = m == RNN_GRU
    r.reverse = reverse
    DH = _arg(dh, fn, "dh", 2, W, "w_hh", True)
    _dims2(DH, fn, "dh", cnp.PyArray_DIM(DH, 0), r.H)
    r.dh = cnp.PyArray_DATA(DH)
    r.N = _rnn_sizes(batch_sizes, fn, cnp.PyArray_DIM(DH, 0), &r)
    ins = [(W, "w_hh"), (_rnn_opt(y, fn, "y", not (lstm or gru), W, r.N, r.H, False, &r.y), "y"),
           (_rnn_opt(hp, fn, "hp", True, W, r.N, r.H, False, &r.hp), "hp"),
           (_rnn_opt(cp, fn, "cp", lstm, W, r.N, r.H, False, &r.cp), "cp"),
           (_rnn_opt(tc, fn, "tc", lstm, W, r.N, r.H, False, &r.tc), "tc"),
           (_rnn_opt(act, fn, "act", lstm or gru, W, r.N, 4 * r.H, False, &r.act), "act")]
    GY = _rnn_opt(gy, fn, "gy", gy is not None, W, r.N, r.H, False, &r.gy)
    if GY is None:
        GY = np.zeros((r.N, r.H), W.dtype)
        r.gy = cnp.PyArray_DATA(GY)
    ins.append((GY, "gy"))
    DGI = _rnn_opt(dgi, fn, "dgi", True, W, r.N, r.G, True, &r.dgi)
    DGH = _rnn_opt(dgh, fn, "dgh", gru, W, r.N, r.G, True, &r.dgh) if gru else DGI
    if not gru:
        r.dgh = r.dgi
    outs = [(DH, "dh"), (_rnn_opt(dc, fn, "dc", lstm, W, DH.shape[0], r.H, True, &r.dc), "dc"),
            (DGI, "dgi")] + ([(DGH, "dgh")] if gru else [])
    _rnn_disjoint(fn, outs, ins)
    _run(&r, False, cnp.PyArray_TYPE(W) == cnp.NPY_FLOAT, [DH, W, DGH])
    return dgi
