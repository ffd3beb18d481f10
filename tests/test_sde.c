/* The token dynamics of include/sde.h: samplers with known answers, the samplers against
   each other, the fixed points, and ./simulate pair / tokens end to end. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "proc.h"
#include "rng.h"
#include "sde.h"
#include "util.h"

static double dotd(const double *x, const double *y, int d) {
    double s = 0;
    for (int k = 0; k < d; k++) s += x[k] * y[k];
    return s;
}

static void test_sde_normals_and_chi2(void) {
    Rng r;
    rng_seed(&r, 11);
    int N = 200000;
    double *z = xmalloc(sizeof(double) * N), m = 0, v = 0, k4 = 0;
    sde_normals(&r, z, N, 2.0);
    for (int i = 0; i < N; i++) m += z[i], v += z[i] * z[i], k4 += pow(z[i], 4);
    m /= N, v /= N, k4 /= N;
    CHECK(fabs(m) < 4 * 2.0 / sqrt(N), "normal mean %g", m);
    CHECK(fabs(v - 4.0) < 4 * 4.0 * sqrt(2.0 / N), "normal variance %g, want 4", v);
    CHECK(fabs(k4 / (v * v) - 3.0) < 0.1, "normal kurtosis %g, want 3", k4 / (v * v));
    free(z);
    int dofs[] = {0, 1, 5, 9, 50};
    for (int t = 0; t < 5; t++) {
        int mdof = dofs[t], n = 50000;
        double s = 0, s2 = 0;
        for (int i = 0; i < n; i++) {
            double x = sde_chi2(&r, mdof);
            s += x, s2 += x * x;
        }
        s /= n, s2 = s2 / n - s * s;
        double se = sqrt(2.0 * mdof / n);
        CHECK(fabs(s - mdof) <= 4 * se, "chi2(%d) mean %g", mdof, s);
        CHECK(fabs(s2 - 2.0 * mdof) <= 0.06 * 2 * mdof, "chi2(%d) variance %g, want %d", mdof, s2, 2 * mdof);
    }
}

/* Known answer: the coordinates k of r_i = a_i^T V have E[r_ik r_jk] = sigma^2 <a_i, a_j>,
   for both samplers, also when the a_i are linearly dependent. */
static void check_noise_covariance(const double *A, int n, int d, SdeSampler s, const char *what) {
    SdeWork w;
    sde_work_init(&w, n, d);
    Rng r;
    rng_seed(&r, 5);
    double sigma = 0.7, C[16] = {0};
    int N = 20000;
    for (int t = 0; t < N; t++) {
        sde_noise(w.R, A, n, d, sigma, s, &w, &r);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) C[i * n + j] += dotd(w.R + i * d, w.R + j * d, d) / ((double)N * d);
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double want = sigma * sigma * dotd(A + i * d, A + j * d, d);
            double scale = sigma * sigma * sqrt(dotd(A + i * d, A + i * d, d) * dotd(A + j * d, A + j * d, d));
            double se = scale * sqrt(2.0 / ((double)N * d)) + 1e-15;
            CHECK(fabs(C[i * n + j] - want) <= 5 * se, "%s: cov(r_%d, r_%d) = %g, want %g (se %g)",
                  what, i, j, C[i * n + j], want, se);
        }
    sde_work_free(&w);
}

static void test_sde_noise_covariance_known(void) {
    int d = 5;
    double A[4 * 5] = {0.9, 0.1, -0.3, 0.2, 0.0,   0.5, 0.5, 0.1, -0.4, 0.3,
                       -0.2, 0.6, 0.0, 0.1, 0.7,   0.2, -0.1, 0.4, 0.3, -0.5};
    check_noise_covariance(A, 4, d, SDE_SPAN, "span");
    check_noise_covariance(A, 4, d, SDE_FULL, "full");
    /* rank 1: a_2 = -a_1, a_3 = 2 a_1 (antipodal / coinciding tokens) */
    double B[3 * 5] = {0.3, -0.2, 0.5, 0.1, 0.4};
    for (int k = 0; k < d; k++) B[5 + k] = -B[k], B[10 + k] = 2 * B[k];
    check_noise_covariance(B, 3, d, SDE_SPAN, "span, rank 1");
    check_noise_covariance(B, 3, d, SDE_FULL, "full, rank 1");
}

