/* cluster_metrics on token sets whose metrics are known by hand. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "metrics.h"
#include "unionfind.h"

#define TOL 1e-9

/* Compares every field of got against want with absolute tolerance tol. */
static void check_metrics(const ClusterMetrics *got, const ClusterMetrics *want, double tol) {
    CHECK_CLOSE(got->mean_cos, want->mean_cos, tol, 0, "mean_cos");
    CHECK_CLOSE(got->mean_abs_cos, want->mean_abs_cos, tol, 0, "mean_abs_cos");
    CHECK_CLOSE(got->frac_clustered, want->frac_clustered, tol, 0, "frac_clustered");
    CHECK_CLOSE(got->frac_antipodal, want->frac_antipodal, tol, 0, "frac_antipodal");
    CHECK_CLOSE(got->order, want->order, tol, 0, "order");
    CHECK_CLOSE(got->n_clusters, want->n_clusters, tol, 0, "n_clusters");
    CHECK_CLOSE(got->stable_rank, want->stable_rank, tol, 0, "stable_rank");
    CHECK_CLOSE(got->energy, want->energy, tol, 0, "energy");
    CHECK_CLOSE(got->one_minus_cos, want->one_minus_cos, tol, 0, "one_minus_cos");
    CHECK_CLOSE(got->one_minus_energy, want->one_minus_energy, tol, 0, "one_minus_energy");
}

/* Deterministic test data without shared state: a 64-bit LCG mapped to (-1, 1). */
static float lcg_uniform(uint64_t *state) {
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(*state >> 11) * 0x1.0p-53 * 2.0 - 1.0);
}

/* Row i of the 4x4 Sylvester-Hadamard matrix divided by 2: orthonormal, entries +-0.5. */
static float hadamard4(int i, int k) {
    int bits = i & k, parity = 0;
    for (; bits; bits >>= 1) parity ^= bits & 1;
    return parity ? -0.5f : 0.5f;
}

static void test_all_tokens_equal(void) {
    enum { n = 5, d = 3 };
    float X[n * d];
    for (int i = 0; i < n; i++) { X[i * d] = 0.3f; X[i * d + 1] = -1.7f; X[i * d + 2] = 2.0f; }
    ClusterMetrics m, want = {1, 1, 1, 0, 1, 1, 1, 1, 1 - (1), 1 - (1)};
    cluster_metrics(&m, X, 1, n, d, 0.01, 1.0);
    check_metrics(&m, &want, TOL);
}

/* energy at beta 1: (2 + 2 exp(-2)) / 4 */
static void test_antipodal_pair(void) {
    float X[2 * 3] = {1, 2, 3, -1, -2, -3};
    ClusterMetrics m, want = {-1, 1, 0, 1, 0, 2, 1, (2 + 2 * exp(-2.0)) / 4, 1 - (-1), 1 - ((2 + 2 * exp(-2.0)) / 4)};
    cluster_metrics(&m, X, 1, 2, 3, 0.01, 1.0);
    check_metrics(&m, &want, TOL);
}

/* Four orthonormal tokens (Hadamard rows, not axis-aligned) in d = 6; energy at beta 1:
   (4 + 12 exp(-1)) / 16. */
static void test_orthonormal_tokens(void) {
    enum { n = 4, d = 6 };
    float X[n * d] = {0};
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 4; k++) X[i * d + k + 1] = hadamard4(i, k);
    ClusterMetrics m, want = {0, 0, 0, 0, 0.5, n, n, (4 + 12 * exp(-1.0)) / 16, 1 - (0), 1 - ((4 + 12 * exp(-1.0)) / 16)};
    cluster_metrics(&m, X, 1, n, d, 0.01, 1.0);
    check_metrics(&m, &want, TOL);
}

/* Tokens a, a, a, -a: 3 pairs at c = 1 and 3 at c = -1 out of 6; mean u = 2a/4;
   energy at beta 1: (4 + 2 (3 + 3 exp(-2))) / 16. */
static void test_antipodal_groups_3_and_1(void) {
    enum { n = 4, d = 3 };
    float a[d] = {0.6f, -0.8f, 2.0f}, X[n * d];
    for (int i = 0; i < n; i++)
        for (int k = 0; k < d; k++) X[i * d + k] = i < 3 ? a[k] : -a[k];
    ClusterMetrics m, want = {0, 1, 0.5, 0.5, 0.5, 2, 1, (10 + 6 * exp(-2.0)) / 16, 1 - (0), 1 - ((10 + 6 * exp(-2.0)) / 16)};
    cluster_metrics(&m, X, 1, n, d, 0.01, 1.0);
    check_metrics(&m, &want, TOL);
}

