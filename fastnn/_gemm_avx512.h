/* fastnn's own gemm for CPUs with AVX-512: C = op(A) @ op(B) + beta * C, row-major, in float32
 * and float64 (one body, _gemm_avx512_body.h, included once per type).
 *
 * Why: numpy's OpenBLAS reaches 50-60 % of this machine kind's peak at the layer sizes of
 * small and medium MLPs (batch 64-512, width 128-2048); packed register tiles reach more, and
 * the transposed operand of a Linear layer costs little extra since packing reorders anyway.
 * Layout: A is packed into panels of 16 rows, B into panels one register wide (16 floats or
 * 8 doubles); a panel of A stays in L1 while B's panels stream past it from L2 (A's values
 * are broadcast, 16 loads per cache line, B's loaded whole, so A should sit closest: 4-10 %
 * faster than the other way round on large products).  Each thread owns a range of columns
 * (or of rows, when C is narrow) and packs its own operands, so threads never wait for each
 * other, and each element of C is summed by one thread in a fixed order.
 *
 * Compiled for AVX-512 through function attributes only, so the module stays loadable on any
 * x86-64; fastnn_gemm_avx512_ok() says at run time whether the CPU can run it.  float64 runs
 * here too so that every product of a network stays on the OpenMP runtime's threads: handing
 * them to OpenBLAS's own threads while the runtime's still spin made a float64 MLP step seven
 * times slower.
 */
#ifndef FASTNN_GEMM_AVX512_H
#define FASTNN_GEMM_AVX512_H

#include <stdint.h>
#include <stdlib.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(_WIN32)
#define FASTNN_HAVE_GEMM_AVX512 1
#include <immintrin.h>
#include <pthread.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* A register tile of 16 rows by one vector (16 accumulators) measured fastest in float32 of
 * 12x32, 14x32, 8x48 and 16x16 in place (two threads, layer-sized products), and it wastes
 * least at ragged edges.  K chunks: 384 floats (a 24 KB panel of A, half of L1), as many
 * bytes in float64. */
#define FN_MR 16
#ifndef FN_KC
#define FN_KC 384
#endif
#ifndef FN_MC
#define FN_MC 512
#endif
/* Columns of B packed at a time: 512 keeps a chunk of B (768 KB) within L2 beside A's stream. */
#ifndef FN_NC
#define FN_NC 512
#endif

#define FN_AVX512 __attribute__((target("avx512f")))
/* The transposes must be inlined for their arrays to live in registers. */
#define FN_INLINE static inline __attribute__((always_inline))