/* Two tokens 1e-7 apart (nearly merged, as in a cluster): the span sampler must keep the
   direction between them, so r_2 - r_1 has per-coordinate variance sigma^2 |a_2 - a_1|^2.
   A rank tolerance in Gram-Schmidt looser than the gap would drop it (variance 0). */
static void test_sde_noise_nearly_equal_tokens(void) {
    enum { d = 4 };
    double eps = 1e-7, sigma = 0.7;
    double A[2 * d] = {0.6, 0.8, 0.0, 0.0,   0.6, 0.8, 0.0, 0.0};
    A[d + 2] = eps;                        /* a_2 - a_1 = eps e_3, orthogonal to a_1 */
    for (int s = 0; s < 2; s++) {
        SdeSampler sampler = s ? SDE_FULL : SDE_SPAN;
        SdeWork w;
        sde_work_init(&w, 2, d);
        Rng r;
        rng_seed(&r, 9);
        int N = 20000;
        double v = 0;
        for (int t = 0; t < N; t++) {
            sde_noise(w.R, A, 2, d, sigma, sampler, &w, &r);
            for (int k = 0; k < d; k++) v += pow(w.R[d + k] - w.R[k], 2) / ((double)N * d);
        }
        double want = sigma * sigma * eps * eps, se = want * sqrt(2.0 / ((double)N * d));
        CHECK(fabs(v - want) <= 5 * se, "%s: Var(r_2 - r_1) = %g, want %g (se %g)",
              s ? "full" : "span", v, want, se);
        sde_work_free(&w);
    }
}

/* The law of one step of c from a fixed c0, by the three samplers: mean and variance of
   the new cosine agree within statistical error. */
static void one_step_same_law(SdeParams p, double c0, int check_limit) {
    double s0 = sqrt(1 - c0 * c0);
    int d = p.d;
    int N = 60000;
    double mean[3], var[3];
    for (int m = 0; m < 3; m++) {
        Rng r;
        rng_seed(&r, 100 + m);
        SdeWork w;
        sde_work_init(&w, 2, p.d);
        double U[16], sum = 0, sum2 = 0;
        for (int t = 0; t < N; t++) {
            double c;
            if (m == 0) {
                c = sde_pair_step(c0, &p, &r);
            } else {
                memset(U, 0, sizeof U);
                U[0] = 1, U[d] = c0, U[d + 1] = s0;
                sde_step(U, &p, m == 1 ? SDE_SPAN : SDE_FULL, &w, &r);
                c = dotd(U, U + d, d);
            }
            sum += c - c0, sum2 += (c - c0) * (c - c0);
        }
        mean[m] = sum / N, var[m] = sum2 / N - mean[m] * mean[m];
        sde_work_free(&w);
    }
    for (int m = 1; m < 3; m++) {
        double se_mean = sqrt((var[0] + var[m]) / N), se_var = var[0] * sqrt(8.0 / N);
        CHECK(fabs(mean[m] - mean[0]) <= 4 * se_mean, "d %d h %g sampler %d: mean increment %g vs "
              "reduced %g (se %g)", d, p.h, m, mean[m], mean[0], se_mean);
        CHECK(fabs(var[m] - var[0]) <= 4 * se_var, "d %d h %g sampler %d: variance %g vs reduced %g",
              d, p.h, m, var[m], var[0]);
    }
    if (!check_limit) return;
    /* the known leading order: Var(dc) = 2 h s^2 (p^2 + q^2) (1 - c^2)^2 */
    double ps = 1 / (1 + exp(p.beta * (c0 - 1))), qs = 1 - ps;
    double want = 2 * p.h / p.d * (ps * ps + qs * qs) * pow(1 - c0 * c0, 2);
    CHECK(fabs(var[0] - want) <= 0.1 * want, "Var of one step %g, limit SDE says %g", var[0], want);
}

static void test_sde_samplers_one_step_same_law(void) {
    one_step_same_law((SdeParams){2, 5, 1.5, 1.0, 0.0, 0.05}, 0.3, 1);
    /* large steps, where the parts orthogonal to the plane matter, and value_mean != 0 */
    one_step_same_law((SdeParams){2, 4, 0.5, 1.0, 0.0, 0.5}, -0.5, 0);
    one_step_same_law((SdeParams){2, 8, 3.0, 1.5, 0.7, 0.3}, 0.6, 0);
}

