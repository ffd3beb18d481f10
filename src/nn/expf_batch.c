/* expf_batch: see expf_batch.h for what it computes and why glibc's numbers. */
#include "expf_batch.h"

#include <math.h>
#include <stdint.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define HAVE_X86_KERNEL 1

/* The constants of glibc's expf (its __exp2f_data, read with gdb from Debian 12's libm
   2.36): bits of doubles. */
#define INVLN2_32 0x40471547652b82feULL   /* 32 / ln 2 */
#define SHIFT     0x4338000000000000ULL   /* 1.5 * 2^52: kd = z + SHIFT rounds z to an integer */
#define POLY0     0x3ebc6af84b912394ULL   /* p(r) = (POLY0 r + POLY1) r^2 + (POLY2 r + 1) */
#define POLY1     0x3f2ebfce50fac4f3ULL
#define POLY2     0x3f962e42ff0c52d6ULL

/* TAB[i] = bits(2^(i/32)) - (i << 47): adding k << 47 to TAB[k mod 32] gives the bits of
   2^(k/32) for any integer k in range (the exponent field takes k / 32). */
static const uint64_t TAB[32] = {
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51,
    0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
    0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,
    0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
    0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
    0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
    0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069,
    0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540,
};

__attribute__((target("avx2,fma"))) static inline __m256d dconst(uint64_t bits) {
    return _mm256_castsi256_pd(_mm256_set1_epi64x((long long)bits));
}

/* Four lanes of glibc's expf main path, operation for operation (glibc's FMA build
   contracts the same three multiply-adds and the reduction's multiply-subtract). */
__attribute__((target("avx2,fma"))) static inline __m128 exp4(__m128 x) {
    __m256d xd = _mm256_cvtps_pd(x), invln2 = dconst(INVLN2_32), shift = dconst(SHIFT);
    __m256d kd = _mm256_fmadd_pd(invln2, xd, shift);              /* round(x 32/ln2) + SHIFT */
    __m256i ki = _mm256_castpd_si256(kd);
    kd = _mm256_sub_pd(kd, shift);
    __m256d r = _mm256_fmsub_pd(invln2, xd, kd);                  /* x 32/ln2 - k, |r| <= 1/2 */
    __m256i idx = _mm256_and_si256(ki, _mm256_set1_epi64x(31));
    __m256i t = _mm256_i64gather_epi64((const long long *)TAB, idx, 8);
    __m256d s = _mm256_castsi256_pd(_mm256_add_epi64(t, _mm256_slli_epi64(ki, 47)));   /* 2^(k/32) */
    __m256d z = _mm256_fmadd_pd(dconst(POLY0), r, dconst(POLY1));
    __m256d r2 = _mm256_mul_pd(r, r);
    __m256d y = _mm256_fmadd_pd(dconst(POLY2), r, _mm256_set1_pd(1.0));
    y = _mm256_fmadd_pd(z, r2, y);
    return _mm256_cvtpd_ps(_mm256_mul_pd(y, s));
}

/* Blocks of eight; returns how many elements it did (a multiple of 8). A lane whose
   |x| >= 88 (glibc's test: bits 20..30 of x at least 0x42b), inf or NaN is redone by
   expf, from a copy of the input in case y is x. */
__attribute__((target("avx2,fma"))) static size_t expf_avx2(float *y, const float *x, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256i top = _mm256_and_si256(_mm256_srli_epi32(_mm256_castps_si256(v), 20),
                                       _mm256_set1_epi32(0x7ff));
        int special = _mm256_movemask_ps(
            _mm256_castsi256_ps(_mm256_cmpgt_epi32(top, _mm256_set1_epi32(0x42a))));
        __m128 lo = exp4(_mm256_castps256_ps128(v)), hi = exp4(_mm256_extractf128_ps(v, 1));
        float in[8];
        if (special) _mm256_storeu_ps(in, v);
        _mm256_storeu_ps(y + i, _mm256_set_m128(hi, lo));
        for (int l = 0; special && l < 8; l++)
            if (special >> l & 1) y[i + l] = expf(in[l]);
    }
    return i;
}
#endif

int expf_batch_vectorized(void) {
#ifdef HAVE_X86_KERNEL
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

void expf_batch(float *y, const float *x, size_t n) {
    size_t i = 0;
#ifdef HAVE_X86_KERNEL
    if (expf_batch_vectorized()) i = expf_avx2(y, x, n);
#endif
    for (; i < n; i++) y[i] = expf(x[i]);
}
