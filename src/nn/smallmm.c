/* Small matrix products as FMA chains (see smallmm.h for the definition and why).
   The definition is chains_scalar; on CPUs with AVX2 + FMA (every x86-64 since Haswell
   and Zen) a 4 x 16 register-blocked kernel computes the same chains eight at a time,
   and the scalar code, compiled for the same target, takes the edges. CPUs without FMA
   run the scalar code with the C library's fmaf: slow, the same numbers. */
#include "smallmm.h"

#include <math.h>
#include <stddef.h>

#include "util.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86_KERNEL 1
#endif

/* One job: C (m, n) = op(A) (m, k) B (k, n), op(A)[r][t] = A[r * a_rs + t * a_cs].
   Each chain starts from 0, or from the value an earlier k-range left in C (accumulate);
   on the last k-range C is stored as alpha * chain + 0. */
typedef struct {
    float *C;
    const float *A, *B;
    int ldc, a_rs, a_cs, ldb;
    int m, n, k;
    int accumulate, last;
    float alpha;
} Chains;

/* The sub-job of rows r0.., columns j0.. of size m x n. */
static Chains sub_job(Chains c, int r0, int j0, int m, int n) {
    c.C += (size_t)r0 * c.ldc + j0;
    c.A += (size_t)r0 * c.a_rs;
    c.B += j0;
    c.m = m;
    c.n = n;
    return c;
}

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* The definition, one element at a time. "+ 0" turns a chain of -0 into +0, as a BLAS
   kernel's store onto a zeroed C does. */
ALWAYS_INLINE void chains_scalar(Chains c) {
    for (int r = 0; r < c.m; r++)
        for (int j = 0; j < c.n; j++) {
            float *out = c.C + (size_t)r * c.ldc + j;
            float acc = c.accumulate ? *out : 0.0f;
            for (int t = 0; t < c.k; t++)
                acc = fmaf(c.A[(size_t)r * c.a_rs + (size_t)t * c.a_cs], c.B[(size_t)t * c.ldb + j], acc);
            *out = c.last ? c.alpha * acc + 0.0f : acc;
        }
}

#ifdef HAVE_X86_KERNEL
/* A 4 x 16 block: 8 accumulators (enough independent chains to hide the FMA latency);
   each t loads 16 values of B and broadcasts 4 of A. */
__attribute__((target("avx2,fma")))
static void kernel_4x16(Chains c) {
    __m256 acc[4][2];
    for (int i = 0; i < 4; i++)
        for (int h = 0; h < 2; h++)
            acc[i][h] = c.accumulate ? _mm256_loadu_ps(c.C + (size_t)i * c.ldc + 8 * h) : _mm256_setzero_ps();
    for (int t = 0; t < c.k; t++) {
        const float *b = c.B + (size_t)t * c.ldb, *a = c.A + (size_t)t * c.a_cs;
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        for (int i = 0; i < 4; i++) {
            __m256 ai = _mm256_broadcast_ss(a + (size_t)i * c.a_rs);
            acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
        }
    }
    __m256 alpha = _mm256_set1_ps(c.alpha), zero = _mm256_setzero_ps();
    for (int i = 0; i < 4; i++)
        for (int h = 0; h < 2; h++) {
            __m256 v = c.last ? _mm256_add_ps(_mm256_mul_ps(alpha, acc[i][h]), zero) : acc[i][h];
            _mm256_storeu_ps(c.C + (size_t)i * c.ldc + 8 * h, v);
        }
}

__attribute__((target("avx2,fma")))
static void chains_fma(Chains c) {
    int m4 = c.m - c.m % 4, n16 = c.n - c.n % 16;
    for (int r = 0; r < m4; r += 4)
        for (int j = 0; j < n16; j += 16) kernel_4x16(sub_job(c, r, j, 4, 16));
    if (n16 < c.n) chains_scalar(sub_job(c, 0, n16, m4, c.n - n16));   /* right edge */
    if (m4 < c.m) chains_scalar(sub_job(c, m4, 0, c.m - m4, c.n));     /* bottom rows */
}

#endif

static void chains_plain(Chains c) { chains_scalar(c); }

static void run_chains(Chains c) {
#ifdef HAVE_X86_KERNEL
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        chains_fma(c);
        return;
    }
#endif
    chains_plain(c);
}

void smallmm_nn(float *C, int ldc, const float *A, int a_rs, int a_cs, const float *B, int ldb,
                int m, int n, int k, float alpha) {
    if (k < 1) FATAL("smallmm_nn: inner dimension %d", k);
    run_chains((Chains){C, A, B, ldc, a_rs, a_cs, ldb, m, n, k, 0, 1, alpha});
}

/* B^T is copied a tile at a time (TILE_N rows of B by TILE_K of its columns) so that the
   chains read it with unit stride; a chain is continued across k-tiles through C. */
enum { TILE_N = 16, TILE_K = 128 };

void smallmm_nt(float *C, int ldc, const float *A, int lda, const float *B, int ldb, int m,
                int n, int k, float alpha) {
    if (k < 1) FATAL("smallmm_nt: inner dimension %d", k);
    float T[TILE_K * TILE_N];   /* T[t][j] = B[j0 + j][k0 + t] */
    for (int j0 = 0; j0 < n; j0 += TILE_N) {
        int jw = n - j0 < TILE_N ? n - j0 : TILE_N;
        for (int k0 = 0; k0 < k; k0 += TILE_K) {
            int kw = k - k0 < TILE_K ? k - k0 : TILE_K;
            for (int j = 0; j < jw; j++)
                for (int t = 0; t < kw; t++) T[t * TILE_N + j] = B[(size_t)(j0 + j) * ldb + k0 + t];
            run_chains((Chains){C + j0, A + k0, T, ldc, lda, 1, TILE_N, m, jw, kw, k0 > 0,
                                k0 + kw == k, alpha});
        }
    }
}