/* Short runs from uniform starts: the end cosine has the same law under the three samplers
   (mean and the shares below -0.5, 0 and 0.5 within 4.5 standard errors). */
static void test_sde_samplers_runs_same_law(void) {
    int ds[2] = {3, 8};
    for (int t = 0; t < 2; t++) {
        SdeParams p = {2, ds[t], 2.0, 1.0, 0.0, 0.02};
        int N = 3000;
        double stat[3][4];
        for (int m = 0; m < 3; m++) {
            double s[4] = {0, 0, 0, 0};
            for (int k = 0; k < N; k++) {
                Rng r;
                rng_seed_stream(&r, 77 + m, k);
                double c = sde_pair_run(&p, 100, 0, m == 0 ? -1 : m == 1 ? SDE_SPAN : SDE_FULL, &r, NULL);
                s[0] += c, s[1] += c < -0.5, s[2] += c < 0, s[3] += c < 0.5;
            }
            for (int i = 0; i < 4; i++) stat[m][i] = s[i] / N;
        }
        for (int m = 1; m < 3; m++)
            for (int i = 0; i < 4; i++) {
                double a = stat[0][i], b = stat[m][i];
                double se = i == 0 ? sqrt(2.0 / N) : sqrt((a * (1 - a) + b * (1 - b)) / N) + 1e-9;
                CHECK(fabs(a - b) <= 4.5 * se, "d %d sampler %d statistic %d: %g vs reduced %g (se %g)",
                      ds[t], m, i, b, a, se);
            }
    }
}

/* u_2 = -u_1 stays antipodal under any noise: a_2 = -a_1, so r_2 = -r_1. */
static void test_sde_antipodal_pair_is_invariant(void) {
    int d = 6;
    for (int m = 0; m < 2; m++) {
        SdeParams p = {2, d, 2.0, 1.0, 0.0, 0.01};
        SdeWork w;
        sde_work_init(&w, 2, d);
        Rng r;
        rng_seed(&r, 3);
        double U[12], u0[6];
        sde_uniform_tokens(U, 1, d, &r);
        for (int k = 0; k < d; k++) U[d + k] = -U[k], u0[k] = U[k];
        double worst = 0;
        for (int t = 0; t < 5000; t++) {
            sde_step(U, &p, m ? SDE_FULL : SDE_SPAN, &w, &r);
            double c = dotd(U, U + d, d);
            if (fabs(c + 1) > worst) worst = fabs(c + 1);
        }
        CHECK(worst < 1e-6, "%s: antipodal pair drifted to c = -1 + %g", m ? "full" : "span", worst);
        CHECK(dotd(U, u0, d) < 0.9, "%s: the pair itself moved (<u, u0> = %g)", m ? "full" : "span",
              dotd(U, u0, d));
        sde_work_free(&w);
    }
    SdeParams p = {2, d, 2.0, 1.0, 0.0, 0.01};
    Rng r;
    rng_seed(&r, 4);
    double c = -1.0;
    for (int t = 0; t < 1000; t++) c = sde_pair_step(c, &p, &r);
    CHECK(c == -1.0, "reduced: c = -1 stays, got %.17g", c);
}

/* Known answer near the antipodal state: eps = 1 + c grows like exp(lambda t) with
   lambda = (noise^2 / d) (d - 2 - cosh 2beta) / cosh^2 beta (the linearized limit SDE). */
static void test_sde_antipodal_growth_rate(void) {
    struct { int d; double beta; } cells[] = {{4, 0.0}, {8, 1.0}, {8, 3.0}, {3, 1.0}};
    for (int i = 0; i < 4; i++) {
        int d = cells[i].d, N = 400;
        double beta = cells[i].beta, T = 5, sum = 0, sum2 = 0;
        SdeParams p = {2, d, beta, 1.0, 0.0, 0.01};
        for (int k = 0; k < N; k++) {
            Rng r;
            rng_seed_stream(&r, 21, k);
            double c = -1 + 1e-8;
            for (int t = 0; t < 500; t++) c = sde_pair_step(c, &p, &r);
            double g = log((1 + c) / 1e-8) / T;
            sum += g, sum2 += g * g;
        }
        double mean = sum / N, se = sqrt((sum2 / N - mean * mean) / N);
        double lambda = (d - 2 - cosh(2 * beta)) / (d * cosh(beta) * cosh(beta));
        CHECK(fabs(mean - lambda) <= 4 * se + 0.02, "d %d beta %g: growth rate %g, linearization says %g (se %g)",
              d, beta, mean, lambda, se);
    }
}

