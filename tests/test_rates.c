/* The clustering rates of docs/MODEL.md ("Clustering rates") against the code: the SA flow's
   local rate 2 fitted from ./simulate depth's depth.csv, the network map's per-layer factor
   (1 + alpha v)^-2 near one cluster, and the two-token exponents near c = +1 and c = -1
   against a Monte Carlo of the network's two-token step. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "metrics.h"
#include "model.h"
#include "pair_lyapunov.h"
#include "proc.h"
#include "rng.h"
#include "sde.h"
#include "simulate.h"
#include "util.h"

static char out[1 << 16];

/* Column col (0 = layer) of every row of a CSV file into v (at most max rows); the count. */
static int csv_column(const char *path, int col, double *v, int max) {
    char *text = slurp(path);
    if (!text) return 0;
    int rows = 0;
    for (char *line = strchr(text, '\n'); line && line[1] && rows < max; line = strchr(line + 1, '\n')) {
        char *p = line + 1;
        for (int c = 0; c < col && p; c++) p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
        if (!p) break;
        v[rows++] = strtod(p, NULL);
    }
    free(text);
    return rows;
}

/* ./simulate depth with args into dir/sub; the exit status (output in out). */
static int depth_in(const char *dir, const char *sub, const char *args) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "./simulate depth %s --run-dir %s/%s", args, dir, sub);
    return run_cmd(cmd, out, sizeof out);
}

/* Least-squares slope of log y against x over the points with lo < y < hi; *used the count. */
static double log_slope(const double *x, const double *y, int m, double lo, double hi, int *used) {
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int k = 0;
    for (int i = 0; i < m; i++) {
        if (!(y[i] > lo && y[i] < hi)) continue;
        double ly = log(y[i]);
        sx += x[i]; sy += ly; sxx += x[i] * x[i]; sxy += x[i] * ly;
        k++;
    }
    *used = k;
    return k > 1 ? (k * sxy - sx * sy) / (k * sxx - sx * sx) : NAN;
}

/* V = I, no noise, Q = K = I, alpha = 0.01 (horizon 0.2 over 2000 layers): each layer is an
   Euler step of length alpha of the SA flow, so log(1 - mean cos) falls at 2 per unit of
   t = layer alpha, the exact per-layer law giving 2 log(1 + alpha) / alpha = 1.990. Fitted
   from depth.csv's one_minus_cos between 1e-4 (the local regime: relative corrections
   (1 + beta) (1 - cos) below 1e-3) and 1e-9 (100 times above the fp32 floor, 1e-11 here). */
static void test_rates_sa_local_rate_from_depth(void) {
    char dir[256], path[400];
    make_temp_dir(dir, sizeof dir);
    int rc = depth_in(dir, "sa", "--qk identity --noise-scale 0 --value-mean 1 --d 8 --n 4 "
                      "--layers 2000 --horizon 0.2 --draws 4 --batch 1 --threads 1");
    CHECK(rc == 0, "simulate depth: exit %d: %s", rc, out);
    enum { ROWS = 2001 };
    double *layer = xmalloc(sizeof(double) * ROWS), *gap = xmalloc(sizeof(double) * ROWS);
    snprintf(path, sizeof path, "%s/sa/depth.csv", dir);
    int m = csv_column(path, 0, layer, ROWS);
    CHECK(m == ROWS && csv_column(path, 17, gap, ROWS) == ROWS, "depth.csv: layers 0..2000, "
          "one_minus_cos in column 17 (got %d rows)", m);
    double alpha = 0.01;
    for (int i = 0; i < m; i++) layer[i] *= alpha;   /* the SA flow's time */
    int used;
    double rate = -log_slope(layer, gap, m, 1e-9, 1e-4, &used);
    double map_rate = 2 * log1p(alpha) / alpha;
    CHECK(used > 300, "the window 1e-9..1e-4 holds %d layers", used);
    CHECK_CLOSE(rate, 2.0, 0, 0.01, "local rate against the SA flow's 2");
    CHECK_CLOSE(rate, map_rate, 0, 1e-3, "local rate against the map's 2 log(1 + alpha) / alpha");
    fprintf(stderr, "    rate %.6f (SA flow 2, network map %.6f, %d layers fitted)\n", rate,
            map_rate, used);
    free(layer);
    free(gap);
}

