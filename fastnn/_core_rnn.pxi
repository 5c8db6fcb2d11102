# Recurrent layer kernels: the time loop of one RNN/LSTM/GRU layer and direction over packed
# steps, forward and backpropagation through time; included by _core.pyx.
#
# Packed layout: step t owns rows [off_t, off_t + bs_t) of every (N, *) array, batch sizes
# non-increasing, so the rows alive at a step are always a prefix of the state buffers.
# Rows of finished sequences simply stop being updated, which keeps their final state.

from libc.math cimport tanh
from libc.string cimport memcpy

cdef enum:
    RNN_TANH = 0
    RNN_RELU = 1
    RNN_LSTM = 2
    RNN_GRU = 3

_RNN_MODES = {"RNN_TANH": RNN_TANH, "RNN_RELU": RNN_RELU, "LSTM": RNN_LSTM, "GRU": RNN_GRU}
_RNN_GATES = {RNN_TANH: 1, RNN_RELU: 1, RNN_LSTM: 4, RNN_GRU: 3}


cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    /* float32 exp, sigmoid and tanh that the compiler vectorizes (libm's expf and tanhf are
       opaque calls): Cody-Waite range reduction and Cephes' polynomials, within 2 ulp, NaN
       kept. Every select is on integers or an arithmetic blend: with a float select in the
       loop, GCC (without -fno-trapping-math) leaves it scalar. */
    static inline int32_t fastnn_fbits(float x) { int32_t i; memcpy(&i, &x, 4); return i; }
    static inline float fastnn_bitsf(int32_t i) { float x; memcpy(&x, &i, 4); return x; }
    static inline float fastnn_expf(float x) {
        int32_t xi = fastnn_fbits(x), ax = xi & 0x7fffffff, n;
        float s, r, p;
        /* |x| > 87 (not NaN) becomes +-87, so 2^n stays a normal float */
        xi = (ax > 0x42ae0000 && ax <= 0x7f800000) ?
             ((xi & (int32_t)0x80000000) | 0x42ae0000) : xi;
        x = fastnn_bitsf(xi);
        s = x * 1.44269504088896341f + 12582912.0f;
        n = fastnn_fbits(s) - 0x4b400000;  /* round(x / ln 2), in s's low mantissa bits */
        s = s - 12582912.0f;
        r = x - s * 0.693359375f;
        r = r + s * 2.12194440e-4f;
        p = (((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r +
             4.1665795894e-2f) * r + 1.6666665459e-1f;
        p = (p * r + 5.0000001201e-1f) * (r * r) + r + 1.0f;
        return p * fastnn_bitsf((n + 127) << 23);
    }
    static inline float fastnn_sigmoidf(float x) { return 1.0f / (1.0f + fastnn_expf(-x)); }
    static inline float fastnn_tanhf(float x) {
        /* |x| < 0.625: Cephes' odd polynomial; else sign(x) (1 - 2 / (exp(2|x|) + 1)); blended
           arithmetically (m is 0 or 1), with the polynomial's argument clamped to stay finite */
        int32_t xi = fastnn_fbits(x), sign = xi & (int32_t)0x80000000, ai = xi & 0x7fffffff;
        float m = (float)(ai < 0x3f200000), a = fastnn_bitsf(ai), big, z, p;
        float xs = fastnn_bitsf((ai < 0x3f200000 ? ai : 0x3f200000) | sign);
        z = xs * xs;
        p = (((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z +
             1.33314422036e-1f) * z - 3.33332819422e-1f;
        p = xs + xs * z * p;
        big = fastnn_bitsf(fastnn_fbits(1.0f - 2.0f / (fastnn_expf(2.0f * a) + 1.0f)) | sign);
        return m * p + (1.0f - m) * big;
    }

    /* The float32 gate loops are compiled again for AVX2 and AVX-512 where GCC can pick the
       widest at load time (glibc's ifunc). The arithmetic is the same in every version, no
       contraction into FMA and nothing reassociated, so each gives the same bits. */
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__)
    #define FASTNN_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
    #else
    #define FASTNN_SIMD_CLONES
    #endif
    FASTNN_SIMD_CLONES
    static void fastnn_gate_f(int kind, float* a, const float* gi, const float* b,
                              ptrdiff_t n) {
        ptrdiff_t j;
        if (kind == 0) {
            for (j = 0; j < n; j++) a[j] = fastnn_sigmoidf(gi[j] + (a[j] + b[j]));
        } else {
            for (j = 0; j < n; j++) a[j] = fastnn_tanhf(gi[j] + (a[j] + b[j]));
        }
    }
    FASTNN_SIMD_CLONES
    static void fastnn_tanh_f(float* out, const float* x, ptrdiff_t n) {
        ptrdiff_t j;
        for (j = 0; j < n; j++) out[j] = fastnn_tanhf(x[j]);
    }
    /* The LSTM gate gradients of rows [r0, r1), for float and double: restrict (every array
       is checked disjoint by rnn_backward) lets the compiler vectorize the three-output
       loop, which it leaves scalar otherwise. */
    #include <stddef.h>
    #if defined(_MSC_VER)
    #define FASTNN_RS __restrict
    #else
    #define FASTNN_RS restrict
    #endif
    #define FASTNN_LSTM_BWD_ROWS(T, NAME)                                                       \
    FASTNN_SIMD_CLONES                                                                          \
    static void NAME(const T* FASTNN_RS act, const T* FASTNN_RS cp, const T* FASTNN_RS tc,      \
                     const T* FASTNN_RS gy, T* FASTNN_RS dh, T* FASTNN_RS dc, T* FASTNN_RS da,  \
                     ptrdiff_t r0, ptrdiff_t r1, ptrdiff_t H) {                                 \
        ptrdiff_t r, j, G = 4 * H;                                                              \
        for (r = r0; r < r1; r++) {                                                             \
            const T* FASTNN_RS ar = act + r * G;                                                \
            const T* FASTNN_RS tr = tc + r * H;                                                 \
            const T* FASTNN_RS cpr = cp + r * H;                                                \
            const T* FASTNN_RS gyr = gy + r * H;                                                \
            T* FASTNN_RS dr = da + r * G;                                                       \
            T* FASTNN_RS dcr = dc + r * H;                                                      \
            T* FASTNN_RS dhr = dh + r * H;                                                      \
            for (j = 0; j < H; j++) dhr[j] = dhr[j] + gyr[j];                                   \
            for (j = 0; j < H; j++) {                                                           \
                T t = tr[j], vo = ar[3 * H + j];                                                \
                dr[3 * H + j] = dhr[j] * t * vo * (1 - vo);                                     \
                dcr[j] = dcr[j] + dhr[j] * vo * (1 - t * t);                                    \
            }                                                                                   \
            for (j = 0; j < H; j++) {                                                           \
                dr[j] = dcr[j] * ar[2 * H + j] * ar[j] * (1 - ar[j]);                           \
                dr[H + j] = dcr[j] * cpr[j] * ar[H + j] * (1 - ar[H + j]);                      \
                dr[2 * H + j] = dcr[j] * ar[j] * (1 - ar[2 * H + j] * ar[2 * H + j]);           \
            }                                                                                   \
            for (j = 0; j < H; j++) dcr[j] = dcr[j] * ar[H + j];                                \
        }                                                                                       \
    }
    FASTNN_LSTM_BWD_ROWS(float, fastnn_lstm_bwd_rows_f)
    FASTNN_LSTM_BWD_ROWS(double, fastnn_lstm_bwd_rows_d)

    """
    void fastnn_gate_f(int kind, float* a, const float* gi, const float* b,
                       Py_ssize_t n) noexcept nogil
    void fastnn_tanh_f(float* out, const float* x, Py_ssize_t n) noexcept nogil
    void fastnn_lstm_bwd_rows_f(const float* act, const float* cp, const float* tc,
                                const float* gy, float* dh, float* dc, float* da,
                                Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t H) noexcept nogil
    void fastnn_lstm_bwd_rows_d(const double* act, const double* cp, const double* tc,
                                const double* gy, double* dh, double* dc, double* da,
                                Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t H) noexcept nogil


# ---- one step's gate math; ``a`` holds h_prev @ w_hh.T for the step's rows

cdef inline void _copy(floating* dst, const floating* src, Py_ssize_t n) noexcept nogil:
    memcpy(dst, src, <size_t>n * sizeof(floating))


# Each loop touches few arrays: past a few possibly aliasing pointers GCC stops vectorizing.

cdef void _gate(int kind, floating* a, const floating* gi, const floating* b,
                Py_ssize_t n) noexcept nogil:
    """a = f(gi + (a + b)) for f sigmoid (0), tanh (1) or relu (2)."""
    cdef Py_ssize_t j
    cdef floating v
    if floating is float and kind < 2:
        fastnn_gate_f(kind, a, gi, b, n)
    elif kind == 0:  # float64 (float32 took the branch above)
        for j in range(n):
            a[j] = 1 / (1 + exp(-(gi[j] + (a[j] + b[j]))))
    elif kind == 1:
        for j in range(n):
            a[j] = tanh(gi[j] + (a[j] + b[j]))
    else:
        for j in range(n):
            v = gi[j] + (a[j] + b[j])
            a[j] = 0 if v < 0 else v


cdef void _tanh_into(floating* out, const floating* x, Py_ssize_t n) noexcept nogil:
    """out = tanh(x); out may be x."""
    cdef Py_ssize_t j
    if floating is float:
        fastnn_tanh_f(out, x, n)
    else:
        for j in range(n):
            out[j] = tanh(x[j])


cdef void _simple_fwd_rows(bint relu, floating* a, const floating* gi, const floating* b,
                           Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t H) noexcept nogil:
    """y = act(gi + a + b), written over a."""
    cdef Py_ssize_t r
    for r in range(r0, r1):
        _gate(2 if relu else 1, a + r * H, gi + r * H, b, H)


cdef void _lstm_fwd_rows(floating* a, const floating* gi, const floating* b, floating* h,
                         floating* c, floating* tc, Py_ssize_t r0, Py_ssize_t r1,
                         Py_ssize_t H) noexcept nogil:
    """a = [s(i), s(f), tanh(g), s(o)]; c' = f c + i g; h' = o tanh(c'); saves tanh(c')."""
    cdef Py_ssize_t r, j, G = 4 * H
    cdef floating* ar
    cdef floating* cr
    cdef floating* tr
    cdef floating* hr
    for r in range(r0, r1):
        ar = a + r * G
        _gate(0, ar, gi + r * G, b, 2 * H)
        _gate(1, ar + 2 * H, gi + r * G + 2 * H, b + 2 * H, H)
        _gate(0, ar + 3 * H, gi + r * G + 3 * H, b + 3 * H, H)
        cr, tr, hr = c + r * H, tc + r * H, h + r * H
        for j in range(H):
            cr[j] = ar[H + j] * cr[j] + ar[j] * ar[2 * H + j]
        _tanh_into(tr, cr, H)
        for j in range(H):
            hr[j] = ar[3 * H + j] * tr[j]


cdef void _gru_fwd_rows(const floating* a, const floating* gi, const floating* b, floating* h,
                        floating* act, Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t H) noexcept nogil:
    """r, z = s(gi + a + b); hn = a_n + b_n; n = tanh(gi_n + r hn); h' = n + z (h - n).
    act rows hold [r, z, n, hn]."""
    cdef Py_ssize_t r, j, G = 3 * H
    cdef const floating* ar
    cdef const floating* gr
    cdef floating* sr
    cdef floating* hr
    for r in range(r0, r1):
        ar, gr, sr, hr = a + r * G, gi + r * G, act + r * 4 * H, h + r * H
        _copy(sr, ar, 2 * H)
        _gate(0, sr, gr, b, 2 * H)
        for j in range(H):
            sr[3 * H + j] = ar[2 * H + j] + b[2 * H + j]
        for j in range(H):
            sr[2 * H + j] = gr[2 * H + j] + sr[j] * sr[3 * H + j]
        _tanh_into(sr + 2 * H, sr + 2 * H, H)
        for j in range(H):
            hr[j] = sr[2 * H + j] + sr[H + j] * (hr[j] - sr[2 * H + j])


# ---- one step's gate gradients; dh holds the gradient reaching the step's new state

cdef inline void _add_to(floating* dst, const floating* src, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t k
    for k in range(n):
        dst[k] = dst[k] + src[k]


cdef void _simple_bwd(bint relu, const floating* y, const floating* gy, floating* dh,
                      floating* da, Py_ssize_t n) noexcept nogil:
    """da = (dh + gy) * act'(y); dh is left holding dh + gy."""
    cdef Py_ssize_t k
    cdef floating v
    _add_to(dh, gy, n)
    if relu:  # a NaN output passes its gradient, as PyTorch's threshold backward does
        for k in range(n):
            da[k] = 0 if y[k] <= 0 else dh[k]
    else:
        for k in range(n):
            v = y[k]
            da[k] = dh[k] * (1 - v * v)


cdef inline void _lstm_bwd_rows(const floating* act, const floating* cp,
                                const floating* tc, const floating* gy, floating* dh,
                                floating* dc, floating* da, Py_ssize_t r0, Py_ssize_t r1,
                                Py_ssize_t H) noexcept nogil:
    """The gate gradients of rows [r0, r1) (fastnn_lstm_bwd_rows above)."""
    if floating is float:
        fastnn_lstm_bwd_rows_f(act, cp, tc, gy, dh, dc, da, r0, r1, H)
    else:
        fastnn_lstm_bwd_rows_d(act, cp, tc, gy, dh, dc, da, r0, r1, H)


cdef void _gru_bwd_rows(const floating* act, const floating* hp, const floating* gy,
                        floating* dh, floating* dgi, floating* dgh, Py_ssize_t r0,
                        Py_ssize_t r1, Py_ssize_t H) noexcept nogil:
    """Grads of the input gates (dgi) and of h_prev @ w_hh.T + b_hh (dgh); dh becomes the
    direct part dh * z of the grad of h_prev (the matrix part is added by the caller)."""
    cdef Py_ssize_t r, j, G = 3 * H
    cdef floating vz, vn, vr
    cdef const floating* sr
    cdef const floating* hpr
    cdef floating* gir
    cdef floating* ghr
    cdef floating* dhr
    for r in range(r0, r1):
        sr, hpr, dhr = act + r * 4 * H, hp + r * H, dh + r * H
        gir, ghr = dgi + r * G, dgh + r * G
        _add_to(dhr, gy + r * H, H)
        for j in range(H):
            vz, vn = sr[H + j], sr[2 * H + j]
            gir[2 * H + j] = dhr[j] * (1 - vz) * (1 - vn * vn)
            gir[H + j] = dhr[j] * (hpr[j] - vn) * vz * (1 - vz)
        for j in range(H):
            vr = sr[j]
            gir[j] = gir[2 * H + j] * sr[3 * H + j] * vr * (1 - vr)
            ghr[2 * H + j] = gir[2 * H + j] * vr
        _copy(ghr, gir, 2 * H)
        for j in range(H):
            dhr[j] = dhr[j] * sr[H + j]


# ---- the time loops

ctypedef void* _ptr_t


cdef struct _Rnn:
    # one layer and direction: sizes, step sizes and every array (NULL where unused)
    int mode
    bint reverse
    Py_ssize_t T, N, H, G
    const int64_t* bsz
    _ptr_t gi, w, b, h, c, y, hp, cp, tc, act, tmp, gy, dh, dc, dgi, dgh


cdef inline floating* _gates(_Rnn* r, Py_ssize_t off, floating* kind) noexcept nogil:
    """Where a forward step's h_prev @ w_hh.T goes (and its gate values stay)."""
    if r.mode == RNN_LSTM:
        return <floating*>r.act + off * r.G
    return <floating*>r.tmp if r.mode == RNN_GRU else <floating*>r.y + off * r.H


cdef void _gate_rows(_Rnn* r, bint forward, Py_ssize_t off, Py_ssize_t r0, Py_ssize_t r1,
                     floating* kind) noexcept nogil:
    """Rows [r0, r1) of a step's gate pass or of its gate gradients; rows are independent."""
    cdef Py_ssize_t H = r.H, G = r.G, oh = off * r.H
    cdef floating* gi = <floating*>r.gi + off * G
    cdef floating* dgi = <floating*>r.dgi + off * G
    cdef const floating* gy = <const floating*>r.gy + oh
    cdef floating* dh = <floating*>r.dh
    if forward and r.mode == RNN_LSTM:
        _lstm_fwd_rows(_gates(r, off, kind), gi, <floating*>r.b, <floating*>r.h,
                       <floating*>r.c, <floating*>r.tc + oh, r0, r1, H)
    elif forward and r.mode == RNN_GRU:
        _gru_fwd_rows(_gates(r, off, kind), gi, <floating*>r.b, <floating*>r.h,
                      <floating*>r.act + off * 4 * H, r0, r1, H)
    elif forward:
        _simple_fwd_rows(r.mode == RNN_RELU, _gates(r, off, kind), gi, <floating*>r.b,
                         r0, r1, H)
    elif r.mode == RNN_LSTM:
        _lstm_bwd_rows(<floating*>r.act + off * G, <floating*>r.cp + oh,
                       <floating*>r.tc + oh, gy, dh, <floating*>r.dc, dgi, r0, r1, H)
    elif r.mode == RNN_GRU:
        _gru_bwd_rows(<floating*>r.act + off * 4 * H, <floating*>r.hp + oh, gy, dh, dgi,
                      <floating*>r.dgh + off * G, r0, r1, H)
    else:
        _simple_bwd(r.mode == RNN_RELU, <floating*>r.y + oh + r0 * H, gy + r0 * H,
                    dh + r0 * H, dgi + r0 * H, (r1 - r0) * H)


cdef void _step(_Rnn* r, bint forward, Py_ssize_t off, Py_ssize_t bs, bint gemm,
                floating* kind) noexcept nogil:
    """One step of the forward pass (its GEMM, then the gates) or of backpropagation through
    time (the gate gradients, then dh_prev (+)= dgates @ w_hh); ``gemm`` False leaves the
    product to the caller. ``kind`` (a NULL pointer) only picks float or double. Large steps
    split their rows between threads."""
    cdef Py_ssize_t H = r.H, G = r.G, oh = off * r.H
    cdef Py_ssize_t chunks = _chunk_count(bs * G), per, k, lo
    cdef floating* h = <floating*>r.h
    cdef floating* a = _gates(r, off, kind)
    if forward:
        if gemm:
            _gemm(False, True, bs, G, H, <const floating*>h, <const floating*>r.w,
                  <floating>0, a)
        _copy(<floating*>r.hp + oh, h, bs * H)
        if r.mode == RNN_LSTM:
            _copy(<floating*>r.cp + oh, <floating*>r.c, bs * H)
    if chunks == 1:
        _gate_rows(r, forward, off, 0, bs, kind)
    else:
        per = (bs + chunks - 1) // chunks
        for k in prange((bs + per - 1) // per, num_threads=_nthreads, schedule="static"):
            lo = k * per
            _gate_rows(r, forward, off, lo, min(bs, lo + per), kind)
    if forward:  # LSTM and GRU rows updated h in place; the others wrote y
        if r.mode == RNN_LSTM or r.mode == RNN_GRU:
            _copy(<floating*>r.y + oh, h, bs * H)
        else:
            _copy(h, a, bs * H)
    elif gemm:  # GRU's kernel left the direct term dh * z in dh
        _gemm(False, False, bs, H, G, <const floating*>r.dgh + off * G, <const floating*>r.w,
              <floating>(1 if r.mode == RNN_GRU else 0), <floating*>r.dh)


cdef void _loop(_Rnn* r, bint forward, floating* kind) noexcept nogil:
    cdef Py_ssize_t s, t, bs
    cdef bint up = forward != r.reverse  # steps in increasing t
    cdef Py_ssize_t off = 0 if up else r.N
    for s in range(r.T):
        t = s if up else r.T - 1 - s
        bs = r.bsz[t]
        if not up:
            off -= bs
        _step(r, forward, off, bs, True, kind)
        if up:
            off += bs


cdef int _run(_Rnn* r, bint forward, bint f32, list arrays) except -1:
    """The loop through the direct BLAS pointers, or else with numpy's product per step
    (``arrays``: the state, w_hh, and the forward destination / backward grad arrays)."""
    cdef Py_ssize_t s, t, bs, off
    cdef bint up = forward != r.reverse
    if _gemm_ready(max(r.N, r.G), max(r.G, r.H), max(r.N, r.G)):
        with nogil:
            if f32:
                _loop(r, forward, <float*>NULL)
            else:
                _loop(r, forward, <double*>NULL)
        return 0
    state, W, dest = arrays
    off = 0 if up else r.N
    for s in range(r.T):
        t = s if up else r.T - 1 - s
        bs = r.bsz[t]
        if not up:
            off -= bs
        if forward:
            if r.mode == RNN_LSTM:
                PyArray_MatrixProduct2(state[:bs], W.T, dest[off:off + bs])
            else:
                PyArray_MatrixProduct2(state[:bs], W.T, dest[:bs] if r.mode == RNN_GRU
                                       else dest[off:off + bs])
        if f32:
            _step(r, forward, off, bs, False, <float*>NULL)
        else:
            _step(r, forward, off, bs, False, <double*>NULL)
        if not forward:
            _np_mm_into(dest[off:off + bs], W, state[:bs], r.mode == RNN_GRU)
        if up:
            off += bs
    return 0


# the checked Python-facing wrappers
include "_core_rnn_api.pxi"