static int fastnn_gemm_avx512_ok(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

/* One thread's packing space, kept between calls: allocating it per call would cost page
 * faults on every product.  A thread-specific key frees it when its thread ends, so that
 * short-lived threads calling fastnn do not leave their buffers behind. */
static __thread void* fn_pack_buf = NULL;
static __thread size_t fn_pack_cap = 0;
static pthread_key_t fn_pack_key;
static pthread_once_t fn_pack_once = PTHREAD_ONCE_INIT;

static void fn_pack_key_make(void) { pthread_key_create(&fn_pack_key, free); }

static void* fn_pack_space(size_t bytes) {
    if (bytes > fn_pack_cap) {
        pthread_once(&fn_pack_once, fn_pack_key_make);
        free(fn_pack_buf);
        fn_pack_buf = aligned_alloc(64, (bytes + 63) / 64 * 64);
        fn_pack_cap = fn_pack_buf ? bytes : 0;
        pthread_setspecific(fn_pack_key, fn_pack_buf);
    }
    return fn_pack_buf;
}

/* Step of equal chunks of n, each at most limit and a multiple of unit. */
static int64_t fn_chunk(int64_t n, int64_t limit, int64_t unit) {
    int64_t chunks = (n + limit - 1) / limit, step = (n + chunks - 1) / chunks;
    return (step + unit - 1) / unit * unit;
}

/* Thread t's range [*lo, *hi) of n, in whole units of `unit`. */
static void fn_share(int64_t n, int64_t unit, int t, int nt, int64_t* lo, int64_t* hi) {
    int64_t units = (n + unit - 1) / unit;
    *lo = units * t / nt * unit;
    *hi = units * (t + 1) / nt * unit;
    if (*hi > n) *hi = n;
}

/* Mask of the first min(max(n, 0), 16) lanes. */
static inline __mmask16 fn_lanes(int64_t n) {
    return (__mmask16)(n >= 16 ? 0xFFFF : n <= 0 ? 0 : (1u << n) - 1u);
}

/* A 4x4 transpose of 128-bit lanes, whatever they hold: lane j of o[l] is lane l of x_j. */
FN_AVX512 FN_INLINE void fn_lane_transpose(__m512 x0, __m512 x1, __m512 x2, __m512 x3,
                                               __m512 o[4]) {
    __m512 v0 = _mm512_shuffle_f32x4(x0, x1, 0x44), v1 = _mm512_shuffle_f32x4(x0, x1, 0xEE);
    __m512 v2 = _mm512_shuffle_f32x4(x2, x3, 0x44), v3 = _mm512_shuffle_f32x4(x2, x3, 0xEE);
    o[0] = _mm512_shuffle_f32x4(v0, v2, 0x88);
    o[1] = _mm512_shuffle_f32x4(v0, v2, 0xDD);
    o[2] = _mm512_shuffle_f32x4(v1, v3, 0x88);
    o[3] = _mm512_shuffle_f32x4(v1, v3, 0xDD);
}

/* In-register transposes: r[i] holds row i on entry, column i on exit.  After the unpacks and
 * shuffles each 128-bit lane holds a 4x4 (floats) or 4x2 (doubles) piece of the answer, and
 * the lane transpose puts the pieces in place. */
FN_AVX512 FN_INLINE void fn_transpose_s(__m512 r[16]) {
    __m512 t[16], u[16];
    /* Fully unrolled, so that the three arrays live in registers. */
#pragma GCC unroll 8
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
#pragma GCC unroll 4
    for (int g = 0; g < 16; g += 4) {       /* u[g + c], lane L: rows g..g+3 of column 4L + c */
        u[g] = _mm512_shuffle_ps(t[g], t[g + 2], 0x44);
        u[g + 1] = _mm512_shuffle_ps(t[g], t[g + 2], 0xEE);
        u[g + 2] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0x44);
        u[g + 3] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0xEE);
    }
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        __m512 o[4];
        fn_lane_transpose(u[c], u[4 + c], u[8 + c], u[12 + c], o);
        r[c] = o[0], r[4 + c] = o[1], r[8 + c] = o[2], r[12 + c] = o[3];
    }
}

FN_AVX512 FN_INLINE void fn_transpose_d(__m512d r[8]) {
    __m512d t[8];
#pragma GCC unroll 4
    for (int i = 0; i < 8; i += 2) {        /* t[i + p], lane L: rows i, i+1 of column 2L + p */
        t[i] = _mm512_unpacklo_pd(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_pd(r[i], r[i + 1]);
    }
#pragma GCC unroll 2
    for (int p = 0; p < 2; p++) {
        __m512 o[4];
        fn_lane_transpose(_mm512_castpd_ps(t[p]), _mm512_castpd_ps(t[2 + p]),
                          _mm512_castpd_ps(t[4 + p]), _mm512_castpd_ps(t[6 + p]), o);
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) r[2 * j + p] = _mm512_castps_pd(o[j]);
    }
}

/* Products under 64^3 multiply-adds go to numpy's BLAS, whose small-matrix paths are as fast
 * there and which runs them on the calling thread.  Anything larger stays here even where
 * OpenBLAS alone would be a little faster (few rows, a short inner dimension): its own
 * threads would compete for the cores with this runtime's, still spinning after the last
 * product, and that made a large MLP step twice as slow. */
#define FN_MIN_WORK (1 << 18)

#define FN_T float
#define FN_V __m512
#define FN_L 16
#define FN_MASK __mmask16
#define FN_I(op) _mm512_##op##_ps
#define FN_(x) x##_s
#define FN_TRANSPOSE fn_transpose_s
#include "_gemm_avx512_body.h"
#define FN_T double
#define FN_V __m512d
#define FN_L 8
#define FN_MASK __mmask8
#define FN_I(op) _mm512_##op##_pd
#define FN_(x) x##_d
#define FN_TRANSPOSE fn_transpose_d
#include "_gemm_avx512_body.h"

#define fastnn_sgemm_avx512 fn_gemm_s
#define fastnn_dgemm_avx512 fn_gemm_d

#else
/* Elsewhere the kernel is absent: the CPU check says no, and every product is declined. */
#define FASTNN_HAVE_GEMM_AVX512 0
static int fastnn_gemm_avx512_ok(void) { return 0; }
#define fastnn_sgemm_avx512(ta, tb, m, n, k, a, b, beta, c, nthreads) 1
#define fastnn_dgemm_avx512(ta, tb, m, n, k, a, b, beta, c, nthreads) 1
#endif
#endif