/* Multiplying every token by 7 changes no metric (cosines and stable rank are scale-free). */
static void test_scale_invariance(void) {
    enum { n = 8, d = 5 };
    float X[n * d], Y[n * d];
    uint64_t st = 42;
    for (int i = 0; i < n * d; i++) { X[i] = lcg_uniform(&st); Y[i] = 7 * X[i]; }
    ClusterMetrics mx, my;
    cluster_metrics(&mx, X, 1, n, d, 0.3, 1.0);
    cluster_metrics(&my, Y, 1, n, d, 0.3, 1.0);
    check_metrics(&my, &mx, 1e-6);
    CHECK(mx.mean_abs_cos > 0.05 && mx.stable_rank > 1.5, "random tokens should be generic");
}

/* B = 2: example 0 all equal, example 1 orthonormal. Each metric is the mean of the two. */
static void test_batch_average(void) {
    enum { n = 4, d = 4 };
    float X[2 * n * d];
    for (int i = 0; i < n; i++)
        for (int k = 0; k < d; k++) {
            X[i * d + k] = (float)(k + 1);
            X[n * d + i * d + k] = hadamard4(i, k);
        }
    ClusterMetrics m0, m1, m;
    cluster_metrics(&m0, X, 1, n, d, 0.01, 1.0);
    cluster_metrics(&m1, X + n * d, 1, n, d, 0.01, 1.0);
    cluster_metrics(&m, X, 2, n, d, 0.01, 1.0);
    ClusterMetrics want = {0.5, 0.5, 0.5, 0, 0.75, 2.5, 2.5, (1 + (4 + 12 * exp(-1.0)) / 16) / 2, 1 - (0.5), 1 - ((1 + (4 + 12 * exp(-1.0)) / 16) / 2)};
    check_metrics(&m, &want, TOL);
    ClusterMetrics mean = {
        (m0.mean_cos + m1.mean_cos) / 2, (m0.mean_abs_cos + m1.mean_abs_cos) / 2,
        (m0.frac_clustered + m1.frac_clustered) / 2, (m0.frac_antipodal + m1.frac_antipodal) / 2,
        (m0.order + m1.order) / 2, (m0.n_clusters + m1.n_clusters) / 2,
        (m0.stable_rank + m1.stable_rank) / 2, (m0.energy + m1.energy) / 2,
        (m0.one_minus_cos + m1.one_minus_cos) / 2, (m0.one_minus_energy + m1.one_minus_energy) / 2};
    check_metrics(&m, &mean, 1e-12);
}

/* Two tokens at cosine 0.995 are clustered for delta 0.01 but not for delta 0.001;
   the mirrored pair at -0.995 is antipodal for delta 0.01 only. */
static void test_delta_threshold(void) {
    float c = 0.995f, s = sqrtf(1 - c * c);
    float near[4] = {1, 0, c, s}, far[4] = {1, 0, -c, s};
    ClusterMetrics m;
    cluster_metrics(&m, near, 1, 2, 2, 0.01, 1.0);
    CHECK_CLOSE(m.mean_cos, 0.995, 1e-6, 0, "cosine of the pair");
    CHECK(m.frac_clustered == 1 && m.n_clusters == 1, "delta 0.01: clustered %g, groups %g",
          m.frac_clustered, m.n_clusters);
    cluster_metrics(&m, near, 1, 2, 2, 0.001, 1.0);
    CHECK(m.frac_clustered == 0 && m.n_clusters == 2, "delta 0.001: clustered %g, groups %g",
          m.frac_clustered, m.n_clusters);
    cluster_metrics(&m, far, 1, 2, 2, 0.01, 1.0);
    CHECK(m.frac_antipodal == 1 && m.frac_clustered == 0, "delta 0.01: antipodal %g", m.frac_antipodal);
    cluster_metrics(&m, far, 1, 2, 2, 0.001, 1.0);
    CHECK(m.frac_antipodal == 0, "delta 0.001: antipodal %g", m.frac_antipodal);
}

/* Angles 0, 0.1, 0.2 rad with delta 0.01: neighbours are joined (cos 0.995 > 0.99), the
   ends are not (cos 0.980), yet single linkage makes one group. */
static void test_single_linkage_chain(void) {
    float X[3 * 2];
    for (int i = 0; i < 3; i++) { X[2 * i] = cosf(0.1f * i); X[2 * i + 1] = sinf(0.1f * i); }
    ClusterMetrics m;
    cluster_metrics(&m, X, 1, 3, 2, 0.01, 1.0);
    CHECK_CLOSE(m.frac_clustered, 2.0 / 3, TOL, 0, "frac_clustered");
    CHECK_CLOSE(m.n_clusters, 1, TOL, 0, "n_clusters");
}

/* Tokens a, a, 0: the zero token has u = 0, so c = 1, 0, 0; mean u = 2 a/|a| / 3;
   it is a group of its own; X has rank 1. energy at beta 1: diagonal 1 + 1 + exp(-1)
   (<u_3, u_3> = 0), pairs 2 (1 + 2 exp(-1)), over 9. */
