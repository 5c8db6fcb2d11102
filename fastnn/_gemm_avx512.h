/* fastnn's own float32 gemm for CPUs with AVX-512: C = op(A) @ op(B) + beta * C, row-major.
 *
 * Why: numpy's OpenBLAS reaches 50-60 % of this machine kind's peak at the layer sizes of small
 * and medium MLPs (batch 64-512, width 128-2048); a packed 16x16 register tile reaches more,
 * and the transposed operand of a Linear layer costs nothing extra since packing reorders
 * anyway.  Layout: A is packed into panels of 16 rows, B into panels of 16 columns (one zmm
 * register wide); a panel of A stays in L1 while the panels of B stream past it from L2 (A's
 * values are broadcast, 16 loads per cache line, B's loaded whole, one per line, so it is A
 * that should sit closest; measured 4-10 % faster than the other way round on large
 * products).  Each thread owns a range of columns (or of rows, when C is narrow) and packs
 * its own operands, so threads never wait for each other.
 *
 * Compiled for AVX-512 through function attributes only, so the module stays loadable on any
 * x86-64; fastnn_sgemm_avx512_ok() says at run time whether the CPU can run it.
 */
#ifndef FASTNN_GEMM_AVX512_H
#define FASTNN_GEMM_AVX512_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(_M_X64))
#define FASTNN_HAVE_GEMM_AVX512 1
#include <immintrin.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* A 16x16 register tile (16 accumulators) measured fastest of 12x32, 14x32, 8x48 and 16x16
 * in place (two threads, layer-sized products), and it wastes least at ragged edges. */
#ifndef FN_MR
#define FN_MR 16
#endif
#ifndef FN_NV
#define FN_NV 1
#endif
#define FN_NR (16 * FN_NV)
#ifndef FN_KC
#define FN_KC 384
#endif
#ifndef FN_MC
#define FN_MC 512
#endif

#define FN_AVX512 __attribute__((target("avx512f")))

static int fastnn_sgemm_avx512_ok(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

/* One thread's packing space, kept between calls: allocating it per call would cost page
 * faults on every product. */
static __thread float* fn_pack_buf = NULL;
static __thread size_t fn_pack_cap = 0;

static float* fn_pack_space(size_t floats) {
    if (floats > fn_pack_cap) {
        free(fn_pack_buf);
        fn_pack_buf = (float*)aligned_alloc(64, ((floats * sizeof(float) + 63) / 64) * 64);
        fn_pack_cap = fn_pack_buf ? floats : 0;
    }
    return fn_pack_buf;
}

/* Mask of the first min(max(n, 0), 16) lanes. */
static inline __mmask16 fn_lanes(int64_t n) {
    return (__mmask16)(n >= 16 ? 0xFFFF : n <= 0 ? 0 : (1u << n) - 1u);
}

/* In-register transpose of a 16x16 block: r[i] holds row i on entry, column i on exit. */
FN_AVX512 static inline void fn_transpose16(__m512 r[16]) {
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
    for (int c = 0; c < 4; c++) {           /* a 4x4 transpose of 128-bit lanes per c */
        __m512 v0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x44);
        __m512 v1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xEE);
        __m512 v2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x44);
        __m512 v3 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xEE);
        r[c] = _mm512_shuffle_f32x4(v0, v2, 0x88);
        r[4 + c] = _mm512_shuffle_f32x4(v0, v2, 0xDD);
        r[8 + c] = _mm512_shuffle_f32x4(v1, v3, 0x88);
        r[12 + c] = _mm512_shuffle_f32x4(v1, v3, 0xDD);
    }
}

/* dst[k*stride + i] = src[i*ld + k] for i < rows, zero for rows <= i < min(stride, 16), k < kc:
 * interleaves up to 16 rows, 16 columns at a time. */
FN_AVX512 static void fn_pack_rows(const float* src, int64_t ld, int64_t rows, int64_t kc,
                                   float* dst, int64_t stride) {
    __mmask16 out = fn_lanes(stride);
    int64_t k = 0;
    if (rows == 16) {       /* whole blocks with constant indices: no spills, no branches */
        for (; k + 16 <= kc; k += 16) {
            __m512 r[16];
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + i * ld + k);
            fn_transpose16(r);
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++) _mm512_mask_storeu_ps(dst + (k + i) * stride, out, r[i]);
        }
    }
    for (; k < kc; k += 16) {
        int64_t w = kc - k < 16 ? kc - k : 16;
        __mmask16 in = fn_lanes(w);
        __m512 r[16];
        for (int i = 0; i < 16; i++)
            r[i] = i < rows ? _mm512_maskz_loadu_ps(in, src + i * ld + k) : _mm512_setzero_ps();
        fn_transpose16(r);
        for (int i = 0; i < w; i++)
            _mm512_mask_storeu_ps(dst + (k + i) * stride, out, r[i]);
    }
}