/* Noise 0, value-mean 1 (the deterministic network map), d >= 3: the pair clusters. */
static void test_sde_deterministic_pair_clusters(void) {
    for (int m = -1; m <= 1; m++)
        for (int d = 3; d <= 16; d += 13) {
            SdeParams p = {2, d, 1.0, 0.0, 1.0, 0.01};
            for (int k = 0; k < 20; k++) {
                Rng r;
                rng_seed_stream(&r, 9, k);
                double c = sde_pair_run(&p, 2000, 0, m, &r, NULL);
                CHECK(sde_pair_outcome(c, 0.01) == 1, "sampler %d d %d run %d ends at c = %g, not clustered",
                      m, d, k, c);
            }
        }
}

static void test_sde_token_outcomes(void) {
    int n = 8, d = 3, smaller;
    double U[24] = {0};
    for (int i = 0; i < n; i++) U[i * d] = 1;
    CHECK(sde_token_outcome(U, n, d, 0.01, &smaller) == 1, "all equal: one cluster");
    for (int i = 0; i < 3; i++) U[i * d] = -1;
    CHECK(sde_token_outcome(U, n, d, 0.01, &smaller) == 2 && smaller == 3,
          "3 vs 5 antipodal: two groups, smaller 3 (got %d)", smaller);
    U[1 * d] = 0, U[1 * d + 1] = 1;
    CHECK(sde_token_outcome(U, n, d, 0.01, &smaller) == 0, "a third direction: neither");
    U[1 * d] = -0.999, U[1 * d + 1] = sqrt(1 - 0.999 * 0.999);
    CHECK(sde_token_outcome(U, n, d, 0.01, &smaller) == 2, "within delta of the group");
}

/* ---- ./simulate pair and tokens --------------------------------------------------------- */

static char out[1 << 16];
#define TINY_PAIR "./simulate pair --betas 0,3 --ds 3,16 --runs 40 --T 5 --h 0.05"

static void test_sde_pair_command_deterministic(void) {
    if (!program_built("./simulate")) SKIP("./simulate is not built");
    char root[256], cmd[1024], a[400], b[400], c[400];
    make_temp_dir(root, sizeof root);
    snprintf(cmd, sizeof cmd, TINY_PAIR " --seed 4 --threads 2 --run-dir %s/a", root);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "first run: %s", out);
    snprintf(cmd, sizeof cmd, TINY_PAIR " --seed 4 --threads 2 --run-dir %s/b", root);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "second run: %s", out);
    snprintf(cmd, sizeof cmd, TINY_PAIR " --seed 4 --threads 1 --run-dir %s/c", root);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "one thread: %s", out);
    snprintf(a, sizeof a, "%s/a/pair.csv", root);
    snprintf(b, sizeof b, "%s/b/pair.csv", root);
    snprintf(c, sizeof c, "%s/c/pair.csv", root);
    CHECK(files_equal(a, b), "same seed: identical pair.csv");
    CHECK(files_equal(a, c), "--threads 1 and 2: identical pair.csv");
    char *csv = slurp(a);
    CHECK(csv && strstr(csv, "beta,d,runs,share_antipodal,se_antipodal,share_clustered"), "pair.csv header");
    free(csv);
    snprintf(cmd, sizeof cmd, TINY_PAIR " --seed 5 --threads 2 --run-dir %s/d", root);
    run_cmd(cmd, out, sizeof out);
    snprintf(b, sizeof b, "%s/d/pair.csv", root);
    CHECK(!files_equal(a, b), "another seed: other results");
    snprintf(a, sizeof a, "%s/a/config.json", root);
    CHECK(file_exists(a), "config.json written");
}

static void expect_usage_error(const char *args, const char *message) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "./simulate %s --run-dir /tmp/sde-test-never-created", args);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 2, "'%s' exits 2, got %d: %s", args, rc, out);
    CHECK(strstr(out, message), "'%s' says '%s'; it said: %s", args, message, out);
}