static void test_zero_token(void) {
    float X[3 * 2] = {3, 4, 3, 4, 0, 0};
    ClusterMetrics m, want = {1.0 / 3, 1.0 / 3, 1.0 / 3, 0, 2.0 / 3, 2, 1, (4 + 5 * exp(-1.0)) / 9, 1 - (1.0 / 3), 1 - ((4 + 5 * exp(-1.0)) / 9)};
    cluster_metrics(&m, X, 1, 3, 2, 0.01, 1.0);
    check_metrics(&m, &want, TOL);
}

/* X = H diag(4, 3, 2, 1) / 2 (H Hadamard): singular values 4, 3, 2, 1 but a full, non-diagonal
   Gram matrix, so stable_rank = (16 + 9 + 4 + 1) / 16. */
static void test_stable_rank_known_spectrum(void) {
    enum { n = 4, d = 7 };
    float X[n * d] = {0}, sv[4] = {4, 3, 2, 1};
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 4; k++) X[i * d + 2 + k] = hadamard4(i, k) * sv[k];
    ClusterMetrics m;
    cluster_metrics(&m, X, 1, n, d, 0.01, 1.0);
    CHECK_CLOSE(m.stable_rank, 30.0 / 16, 1e-12, 0, "stable_rank");
}

/* Tokens of a diverged run (an infinite or NaN coordinate): stable_rank is NaN, and the
   metrics return instead of stopping the program (LAPACK refuses such a matrix). */
static void test_stable_rank_non_finite(void) {
    float X[3 * 2] = {1, 0, INFINITY, 1, 0, 1}, Y[3 * 2] = {1, 0, NAN, 1, 0, 1};
    ClusterMetrics m;
    cluster_metrics(&m, X, 1, 3, 2, 0.01, 1.0);
    CHECK(isnan(m.stable_rank), "inf token: stable_rank %g", m.stable_rank);
    cluster_metrics(&m, Y, 1, 3, 2, 0.01, 1.0);
    CHECK(isnan(m.stable_rank), "nan token: stable_rank %g", m.stable_rank);
}

/* Random X (n = 24, d = 40): stable rank against |X|_2^2 from long power iteration. */
static void test_stable_rank_random(void) {
    enum { n = 24, d = 40 };
    float X[n * d];
    uint64_t st = 7;
    for (int i = 0; i < n * d; i++) X[i] = lcg_uniform(&st) + (i % d == 0 ? 0.5f : 0);
    double G[n * n], v[n], w[n], frob = 0, lambda = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int k = 0; k < d; k++) s += (double)X[i * d + k] * X[j * d + k];
            G[i * n + j] = s;
        }
    for (int i = 0; i < n; i++) { frob += G[i * n + i]; v[i] = 1; }
    for (int it = 0; it < 20000; it++) {
        double norm = 0;
        for (int i = 0; i < n; i++) {
            w[i] = 0;
            for (int j = 0; j < n; j++) w[i] += G[i * n + j] * v[j];
            norm += w[i] * w[i];
        }
        norm = sqrt(norm);
        lambda = 0;
        for (int i = 0; i < n; i++) { lambda += v[i] * w[i]; v[i] = w[i] / norm; }
    }
    ClusterMetrics m;
    cluster_metrics(&m, X, 1, n, d, 0.01, 1.0);
    CHECK_CLOSE(m.stable_rank, frob / lambda, 0, 1e-10, "stable_rank vs power iteration");
    CHECK(m.stable_rank > 1.5 && m.stable_rank < n, "generic stable rank, got %g", m.stable_rank);
}

/* The energy at other betas: 1 for coinciding tokens and for beta 0 whatever the tokens;
   the antipodal pair (2 + 2 exp(-2 beta)) / 4; by hand, tokens (2, 0), (0, 0.5), (-3, 0)
   (c_12 = 0, c_13 = -1, c_23 = 0): (3 + 2 (2 exp(-beta) + exp(-2 beta))) / 9. */
