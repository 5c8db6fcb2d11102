/* The gemm of _gemm_avx512.h for one element type, included once per type with these set:
 *   FN_T      float or double          FN_V     its 512-bit vector type
 *   FN_L      lanes per vector         FN_MASK  the mask type for FN_L lanes
 *   FN_I(op)  the intrinsic _mm512_<op>_ps or _pd
 *   FN_(x)    x with the type's suffix, naming this copy's functions
 *   FN_TRANSPOSE(r)  in-register transpose of FN_L vectors of FN_L lanes
 * and undefined again at the end.
 * Panels: A in FN_MR rows, B in FN_NR = FN_L columns (one register wide), K in chunks of at
 * most FN_KC_T elements (the same 24 KB panel of A whatever the type).
 */
#define FN_NR FN_L
#define FN_KC_T (FN_KC * 4 / (int64_t)sizeof(FN_T))
#define FN_LANEMASK(n) ((FN_MASK)fn_lanes(n))

/* dst[k*stride + i] = src[i*ld + k] for i < rows <= FN_L, zero for rows <= i < FN_L, k < kc:
 * interleaves up to FN_L rows, FN_L columns at a time. */
FN_AVX512 static void FN_(fn_pack_rows)(const FN_T* src, int64_t ld, int64_t rows, int64_t kc,
                                        FN_T* dst, int64_t stride) {
    int64_t k = 0;
    if (rows == FN_L) {     /* whole blocks with constant indices: no spills, no branches */
        for (; k + FN_L <= kc; k += FN_L) {
            FN_V r[FN_L];
#pragma GCC unroll 16
            for (int i = 0; i < FN_L; i++) r[i] = FN_I(loadu)(src + i * ld + k);
            FN_TRANSPOSE(r);
#pragma GCC unroll 16
            for (int i = 0; i < FN_L; i++) FN_I(storeu)(dst + (k + i) * stride, r[i]);
        }
    }
    for (; k < kc; k += FN_L) {
        int64_t w = kc - k < FN_L ? kc - k : FN_L;
        FN_MASK in = FN_LANEMASK(w);
        FN_V r[FN_L];
        for (int i = 0; i < FN_L; i++)
            r[i] = i < rows ? FN_I(maskz_loadu)(in, src + i * ld + k) : FN_I(setzero)();
        FN_TRANSPOSE(r);
        for (int i = 0; i < w; i++) FN_I(storeu)(dst + (k + i) * stride, r[i]);
    }
}

/* dst[p][k*P + j] = src[k*ld + P*p + j] for k < kc, j < width (zero past it), in panels of P
 * columns: rows already laid out along K, copied row by row so that reads run along memory
 * (panel by panel, each read would jump a whole row, past what the prefetchers follow). */
FN_AVX512 static void FN_(fn_pack_copy)(const FN_T* src, int64_t ld, int64_t width, int64_t kc,
                                        FN_T* dst, int64_t P) {
    int64_t panels = (width + P - 1) / P;
    for (int64_t k = 0; k < kc; k++) {
        const FN_T* s = src + k * ld;
        for (int64_t p = 0; p < panels; p++) {
            FN_T* d = dst + (p * kc + k) * P;
            for (int64_t h = 0; h < P; h += FN_L)
                FN_I(storeu)(d + h, FN_I(maskz_loadu)(FN_LANEMASK(width - p * P - h), s + p * P + h));
        }
    }
}

/* Ap[r][k*MR + i] = op(A)[i0 + MR*r + i][k0 + k], zero past the block's mc rows. */
FN_AVX512 static void FN_(fn_pack_a)(int ta, const FN_T* a, int64_t lda, int64_t i0,
                                     int64_t mc, int64_t k0, int64_t kc, FN_T* ap) {
    if (ta) {
        FN_(fn_pack_copy)(a + k0 * lda + i0, lda, mc, kc, ap, FN_MR);
        return;
    }
    for (int64_t r = 0; r < mc; r += FN_MR) {
        int64_t rows = mc - r < FN_MR ? mc - r : FN_MR;
        for (int h = 0; h < FN_MR; h += FN_L) {
            int64_t part = rows - h < 0 ? 0 : rows - h > FN_L ? FN_L : rows - h;
            FN_(fn_pack_rows)(a + (i0 + r + h) * lda + k0, lda, part, kc, ap + r * kc + h, FN_MR);
        }
    }
}

/* Bp[p][k*NR + j] = op(B)[k0 + k][j0 + NR*p + j], zero past column j0 + nc. */
FN_AVX512 static void FN_(fn_pack_b)(int tb, const FN_T* b, int64_t ldb, int64_t k0,
                                     int64_t kc, int64_t j0, int64_t nc, FN_T* bp) {
    if (!tb) {
        FN_(fn_pack_copy)(b + k0 * ldb + j0, ldb, nc, kc, bp, FN_NR);
        return;
    }
    for (int64_t p = 0; p < nc; p += FN_NR) {
        int64_t cols = nc - p < FN_NR ? nc - p : FN_NR;
        FN_(fn_pack_rows)(b + (j0 + p) * ldb + k0, ldb, cols, kc, bp + p * kc, FN_NR);
    }
}

/* C[0:mr, 0:nr] (+)= Ap (kc x MR) @ Bp (kc x NR); acc selects C += over C =.  GCC keeps the
 * fully unrolled accumulators in registers and folds each broadcast into its FMA; unrolling
 * k by 4 measured fastest. */
