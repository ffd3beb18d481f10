/* The exact T -> infinity law of the pair (include/pair_exact.h): closed forms, the
   reachability condition, an independent quadrature, the diffusion's drift and variance
   against the simulator's step, and ./simulate pair's Monte Carlo against p_exact. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pair_exact.h"
#include "proc.h"
#include "rng.h"
#include "sde.h"
#include "util.h"

#define PI 3.14159265358979323846

/* d = 2: S' = (1 - c^2)^(-1/2), the start law's density too, so P = 1/2 for every beta
   (the attention term 2 p q (d - 2) vanishes). */
static void test_pair_exact_d2_is_one_half(void) {
    double betas[] = {0, 0.5, 2, 10, 1e4};
    for (int i = 0; i < 5; i++)
        CHECK_CLOSE(pair_exact_antipodal(2, betas[i]), 0.5, 1e-10, 0, "d 2");
}

/* -1 is reachable iff cosh(2 beta) > d - 2; otherwise P = 0 exactly, and just past the
   edge P is positive and small (it leaves 0 continuously). */
static void test_pair_exact_zero_below_the_edge(void) {
    struct { int d; double beta; } zero[] = {{3, 0}, {4, 0.5}, {4, 0.658}, {8, 1.2}, {16, 1.6},
                                             {128, 2.7}, {65536, 5.5}};
    for (size_t i = 0; i < sizeof zero / sizeof *zero; i++) {
        CHECK(!pair_exact_antipodal_reachable(zero[i].d, zero[i].beta), "d %d beta %g: not reachable",
              zero[i].d, zero[i].beta);
        CHECK(pair_exact_antipodal(zero[i].d, zero[i].beta) == 0, "d %d beta %g: P %g, want 0",
              zero[i].d, zero[i].beta, pair_exact_antipodal(zero[i].d, zero[i].beta));
    }
    int ds[] = {4, 8, 32, 128};
    for (int i = 0; i < 4; i++) {
        double edge = 0.5 * acosh(ds[i] - 2.0);
        CHECK(pair_exact_antipodal_reachable(ds[i], edge + 1e-3), "d %d: reachable past the edge", ds[i]);
        double near = pair_exact_antipodal(ds[i], edge + 1e-3), far = pair_exact_antipodal(ds[i], edge + 1);
        CHECK(near > 0 && near < 0.02 && far > near, "d %d: P %g just past the edge %g, %g one further",
              ds[i], near, edge, far);
    }
}

/* The start law against closed forms: d 2 arcsine, d 3 uniform, d 4 semicircle. */
static void test_pair_exact_start_law(void) {
    for (double t = -0.99; t < 1; t += 0.09) {
        CHECK_CLOSE(pair_exact_start_cdf(t, 2), 1 - acos(t) / PI, 1e-12, 0, "d 2 cdf");
        CHECK_CLOSE(pair_exact_start_cdf(t, 3), (1 + t) / 2, 1e-12, 0, "d 3 cdf");
        CHECK_CLOSE(pair_exact_start_cdf(t, 4), 0.5 + (t * sqrt(1 - t * t) + asin(t)) / PI,
                    1e-12, 0, "d 4 cdf");
    }
    CHECK(pair_exact_start_cdf(-1, 9) == 0 && pair_exact_start_cdf(1, 9) == 1, "ends");
}

/* Values from an independent computation: mpmath at 30 digits, directly in c (nested
   tanh-sinh quadrature of S' and of the start law, no change of variables), which agrees
   with pair_exact to 3e-9. */
static void test_pair_exact_independent_values(void) {
    struct { int d; double beta, want; } v[] = {{3, 1, 0.267490019935}, {4, 2, 0.281080128776},
                                                {8, 2, 0.120932841304}, {8, 5, 0.320367059584}};
    for (int i = 0; i < 4; i++) {
        char what[64];
        snprintf(what, sizeof what, "d %d beta %g", v[i].d, v[i].beta);
        CHECK_CLOSE(pair_exact_antipodal(v[i].d, v[i].beta), v[i].want, 1e-8, 0, what);
    }
}

/* The diffusion of c against the simulator: one step of sde_pair_step from a fixed c has
   mean s^2 mu(c) h and variance s^2 var(c) h, up to O(h^2) (within 4 standard errors, and
   1% for the variance). */