/* Ap[r][k*16 + i] = op(A)[i0 + 16r + i][k0 + k], zero past row m. */
FN_AVX512 static void fn_pack_a(int ta, const float* a, int64_t lda, int64_t i0,
                                int64_t mc, int64_t k0, int64_t kc, float* ap) {
    for (int64_t r = 0; r < mc; r += FN_MR) {
        int64_t rows = mc - r < FN_MR ? mc - r : FN_MR;
        float* dst = ap + r * kc;
        if (ta) {
            __mmask16 mask = (__mmask16)((1u << rows) - 1u);
            const float* src = a + k0 * lda + i0 + r;
            for (int64_t k = 0; k < kc; k++)
                _mm512_mask_storeu_ps(dst + k * FN_MR, (__mmask16)((1u << FN_MR) - 1u),
                                      _mm512_maskz_loadu_ps(mask, src + k * lda));
        } else {
            fn_pack_rows(a + (i0 + r) * lda + k0, lda, rows, kc, dst, FN_MR);
        }
    }
}

/* Bp[p][k*16 + j] = op(B)[k0 + k][j0 + 16p + j], zero past column j0 + nc. */
FN_AVX512 static void fn_pack_b(int tb, const float* b, int64_t ldb, int64_t k0, int64_t kc,
                                int64_t j0, int64_t nc, float* bp) {
    for (int64_t p = 0; p < nc; p += FN_NR) {
        int64_t cols = nc - p < FN_NR ? nc - p : FN_NR;
        float* dst = bp + p * kc;
        if (!tb) {
            const float* src = b + k0 * ldb + j0 + p;
            for (int64_t k = 0; k < kc; k++)
                for (int v = 0; v < FN_NV; v++)
                    _mm512_store_ps(dst + k * FN_NR + 16 * v,
                                    _mm512_maskz_loadu_ps(fn_lanes(cols - 16 * v), src + k * ldb + 16 * v));
        } else {
            const float* src = b + (j0 + p) * ldb + k0;
            for (int v = 0; v < FN_NV; v++) {
                int64_t rows = cols - 16 * v;
                fn_pack_rows(src + 16 * v * ldb, ldb, rows < 0 ? 0 : rows > 16 ? 16 : rows, kc,
                             dst + 16 * v, FN_NR);
            }
        }
    }
}

/* C[0:mr, 0:nr] (+)= Ap (kc x MR) @ Bp (kc x NR); acc selects C += over C =.  GCC keeps the
 * fully unrolled accumulator array in registers; unrolling k by 4 measured fastest. */
FN_AVX512 static void fn_kernel(int64_t kc, const float* ap, const float* bp, float* c,
                                int64_t ldc, int64_t mr, int64_t nr, int acc) {
    __m512 s[FN_MR][FN_NV];
#pragma GCC unroll 16
    for (int i = 0; i < FN_MR; i++)
#pragma GCC unroll 4
        for (int v = 0; v < FN_NV; v++) s[i][v] = _mm512_setzero_ps();
#pragma GCC unroll 4
    for (int64_t k = 0; k < kc; k++) {
        __m512 b[FN_NV];
#pragma GCC unroll 4
        for (int v = 0; v < FN_NV; v++) b[v] = _mm512_load_ps(bp + 16 * v);
#pragma GCC unroll 16
        for (int i = 0; i < FN_MR; i++) {
            __m512 ai = _mm512_set1_ps(ap[i]);
#pragma GCC unroll 4
            for (int v = 0; v < FN_NV; v++) s[i][v] = _mm512_fmadd_ps(ai, b[v], s[i][v]);
        }
        ap += FN_MR;
        bp += FN_NR;
    }
#pragma GCC unroll 16
    for (int i = 0; i < FN_MR; i++) {
        if (i >= mr) break;
#pragma GCC unroll 4
        for (int v = 0; v < FN_NV; v++) {
            __mmask16 lanes = fn_lanes(nr - 16 * v);
            float* ci = c + i * ldc + 16 * v;
            __m512 r = s[i][v];
            if (acc) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(lanes, ci));
            _mm512_mask_storeu_ps(ci, lanes, r);
        }
    }
}

/* Rows per block of A: equal blocks of whole tiles, at most FN_MC, so that no block is a few
 * tiles over which a panel of B, brought into L1, is hardly reused. */
static int64_t fn_row_step(int64_t rows) {
    int64_t blocks = (rows + FN_MC - 1) / FN_MC, step = (rows + blocks - 1) / blocks;
    return (step + FN_MR - 1) / FN_MR * FN_MR;
}

/* One thread's share: rows [i0, i1) and columns [j0, j1) of C, over all of K, with packing
 * space bp already allocated.  K goes in equal chunks of at most FN_KC (384: 24 KB of B's panel, half of L1) so that no chunk is
 * a sliver that costs a full pass over C for little work. */