FN_AVX512 static void FN_(fn_kernel)(int64_t kc, const FN_T* ap, const FN_T* bp, FN_T* c,
                                     int64_t ldc, int64_t mr, int64_t nr, int acc) {
    FN_V s[FN_MR];
#pragma GCC unroll 16
    for (int i = 0; i < FN_MR; i++) s[i] = FN_I(setzero)();
#pragma GCC unroll 4
    for (int64_t k = 0; k < kc; k++) {
        FN_V b = FN_I(load)(bp);
#pragma GCC unroll 16
        for (int i = 0; i < FN_MR; i++) s[i] = FN_I(fmadd)(FN_I(set1)(ap[i]), b, s[i]);
        ap += FN_MR;
        bp += FN_NR;
    }
    FN_MASK lanes = FN_LANEMASK(nr);
#pragma GCC unroll 16
    for (int i = 0; i < FN_MR; i++) {
        if (i >= mr) break;
        FN_V r = s[i];
        if (acc) r = FN_I(add)(r, FN_I(maskz_loadu)(lanes, c + i * ldc));
        FN_I(mask_storeu)(c + i * ldc, lanes, r);
    }
}

/* Packing space, in elements, for `rows` rows and `cols` columns of C over all of K: a chunk
 * of B (K chunk by at most FN_NC columns, in whole panels), then, when with_a, a block of A
 * (K chunk by a row block).  fn_block lays its space out by this same count. */
static int64_t FN_(fn_space)(int64_t k, int64_t rows, int64_t cols, int with_a) {
    int64_t kstep = fn_chunk(k, FN_KC_T, 1);
    int64_t nstep = cols < FN_NC ? cols : FN_NC;
    int64_t b_part = kstep * ((nstep + FN_NR - 1) / FN_NR * FN_NR);
    return with_a ? b_part + kstep * fn_chunk(rows, FN_MC, FN_MR) : b_part;
}

/* One thread's share: rows [i0, i1) and columns [j0, j1) of C, over all of K, with packing
 * space bp already allocated (a chunk of B, then a block of A).  K goes in equal chunks so
 * that no chunk is a sliver that costs a full pass over C for little work; B in chunks of
 * FN_NC columns.  When the rows fit one block, A is packed once per K chunk for all of B's
 * chunks rather than once per chunk. */
FN_AVX512 static void FN_(fn_block)(int ta, int tb, int64_t k, const FN_T* a, int64_t lda,
                                    const FN_T* b, int64_t ldb, FN_T beta, FN_T* c,
                                    int64_t ldc, int64_t i0, int64_t i1, int64_t j0, int64_t j1,
                                    FN_T* bp) {
    int64_t kstep = fn_chunk(k, FN_KC_T, 1), mstep = fn_chunk(i1 - i0, FN_MC, FN_MR);
    int64_t nstep = j1 - j0 < FN_NC ? j1 - j0 : FN_NC;
    FN_T* ap = bp + FN_(fn_space)(k, i1 - i0, j1 - j0, 0);
    int one_block = i1 - i0 <= mstep;
    for (int64_t k0 = 0; k0 < k; k0 += kstep) {
        int64_t kc = k - k0 < kstep ? k - k0 : kstep;
        int acc = k0 > 0 || beta != 0;
        if (one_block) FN_(fn_pack_a)(ta, a, lda, i0, i1 - i0, k0, kc, ap);
        for (int64_t jc = j0; jc < j1; jc += nstep) {
            int64_t nc = j1 - jc < nstep ? j1 - jc : nstep;
            FN_(fn_pack_b)(tb, b, ldb, k0, kc, jc, nc, bp);
            for (int64_t ic = i0; ic < i1; ic += mstep) {
                int64_t mc = i1 - ic < mstep ? i1 - ic : mstep;
                if (!one_block) FN_(fn_pack_a)(ta, a, lda, ic, mc, k0, kc, ap);
                for (int64_t ir = 0; ir < mc; ir += FN_MR) {
                    int64_t mr = mc - ir < FN_MR ? mc - ir : FN_MR;
                    for (int64_t jr = 0; jr < nc; jr += FN_NR) {
                        int64_t nr = nc - jr < FN_NR ? nc - jr : FN_NR;
                        FN_(fn_kernel)(kc, ap + ir * kc, bp + jr * kc,
                                       c + (ic + ir) * ldc + jc + jr, ldc, mr, nr, acc);
                    }
                }
            }
        }
    }
}

/* C = op(A) @ op(B) + beta * C for contiguous row-major operands (beta 0 or 1), on up to
 * nthreads threads.  Returns 0 when done; 1, with C untouched, when the product is too small
 * to be worth it or packing space could not be allocated: the caller then uses a BLAS. */
FN_AVX512 static int FN_(fn_gemm)(int ta, int tb, int64_t m, int64_t n, int64_t k,
                                  const FN_T* a, const FN_T* b, FN_T beta, FN_T* c,
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
            fn_share(n, FN_NR, t, nt, &j0, &j1);
        } else {
            fn_share(m, FN_MR, t, nt, &i0, &i1);
        }
        size_t count = (size_t)FN_(fn_space)(k, i1 - i0, j1 - j0, 1);
        FN_T* bp = i0 < i1 && j0 < j1 ? (FN_T*)fn_pack_space(count * sizeof(FN_T)) : NULL;
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
            FN_(fn_block)(ta, tb, k, a, lda, b, ldb, beta, c, n, i0, i1, j0, j1, bp);
    }
    return failed;
}

#undef FN_NR
#undef FN_KC_T
#undef FN_LANEMASK
#undef FN_T
#undef FN_V
#undef FN_L
#undef FN_MASK
#undef FN_I
#undef FN_
#undef FN_TRANSPOSE