static void test_pair_exact_drift_and_variance(void) {
    struct { int d; double beta, c; } cases[] = {{3, 2, -0.7}, {8, 2, 0}, {8, 0.5, 0.3}, {16, 3, -0.4}};
    for (int t = 0; t < 4; t++) {
        SdeParams p = {2, cases[t].d, cases[t].beta, 1.0, 0.0, 1e-3};
        Rng r;
        rng_seed(&r, 17 + t);
        long N = 1000000;
        double s = 0, s2 = 0, c0 = cases[t].c, sig2 = 1.0 / p.d;
        for (long i = 0; i < N; i++) {
            double dc = sde_pair_step(c0, &p, &r) - c0;
            s += dc, s2 += dc * dc;
        }
        double mean = s / N, var = s2 / N - mean * mean;
        double want_mean = sig2 * pair_exact_drift(c0, p.d, p.beta) * p.h;
        double want_var = sig2 * pair_exact_variance(c0, p.d, p.beta) * p.h;
        CHECK(fabs(mean - want_mean) <= 4 * sqrt(var / N), "d %d beta %g c %g: mean step %g, "
              "want %g +- %g", p.d, p.beta, c0, mean, want_mean, sqrt(var / N));
        CHECK_CLOSE(var, want_var, 0, 0.01, "variance of the step");
    }
}

/* ./simulate pair against p_exact in the cells where T = 200 suffices (see docs/SIMULATE.md):
   d 2, 3, 4, 8 x beta 1, 3. There the antipodal exponent |lambda| is 0.18 or more (so
   T |lambda| > 36 >> log(1/delta)) and the interior time scale d / noise_scale^2 <= 8 is
   far below T; the zero cells (d 4 and 8 at beta 1 has P > 0 and 0) are included. Within
   3 binomial standard errors of p_exact (at least 1/runs). */
static void test_pair_exact_against_monte_carlo(void) {
    if (!file_exists("./simulate")) SKIP("./simulate is not built");
    char root[256], cmd[1024], path[400];
    static char out[1 << 16];
    make_temp_dir(root, sizeof root);
    int runs = 1000;
    snprintf(cmd, sizeof cmd, "./simulate pair --betas 1,3 --ds 2,3,4,8 --runs %d --T 200 "
             "--threads 2 --seed 3 --run-dir %s/mc", runs, root);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "run: %s", out);
    snprintf(path, sizeof path, "%s/mc/pair.csv", root);
    char *csv = slurp(path);
    CHECK(csv && strstr(csv, ",mean_stop_time,p_exact\n"), "pair.csv has p_exact last");
    int rows = 0;
    for (char *line = csv ? strchr(csv, '\n') : NULL; line && line[1]; line = strchr(line + 1, '\n')) {
        double v[11];
        char *q = line + 1, *end;
        int got = 0;
        for (; got < 11; got++, q = *end == ',' ? end + 1 : end)
            if (v[got] = strtod(q, &end), end == q) break;
        if (got != 11) break;
        rows++;
        double p = v[10], se = fmax(sqrt(p * (1 - p) / runs), 1.0 / runs);
        CHECK_CLOSE(p, pair_exact_antipodal((int)v[1], v[0]), 1e-9, 0, "p_exact column");
        CHECK(fabs(v[3] - p) <= 3 * se, "beta %g d %g: Monte Carlo %g, exact %g (3 se = %g)",
              v[0], v[1], v[3], p, 3 * se);
        CHECK(v[7] == 0, "beta %g d %g: no undecided runs at T 200 (%g)", v[0], v[1], v[7]);
    }
    CHECK(rows == 8, "8 cells, got %d", rows);
    free(csv);
}

/* Without a limit (value-mean != 0, or no noise) p_exact is nan. */
static void test_pair_exact_nan_without_limit(void) {
    if (!file_exists("./simulate")) SKIP("./simulate is not built");
    char root[256], cmd[1024], path[400];
    static char out[1 << 16];
    make_temp_dir(root, sizeof root);
    snprintf(cmd, sizeof cmd, "./simulate pair --betas 1 --ds 3 --runs 4 --T 1 --noise-scale 0 "
             "--value-mean 1 --threads 1 --run-dir %s/det", root);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "run: %s", out);
    snprintf(path, sizeof path, "%s/det/pair.csv", root);
    char *csv = slurp(path);
    CHECK(csv && strstr(csv, ",nan\n"), "p_exact nan: %s", csv ? csv : "(missing)");
    free(csv);
}

SUITE(pair_exact_tests) = {
    {"pair_exact_d2_is_one_half", test_pair_exact_d2_is_one_half},
    {"pair_exact_zero_below_the_edge", test_pair_exact_zero_below_the_edge},
    {"pair_exact_start_law", test_pair_exact_start_law},
    {"pair_exact_independent_values", test_pair_exact_independent_values},
    {"pair_exact_drift_and_variance", test_pair_exact_drift_and_variance},
    {"pair_exact_against_monte_carlo", test_pair_exact_against_monte_carlo},
    {"pair_exact_nan_without_limit", test_pair_exact_nan_without_limit},
    END_SUITE
};