/* One layer of the network near one cluster, X <- rmsnorm(X + alpha A X V), V = v I, no
   noise, Q = K = I: 1 - mean cos shrinks by (1 + alpha v)^-2 per layer, up to relative
   O((1 + beta sqrt(d)) (1 - cos)) = 5e-5 here. Tokens in a cap of 1 - cos ~ 1e-6. Returns
   the largest relative deviation over the layers. */
static double check_layer_factor(int d, int n, double beta_net, double alpha, double v) {
    enum { L = 3 };
    ModelShape s = {.d = d, .L = L, .H = 1, .n = n, .in_dim = 1, .C = 2, .M = 0,
                    .beta = (float)beta_net, .alpha = (float)alpha};
    Model m;
    model_build(&m, s, 1, 1);
    model_init(&m, 7, 0.0f, (float)v);
    model_set_qk_identity(&m);
    Rng r;
    rng_seed(&r, 11);
    float *X0 = xmalloc(sizeof(float) * n * d);
    sim_cap_tokens(X0, 1, n, d, 1e-3, &r);
    model_forward_states(&m, X0, 1);
    double want = 1.0 / ((1 + alpha * v) * (1 + alpha * v)), prev = 0, worst = 0;
    for (int l = 0; l <= L; l++) {
        ClusterMetrics cm;
        cluster_metrics(&cm, model_layer_states(&m, l), 1, n, d, 0.01, beta_net);
        if (l > 0) {
            char what[128];
            snprintf(what, sizeof what, "layer %d factor, d %d n %d beta_net %g alpha %g v %g", l,
                     d, n, beta_net, alpha, v);
            CHECK_CLOSE(cm.one_minus_cos / prev, want, 0, 1e-3, what);
            worst = fmax(worst, fabs(cm.one_minus_cos / prev / want - 1));
        }
        prev = cm.one_minus_cos;
    }
    free(X0);
    model_free(&m);
    return worst;
}

static void test_rates_network_layer_factor(void) {
    double worst = check_layer_factor(16, 8, 1.0, 0.1, 1.0);
    worst = fmax(worst, check_layer_factor(16, 8, 0.25, 0.5, 1.0));
    worst = fmax(worst, check_layer_factor(64, 32, 1.0, 0.125, 1.0));
    worst = fmax(worst, check_layer_factor(8, 4, 1.0, 0.05, 3.0));
    fprintf(stderr, "    largest relative deviation from (1 + alpha v)^-2: %.2g\n", worst);
}

/* Monte Carlo of the two-token chain near an end (runs of T = 10 at h = 0.001, the
   network's own step): the mean exponent is within 3 standard errors of the exact law,
   and, where the two differ by more than 6 standard errors, not of the growth rate of
   the mean (the law without the Ito correction), so the test can tell them apart. */
static void check_pair_exponent(int d, double beta, int end) {
    enum { RUNS = 100 };
    SdeParams p = {2, d, beta, 1.0, 0.0, 0.001};
    Rng r;
    double sum = 0, ss = 0, est[RUNS];
    for (int i = 0; i < RUNS; i++) {
        rng_seed_stream(&r, 3, (uint64_t)i);
        est[i] = pair_lyapunov_run(&p, end, 10000, &r);
        sum += est[i];
    }
    double mean = sum / RUNS;
    for (int i = 0; i < RUNS; i++) ss += (est[i] - mean) * (est[i] - mean);
    double se = sqrt(ss / (RUNS - 1) / RUNS), s2 = 1.0 / d;
    double law = pair_lyapunov_law(end, d, beta, s2), naive = pair_mean_rate_law(end, d, beta, s2);
    fprintf(stderr, "    d %d beta %g end %+d: Monte Carlo %.4f +- %.4f, law %.4f, mean's rate %.4f\n",
            d, beta, end, mean, se, law, naive);
    CHECK(fabs(mean - law) < 3 * se, "d %d beta %g end %+d: %.4f +- %.4f vs law %.4f", d, beta,
          end, mean, se, law);
    if (fabs(law - naive) > 6 * se)
        CHECK(fabs(mean - naive) > 3 * se, "d %d beta %g end %+d: the mean's rate %.4f fits too",
              d, beta, end, naive);
}