static void test_energy_known_values(void) {
    float same[3 * 2] = {3, 4, 3, 4, 0.3f, 0.4f}, anti[2 * 2] = {1, 2, -1, -2};
    float hand[3 * 2] = {2, 0, 0, 0.5f, -3, 0};
    double betas[] = {0, 0.5, 2.5, 7};
    for (int t = 0; t < 4; t++) {
        double b = betas[t];
        ClusterMetrics m;
        cluster_metrics(&m, same, 1, 3, 2, 0.01, b);
        CHECK_CLOSE(m.energy, 1, 1e-12, 0, "energy, tokens equal");
        cluster_metrics(&m, anti, 1, 2, 2, 0.01, b);
        CHECK_CLOSE(m.energy, (2 + 2 * exp(-2 * b)) / 4, 1e-12, 0, "energy, antipodal pair");
        cluster_metrics(&m, hand, 1, 3, 2, 0.01, b);
        CHECK_CLOSE(m.energy, (3 + 2 * (2 * exp(-b) + exp(-2 * b))) / 9, 1e-12, 0,
                    "energy, three tokens by hand");
    }
    /* one generic example: energy in (0, 1), 1 at beta 0, decreasing in beta */
    uint64_t st = 99;
    float X[8 * 5];
    for (int i = 0; i < 8 * 5; i++) X[i] = lcg_uniform(&st);
    double prev = 2;
    for (int t = 0; t < 4; t++) {
        ClusterMetrics m;
        cluster_metrics(&m, X, 1, 8, 5, 0.01, betas[t]);
        CHECK(m.energy > 0 && m.energy <= 1 + 1e-15 && m.energy < prev, "beta %g: energy %.17g "
              "(previous %.17g)", betas[t], m.energy, prev);
        if (t == 0) CHECK_CLOSE(m.energy, 1, 1e-15, 0, "energy at beta 0");
        prev = m.energy;
    }
}

/* The one union-find of metrics.c and sde.c: sets joined by hand, counted and named. */
static void test_unionfind_sets(void) {
    int parent[7];
    uf_init(parent, 7);
    for (int i = 0; i < 7; i++) CHECK(uf_find(parent, i) == i, "%d starts alone", i);
    int joined = uf_union(parent, 0, 1) + uf_union(parent, 1, 2) + uf_union(parent, 4, 5) +
                 uf_union(parent, 2, 0) + uf_union(parent, 5, 4);
    CHECK(joined == 3, "3 of the 5 unions join two sets, got %d", joined);
    CHECK(uf_find(parent, 0) == uf_find(parent, 2) && uf_find(parent, 4) == uf_find(parent, 5),
          "0, 1, 2 and 4, 5 share a root");
    CHECK(uf_find(parent, 0) != uf_find(parent, 4) && uf_find(parent, 3) == 3 &&
          uf_find(parent, 6) == 6, "the sets stay apart");
    int roots = 0;
    for (int i = 0; i < 7; i++) roots += uf_find(parent, i) == i;
    CHECK(roots == 4, "4 sets: {0,1,2} {3} {4,5} {6}, got %d roots", roots);
}

/* Two fp32 tokens (1, 0) and (1, t), t = 1e-7f: 1 - c = 1 - 1/sqrt(1 + t^2) = about 5e-15,
   far below what 1 - mean_cos resolves (1e-16 steps of a number near 1); the distances to
   one cluster must hold it to 1e-9 relative. With 2 tokens and beta 3,
   1 - energy = (2/4) (1 - exp(-3 (1 - c))). */
static void test_distances_without_cancellation(void) {
    float t = 1e-7f, X[4] = {1, 0, 1, t};
    double tt = (double)t * t, want = tt / (sqrt(1 + tt) * (sqrt(1 + tt) + 1));
    ClusterMetrics m;
    cluster_metrics(&m, X, 1, 2, 2, 0.01, 3.0);
    CHECK_CLOSE(m.one_minus_cos, want, 0, 1e-9, "1 - c at angle 1e-7");
    CHECK_CLOSE(m.one_minus_energy, 0.5 * -expm1(-3.0 * want), 0, 1e-9, "1 - energy at angle 1e-7");
    CHECK(fabs((1 - m.mean_cos) - want) > 1e-3 * want, "1 - mean_cos cannot resolve it "
          "(else this test shows nothing): %.3g vs %.3g", 1 - m.mean_cos, want);
}

SUITE(metrics_tests) = {
    {"metrics_unionfind_sets", test_unionfind_sets},
    {"metrics_all_tokens_equal", test_all_tokens_equal},
    {"metrics_antipodal_pair", test_antipodal_pair},
    {"metrics_orthonormal_tokens", test_orthonormal_tokens},
    {"metrics_antipodal_groups_3_and_1", test_antipodal_groups_3_and_1},
    {"metrics_scale_invariance", test_scale_invariance},
    {"metrics_batch_average", test_batch_average},
    {"metrics_delta_threshold", test_delta_threshold},
    {"metrics_single_linkage_chain", test_single_linkage_chain},
    {"metrics_zero_token", test_zero_token},
    {"metrics_stable_rank_known_spectrum", test_stable_rank_known_spectrum},
    {"metrics_stable_rank_random", test_stable_rank_random},
    {"metrics_stable_rank_non_finite", test_stable_rank_non_finite},
    {"metrics_energy_known_values", test_energy_known_values},
    {"metrics_distances_without_cancellation", test_distances_without_cancellation},
    END_SUITE
};