static void test_sde_commands_bad_input(void) {
    if (!program_built("./simulate")) SKIP("./simulate is not built");
    expect_usage_error("pair --ds 1,4", "--ds: 1 is not a whole number");
    expect_usage_error("pair --betas 1:0:3", "--betas:");
    expect_usage_error("pair --T 1 --h 0.3", "not a whole number of steps");
    expect_usage_error("pair --sampler magic", "is not one of reduced|span|full");
    expect_usage_error("pair --runs 0", "out of range");
    expect_usage_error("tokens --n 1", "out of range");
    expect_usage_error("tokens --depths 0,5 --T 2 --h 0.5", "--depths: 5 is not a time");
    expect_usage_error("tokens --depths 2,1 --T 2 --h 0.5", "--depths must increase");
    CHECK(run_cmd("test -e /tmp/sde-test-never-created", out, sizeof out) != 0,
          "no run directory is created for bad input");
    CHECK(run_cmd("./simulate pair --help", out, sizeof out) == 0 && strstr(out, "--betas") &&
          strstr(out, "--stop-eps"), "pair --help");
    CHECK(run_cmd("./simulate tokens --help", out, sizeof out) == 0 && strstr(out, "--depths"),
          "tokens --help");
}

static void test_sde_tokens_command(void) {
    if (!program_built("./simulate")) SKIP("./simulate is not built");
    char root[256], cmd[1024], a[400], b[400];
    make_temp_dir(root, sizeof root);
    const char *args = "--n 6 --d 3 --beta 4 --runs 24 --T 4 --h 0.05 --depths 0,1,4 --seed 2";
    snprintf(cmd, sizeof cmd, "./simulate tokens %s --threads 2 --run-dir %s/a", args, root);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "tokens: %s", out);
    snprintf(cmd, sizeof cmd, "./simulate tokens %s --threads 1 --run-dir %s/b", args, root);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "tokens, 1 thread: %s", out);
    const char *files[] = {"tokens.csv", "sizes.csv", "hist.csv"};
    for (int i = 0; i < 3; i++) {
        snprintf(a, sizeof a, "%s/a/%s", root, files[i]);
        snprintf(b, sizeof b, "%s/b/%s", root, files[i]);
        CHECK(files_equal(a, b), "%s identical for 1 and 2 threads", files[i]);
    }
    /* every run puts n(n-1)/2 = 15 pairs into each time's histogram */
    snprintf(a, sizeof a, "%s/a/hist.csv", root);
    FILE *f = fopen(a, "r");
    long total[3] = {0, 0, 0};
    char line[256];
    if (f) {
        if (!fgets(line, sizeof line, f)) line[0] = 0;
        double t;
        long layer, cnt;
        int bin;
        double lo, hi, share;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "%lf,%ld,%d,%lf,%lf,%ld,%lf", &t, &layer, &bin, &lo, &hi, &cnt, &share) == 7)
                total[t == 0 ? 0 : t == 1 ? 1 : 2] += cnt;
        fclose(f);
    }
    for (int i = 0; i < 3; i++) CHECK(total[i] == 24 * 15, "histogram %d holds %ld pairs, want 360", i, total[i]);
}

SUITE(sde_tests) = {
    {"sde_normals_and_chi2", test_sde_normals_and_chi2},
    {"sde_noise_covariance_known", test_sde_noise_covariance_known},
    {"sde_noise_nearly_equal_tokens", test_sde_noise_nearly_equal_tokens},
    {"sde_samplers_one_step_same_law", test_sde_samplers_one_step_same_law},
    {"sde_samplers_runs_same_law", test_sde_samplers_runs_same_law},
    {"sde_antipodal_pair_is_invariant", test_sde_antipodal_pair_is_invariant},
    {"sde_antipodal_growth_rate", test_sde_antipodal_growth_rate},
    {"sde_deterministic_pair_clusters", test_sde_deterministic_pair_clusters},
    {"sde_token_outcomes", test_sde_token_outcomes},
    {"sde_pair_command_deterministic", test_sde_pair_command_deterministic},
    {"sde_commands_bad_input", test_sde_commands_bad_input},
    {"sde_tokens_command", test_sde_tokens_command},
    END_SUITE,
};
