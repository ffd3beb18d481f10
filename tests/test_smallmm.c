/* smallmm (the vectorized kernel and the scalar code of CPUs without FMA) against its
   definition (one fmaf chain per element, written out again here), bit for bit, and against cblas_sgemm to 1e-5, on the shapes and strides the attention
   core uses (per head: n x n scores, n x dh values, leading dimension d) and on awkward
   ones (edges of the 4 x 16 kernel, inner dimensions over the 128 k-tile of smallmm_nt). */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rng.h"
#include "smallmm.h"

static void fill(float *x, size_t count, Rng *r) {
    for (size_t i = 0; i < count; i++) x[i] = (float)rng_normal(r);
}

/* Element (i, j) of alpha op(A) op(B) by the definition: fma over t in order from 0. */
static float definition(const float *A, int lda, int transA, const float *B, int ldb, int transB,
                        int i, int j, int k, float alpha) {
    float acc = 0.0f;
    for (int t = 0; t < k; t++) {
        float a = transA ? A[(size_t)t * lda + i] : A[(size_t)i * lda + t];
        float b = transB ? B[(size_t)j * ldb + t] : B[(size_t)t * ldb + j];
        acc = fmaf(a, b, acc);
    }
    return alpha * acc + 0.0f;
}

/* Compares C = alpha op(A) op(B) from smallmm with the definition and with cblas_sgemm
   (beta 0) for one shape; A is (m, k) or its transpose, B is (k, n) or (n, k) for nt,
   leading dimensions padded to ld_pad more than the minimum. Returns the count of
   elements that differ from the definition. */
static int compare(int transA, int transB, int m, int n, int k, float alpha, int ld_pad, Rng *r) {
    int lda = (transA ? m : k) + ld_pad, ldb = (transB ? k : n) + ld_pad, ldc = n + ld_pad;
    size_t a_rows = transA ? k : m, b_rows = transB ? n : k;
    float *A = malloc(sizeof(float) * a_rows * lda), *B = malloc(sizeof(float) * b_rows * ldb);
    float *C1 = calloc((size_t)m * ldc, sizeof(float)), *C2 = calloc((size_t)m * ldc, sizeof(float));
    fill(A, a_rows * lda, r);
    fill(B, b_rows * ldb, r);
    float *C3 = calloc((size_t)m * ldc, sizeof(float));
    int a_rs = transA ? 1 : lda, a_cs = transA ? lda : 1;
    if (transB) {
        smallmm_nt(C1, ldc, A, lda, B, ldb, m, n, k, alpha);
    } else {
        smallmm_nn(C1, ldc, A, a_rs, a_cs, B, ldb, m, n, k, alpha);
        smallmm_nn_scalar(C3, ldc, A, a_rs, a_cs, B, ldb, m, n, k, alpha);
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                m, n, k, alpha, A, lda, B, ldb, 0.0f, C2, ldc);
    int differ = 0;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float x = C1[(size_t)i * ldc + j], y = C2[(size_t)i * ldc + j];
            float want = definition(A, lda, transA, B, ldb, transB, i, j, k, alpha);
            differ += memcmp(&x, &want, sizeof x) != 0;
            if (!transB) differ += memcmp(&C3[(size_t)i * ldc + j], &want, sizeof x) != 0;
            CHECK_CLOSE(x, y, 1e-5, 1e-5, "smallmm vs sgemm");
        }
    free(A); free(B); free(C1); free(C2); free(C3);
    return differ;
}

static void test_smallmm_matches_definition(void) {
    /* {m, n, k, ld padding}: the default head (16 tokens, dh 64, d 64), 2 and 4 heads,
       49 tokens, and odd sizes with k over the 128 k-tile */
    static const int shapes[][4] = {{16, 16, 64, 0}, {16, 64, 16, 0}, {16, 32, 16, 32},
                                    {49, 49, 64, 192}, {49, 64, 49, 192}, {8, 8, 8, 8},
                                    {7, 45, 13, 3}, {33, 17, 300, 5}, {3, 70, 2, 0},
                                    {1, 1, 1, 0}, {2, 9, 17, 1}, {5, 31, 130, 2}};
    Rng r;
    rng_seed(&r, 7);
    int differ = 0, total = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const int *x = shapes[s];
        for (int ta = 0; ta < 2; ta++) {
            differ += compare(ta, 0, x[0], x[1], x[2], ta ? 0.125f : 1.0f, x[3], &r);
            total++;
        }
        differ += compare(0, 1, x[0], x[1], x[2], 0.125f, x[3], &r);
        differ += compare(0, 1, x[0], x[1], x[2], 1.0f, x[3], &r);
        total += 2;
    }
    CHECK(differ == 0, "%d elements differ from the definition in %d products", differ, total);
}

/* A chain that ends at -0 is stored as +0, as the BLAS kernel's "+ C" does. */
static void test_smallmm_negative_zero(void) {
    float A[2] = {-1.0f, 0.0f}, B[2] = {0.0f, 0.0f}, C = 1.0f;
    smallmm_nn(&C, 1, A, 2, 1, B, 1, 1, 1, 2, 1.0f);
    float pz = 0.0f;
    CHECK(memcmp(&C, &pz, sizeof C) == 0, "got %g with sign bit %d", C, signbit(C) != 0);
}

SUITE(smallmm_tests) = {
    {"smallmm_matches_definition", test_smallmm_matches_definition},
    {"smallmm_negative_zero", test_smallmm_negative_zero},
    END_SUITE
};