static void test_rates_pair_exponents(void) {
    check_pair_exponent(8, 1.0, +1);   /* -7/8 */
    check_pair_exponent(3, 1.0, -1);   /* cosh 2 > 1: attracting, -0.387 */
    check_pair_exponent(8, 1.0, -1);   /* cosh 2 < 6: repelling, +0.117 */
    check_pair_exponent(32, 4.0, -1);  /* cosh 8 > 30: attracting, -0.061 */
}

/* The exponent at c = -1 changes sign where cosh(2 beta) = d - 2, the reachability of
   c = -1 (pair_exact.h): on a grid, the signs agree. */
static void test_rates_antipodal_sign(void) {
    for (int d = 2; d <= 64; d *= 2)
        for (double beta = 0.05; beta < 4; beta += 0.1) {
            int attracting = pair_lyapunov_law(-1, d, beta, 1.0) < 0;
            CHECK(attracting == (cosh(2 * beta) > d - 2), "d %d beta %g: exponent %g", d, beta,
                  pair_lyapunov_law(-1, d, beta, 1.0));
        }
}

/* --per-draw: draws.csv has a row per draw and layer, and its mean over draws is
   depth.csv's one_minus_cos, the same bytes at 1 and 2 threads; --tokens cap starts at
   1 - cos about spread^2. */
#define PER_DRAW_ARGS "--tokens cap --spread 0.01 --d 16 --n 6 --layers 5 --draws 7 --batch 2 --per-draw"
static void test_rates_per_draw_file(void) {
    char dir[256], path[400], other[400];
    make_temp_dir(dir, sizeof dir);
    int rc = depth_in(dir, "pd", PER_DRAW_ARGS " --threads 2");
    CHECK(rc == 0, "simulate depth --per-draw: exit %d: %s", rc, out);
    rc = depth_in(dir, "pd1", PER_DRAW_ARGS " --threads 1");
    snprintf(path, sizeof path, "%s/pd/draws.csv", dir);
    snprintf(other, sizeof other, "%s/pd1/draws.csv", dir);
    CHECK(rc == 0 && files_equal(path, other), "draws.csv at 2 threads and at 1: the same bytes");
    double layer[64], per[64], mean[6];
    snprintf(path, sizeof path, "%s/pd/draws.csv", dir);
    int rows = csv_column(path, 2, per, 64);
    CHECK(rows == 7 * 6 && csv_column(path, 1, layer, 64) == rows, "draws.csv: 7 draws x 6 layers, got %d", rows);
    snprintf(path, sizeof path, "%s/pd/depth.csv", dir);
    CHECK(csv_column(path, 17, mean, 6) == 6, "depth.csv one_minus_cos");
    for (int l = 0; l < 6; l++) {
        double sum = 0;
        for (int i = 0; i < rows; i++) sum += layer[i] == l ? per[i] / 7 : 0;
        CHECK_CLOSE(sum, mean[l], 0, 1e-8, "mean of draws.csv against depth.csv");
    }
    CHECK(mean[0] > 0.5e-4 && mean[0] < 2e-4, "cap of spread 0.01: 1 - cos %g, about 1e-4", mean[0]);
    rc = run_cmd("./simulate depth --spread 0.1 --run-dir /tmp/simulate-test-never-created", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "--spread applies to --tokens cap only"), "spread without cap: %d %s", rc, out);
}

SUITE(rates_tests) = {
    {"rates_sa_local_rate_from_depth", test_rates_sa_local_rate_from_depth},
    {"rates_network_layer_factor", test_rates_network_layer_factor},
    {"rates_pair_exponents", test_rates_pair_exponents},
    {"rates_antipodal_sign", test_rates_antipodal_sign},
    {"rates_per_draw_file", test_rates_per_draw_file},
    END_SUITE
};