FN_AVX512 static void fn_block(int ta, int tb, int64_t k, const float* a, int64_t lda,
                               const float* b, int64_t ldb, float beta, float* c, int64_t ldc,
                               int64_t i0, int64_t i1, int64_t j0, int64_t j1, float* bp) {
    int64_t nc = j1 - j0, ncp = (nc + FN_NR - 1) / FN_NR * FN_NR;
    int64_t chunks = (k + FN_KC - 1) / FN_KC, kstep = (k + chunks - 1) / chunks;
    int64_t mstep = fn_row_step(i1 - i0);
    float* ap = bp + kstep * ncp;
    for (int64_t k0 = 0; k0 < k; k0 += kstep) {
        int64_t kc = k - k0 < kstep ? k - k0 : kstep;
        int acc = k0 > 0 || beta != 0.0f;
        fn_pack_b(tb, b, ldb, k0, kc, j0, nc, bp);
        for (int64_t ic = i0; ic < i1; ic += mstep) {
            int64_t mc = i1 - ic < mstep ? i1 - ic : mstep;
            fn_pack_a(ta, a, lda, ic, mc, k0, kc, ap);
            for (int64_t ir = 0; ir < mc; ir += FN_MR) {
                int64_t mr = mc - ir < FN_MR ? mc - ir : FN_MR;
                for (int64_t jr = 0; jr < nc; jr += FN_NR) {
                    int64_t nr = nc - jr < FN_NR ? nc - jr : FN_NR;
                    fn_kernel(kc, ap + ir * kc, bp + jr * kc, c + (ic + ir) * ldc + j0 + jr,
                              ldc, mr, nr, acc);
                }
            }
        }
    }
}

/* Packing floats one thread needs for rows [i0, i1) and columns [j0, j1). */
static size_t fn_space(int64_t k, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    int64_t chunks = (k + FN_KC - 1) / FN_KC, kstep = (k + chunks - 1) / chunks;
    int64_t mcp = fn_row_step(i1 - i0);
    int64_t ncp = (j1 - j0 + FN_NR - 1) / FN_NR * FN_NR;
    return (size_t)(kstep * (ncp + mcp));
}

/* Products under 64^3 multiply-adds go to numpy's BLAS, whose small-matrix paths are as fast
 * there and which runs them on the calling thread.  Anything larger stays here even where
 * OpenBLAS alone would be a little faster (few rows, a short inner dimension): its own
 * threads would compete for the cores with this runtime's, still spinning after the last
 * product, and that made a large MLP step twice as slow. */
#define FN_MIN_WORK (1 << 18)

/* C = op(A) @ op(B) + beta * C for contiguous row-major operands (beta 0 or 1), on up to
 * nthreads threads.  Returns 0 when done; 1, with C untouched, when the product is too small
 * to be worth it or packing space could not be allocated: the caller then uses a BLAS. */
FN_AVX512 static int fastnn_sgemm_avx512(int ta, int tb, int64_t m, int64_t n, int64_t k,
                                         const float* a, const float* b, float beta, float* c,
                                         int nthreads) {
    if (m < 1 || n < 1 || k < 1 || (double)m * n * k < FN_MIN_WORK) return 1;
    int64_t lda = ta ? m : k, ldb = tb ? k : n;
    if (nthreads > 1 && (double)m * n * k < 4 * FN_MIN_WORK) nthreads = 1;
    /* Each thread takes whole register tiles of columns, or of rows when C is narrow. */
    int split_cols = n >= 2 * FN_NR * nthreads || m < 2 * FN_MR * nthreads;
    int failed = 0;
#ifdef _OPENMP
    #pragma omp parallel num_threads(nthreads) if (nthreads > 1)
#endif
    {
        int t = 0, nt = 1;
#ifdef _OPENMP
        t = omp_get_thread_num();
        nt = omp_get_num_threads();
#endif
        int64_t i0 = 0, i1 = m, j0 = 0, j1 = n;
        if (split_cols) {
            int64_t tiles = (n + FN_NR - 1) / FN_NR;
            j0 = tiles * t / nt * FN_NR;
            j1 = tiles * (t + 1) / nt * FN_NR;
            if (j1 > n) j1 = n;
        } else {
            int64_t tiles = (m + FN_MR - 1) / FN_MR;
            i0 = tiles * t / nt * FN_MR;
            i1 = tiles * (t + 1) / nt * FN_MR;
            if (i1 > m) i1 = m;
        }
        float* bp = i0 < i1 && j0 < j1 ? fn_pack_space(fn_space(k, i0, i1, j0, j1)) : NULL;
        if (i0 < i1 && j0 < j1 && bp == NULL) {
#ifdef _OPENMP
            #pragma omp atomic write
#endif
            failed = 1;
        }
        /* No thread writes C until every thread has its space, so a failure leaves C as it was. */
#ifdef _OPENMP
        #pragma omp barrier
        #pragma omp atomic read
        t = failed;
#else
        t = failed;
#endif
        if (!t && bp != NULL)
            fn_block(ta, tb, k, a, lda, b, ldb, beta, c, n, i0, i1, j0, j1, bp);
    }
    return failed;
}

#else
#define FASTNN_HAVE_GEMM_AVX512 0
static int fastnn_sgemm_avx512_ok(void) { return 0; }
static int fastnn_sgemm_avx512(int ta, int tb, int64_t m, int64_t n, int64_t k,
                               const float* a, const float* b, float beta, float* c,
                               int nthreads) {
    (void)ta; (void)tb; (void)m; (void)n; (void)k; (void)a; (void)b; (void)beta; (void)c;
    (void)nthreads;
    return -1;
}
#endif
#endif
