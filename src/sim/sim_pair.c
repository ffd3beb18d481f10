/* ./simulate pair: two tokens under the limit dynamics of MODEL.md (include/sde.h) over a
   grid of beta and d. R independent runs per cell from uniform random starts, each ends
   antipodal (c < -1 + delta), clustered (c > 1 - delta) or undecided at the horizon T.

   Runs are independent jobs (cell * runs + run, each with its own RNG stream) spread over
   the threads; each result is stored at its index and reduced in order at the end, so the
   output depends on the seed and flags only, not on the thread count. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "numlist.h"
#include "options.h"
#include "pair_exact.h"
#include "pair_lyapunov.h"
#include "progress.h"
#include "plot.h"
#include "rng.h"
#include "rundir.h"
#include "sde.h"
#include "simulate.h"
#include "util.h"

#define EXIT_USAGE 2
#define MAX_LIST 256

typedef struct {
    char betas[256], ds[256];
    int runs;
    double T, h, delta, noise_scale, value_mean, stop_eps;
    char sampler[16];
    int lyapunov;
    SimRun run;
} PairSettings;

#define F(field) OPTION_FIELD(PairSettings, field)

static const Option OPTIONS[] = {
    {"betas", "0:0.25:5", "beta values: a,b,c or start:step:stop", T_STRING, F(betas), 0, 0, NULL, 1, 0},
    {"ds", "2,3,4,8,16,32,64,128", "widths d: a,b,c (whole numbers >= 2)", T_STRING, F(ds), 0, 0, NULL, 1, 0},
    {"runs", "400", "independent runs per (beta, d) cell", T_INT, F(runs), 1, 1e7, NULL, 1, 0},
    SIM_LIMIT_OPTIONS(PairSettings),
    {"delta", "0.01", "antipodal: c < -1 + delta; clustered: c > 1 - delta", T_DOUBLE, F(delta), 1e-12, 1, NULL, 1, 0},
    {"stop-eps", "1e-12", "stop a run early once 1 - |c| < this (absorbed; 0 = always run to T)", T_DOUBLE, F(stop_eps), 0, 1e-3, NULL, 1, 0},
    {"sampler", "reduced", "reduced (the cosine's exact O(1) step) | span (O(n d)) | full (d x d matrix)", T_STRING, F(sampler), 0, 0, "reduced|span|full", 1, 0},
    {"lyapunov", NULL, "instead of the endings: the exponents of log(1 - c) near c = 1 and log(1 + c) near c = -1 per cell (--runs runs of T/h steps of the cosine's chain; value-mean 0), against the exact law: lyapunov.csv", T_FLAG, F(lyapunov), 0, 0, NULL, 0, 0},
    SIM_RUN_OPTIONS(PairSettings, "pair"),
};
#define NUM_OPTIONS ((int)(sizeof OPTIONS / sizeof *OPTIONS))

typedef struct {
    PairSettings cfg;
    char dir[1100];
    double betas[MAX_LIST];
    int ds[MAX_LIST], nb, nd, threads;
    long steps;
    signed char *outcome;   /* (cells * runs) */
    float *time;            /* (cells * runs): time at which the run stopped */
    double *exact;          /* (cells): P(antipodal) as T -> infinity, NAN without a limit */
    double seconds;
} Pair;

static void help(FILE *out) {
    fprintf(out,
            "Usage: ./simulate pair [flags]\n"
            "Two tokens on the unit sphere of R^d under the limit of MODEL.md: per step of size h,\n"
            "u_i <- normalize(u_i + sqrt(h) (value_mean a_i + a_i^T V)), a_i the attention average\n"
            "(logits beta <u_i,u_j>), V (d x d) iid N(0, noise_scale^2/d) fresh per step, shared\n"
            "(include/sde.h). For every (beta, d) of the grid, --runs runs from uniform random\n"
            "starts up to the horizon T; each ends antipodal (c < -1 + delta), clustered\n"
            "(c > 1 - delta) or undecided. Writes config.json, pair.csv (the three shares per cell\n"
            "with binomial standard errors, and p_exact: P(antipodal) as T -> infinity from the\n"
            "exact law of the cosine, by quadrature; nan unless value-mean is 0 and noise-scale\n"
            "> 0), pair.png (P(antipodal) over (beta, d), p_exact as curves) and summary.json\n"
            "into the run directory.\n"
            "The network: one head, Q = K = I, tokens of norm sqrt(d) give logits\n"
            "beta_net * d <u_i,u_j> / sqrt(d), so this beta is beta_net * sqrt(d) (MODEL.md).\n\n");
    options_help(OPTIONS, NUM_OPTIONS, out);
    fprintf(out, "\nExit status: 0 done, 1 runtime error (files), 2 bad flags or values.\n");
}

/* The grid and the number of steps from the flags: 0, or 2 with the reason in err. */
static int resolve(void *sim, char *err, size_t errlen) {
    Pair *P = sim;
    PairSettings *c = &P->cfg;
    double v[MAX_LIST];
    char why[512];
    if ((P->nb = numlist_parse(c->betas, P->betas, MAX_LIST, why, sizeof why)) < 0)
        return snprintf(err, errlen, "--betas: %s", why), 2;
    for (int i = 0; i < P->nb; i++)
        if (P->betas[i] < 0 || P->betas[i] > 1e4)
            return snprintf(err, errlen, "--betas: %g is out of range [0, 1e4]", P->betas[i]), 2;
    if ((P->nd = numlist_parse(c->ds, v, MAX_LIST, why, sizeof why)) < 0)
        return snprintf(err, errlen, "--ds: %s", why), 2;
    for (int i = 0; i < P->nd; i++) {
        if (v[i] != floor(v[i]) || v[i] < 2 || v[i] > 65536)
            return snprintf(err, errlen, "--ds: %g is not a whole number in [2, 65536]", v[i]), 2;
        P->ds[i] = (int)v[i];
    }
    if ((P->steps = sim_steps(c->T, c->h, err, errlen)) < 0) return 2;
    if (c->lyapunov && (c->value_mean != 0 || c->noise_scale <= 0))
        return snprintf(err, errlen, "--lyapunov needs --value-mean 0 and --noise-scale > 0 "
                        "(the exact law's setting)"), 2;
    return 0;
}

/* Outcomes and times of every run, the exact values, a workspace per thread (widest d). */
static double memory(const void *sim, int threads) {
    const Pair *P = sim;
    double total = (double)P->nb * P->nd * P->cfg.runs, dmax = 2;
    for (int i = 0; i < P->nd; i++) dmax = P->ds[i] > dmax ? P->ds[i] : dmax;
    return total * (1 + sizeof(float)) + sizeof(double) * P->nb * P->nd +
           threads * sim_sde_work_bytes(2, (int)dmax);
}

static int sampler_code(const char *s) {
    return strcmp(s, "full") == 0 ? SDE_FULL : strcmp(s, "span") == 0 ? SDE_SPAN : -1;
}

static void run_all(Pair *P) {
    const PairSettings *c = &P->cfg;
    long R = c->runs, total = (long)P->nb * P->nd * R, done = 0;
    int sampler = sampler_code(c->sampler);
    P->outcome = xmalloc((size_t)total);
    P->time = xmalloc(sizeof(float) * total);
    double t_start = now_seconds();
    Progress prog;
    progress_start(&prog, "run", 0, total);
#pragma omp parallel for schedule(dynamic, 8) num_threads(P->threads)
    for (long j = 0; j < total; j++) {
        long cell = j / R;
        SdeParams p = {2, P->ds[cell % P->nd], P->betas[cell / P->nd], c->noise_scale,
                       c->value_mean, c->h};
        Rng r;
        rng_seed_stream(&r, (uint64_t)c->run.seed, (uint64_t)j);
        long steps_done;
        double cend = sde_pair_run(&p, P->steps, c->stop_eps, sampler, &r, &steps_done);
        P->outcome[j] = (signed char)sde_pair_outcome(cend, c->delta);
        P->time[j] = (float)(steps_done * c->h);
        long now_done;
#pragma omp atomic capture
        now_done = ++done;
        if (now_done % 64 == 0 || now_done == total) {
#pragma omp critical(pair_progress)
            progress_update(&prog, now_done, NULL, now_done == total);
        }
    }
    P->seconds = now_seconds() - t_start;
}

/* P(antipodal) as T -> infinity for every cell (pair_exact.h): the limit diffusion exists
   for value_mean 0 and noise > 0 only. */
static void compute_exact(Pair *P) {
    long cells = (long)P->nb * P->nd;
    int limit = P->cfg.value_mean == 0 && P->cfg.noise_scale > 0;
    P->exact = xmalloc(sizeof(double) * cells);
#pragma omp parallel for schedule(dynamic, 1) num_threads(P->threads)
    for (long cell = 0; cell < cells; cell++)
        P->exact[cell] = limit ? pair_exact_antipodal(P->ds[cell % P->nd], P->betas[cell / P->nd])
                               : NAN;
}

/* Shares of the three endings in a cell and their binomial standard errors. */
typedef struct { double share[3], se[3], mean_time; } CellStats;   /* antipodal, clustered, undecided */

static CellStats cell_stats(const Pair *P, long cell) {
    long R = P->cfg.runs, count[3] = {0, 0, 0};
    CellStats s = {{0}, {0}, 0};
    for (long k = 0; k < R; k++) {
        int o = P->outcome[cell * R + k];
        count[o < 0 ? 0 : o > 0 ? 1 : 2]++;
        s.mean_time += P->time[cell * R + k];
    }
    for (int i = 0; i < 3; i++) {
        s.share[i] = (double)count[i] / R;
        s.se[i] = sqrt(s.share[i] * (1 - s.share[i]) / R);
    }
    s.mean_time /= R;
    return s;
}

static int write_results(const Pair *P, char *err, size_t errlen) {
    TextFile tf;
    FILE *f = text_begin(&tf);
    fputs("beta,d,runs,share_antipodal,se_antipodal,share_clustered,se_clustered,"
          "share_undecided,se_undecided,mean_stop_time,p_exact\n", f);
    long undecided_cells = 0;
    for (long cell = 0; cell < (long)P->nb * P->nd; cell++) {
        CellStats s = cell_stats(P, cell);
        fprintf(f, "%g,%d,%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.4f,%.9f\n", P->betas[cell / P->nd],
                P->ds[cell % P->nd], P->cfg.runs, s.share[0], s.se[0], s.share[1], s.se[1],
                s.share[2], s.se[2], s.mean_time, P->exact[cell]);
        undecided_cells += s.share[2] >= 0.05;
    }
    if (text_commit(&tf, P->dir, "pair.csv", err, errlen) != 0) return -1;
    f = text_begin(&tf);
    fputs("{\n  \"seconds\": ", f);
    json_put_number(f, "%.3f", P->seconds);
    fprintf(f, ",\n  \"threads\": %d,\n  \"cells\": %d,\n  \"cells_with_5pct_undecided\": %ld\n}\n",
            P->threads, P->nb * P->nd, undecided_cells);
    return text_commit(&tf, P->dir, "summary.json", err, errlen);
}

/* Heatmap of P(antipodal): beta on x, d as categories on y (one row each). */
static int write_plot(const Pair *P, char *err, size_t errlen) {
    size_t cap = 4096 + (size_t)P->nb * P->nd * 128, len = 0;
    char *s = xmalloc(cap);
    double dx = 1;
    for (int i = 1; i < P->nb; i++)
        if (i == 1 || fabs(P->betas[i] - P->betas[i - 1]) < dx) dx = fabs(P->betas[i] - P->betas[i - 1]);
    if (dx <= 0) dx = 1;
    len += snprintf(s + len, cap - len, PLOT_PNG_TERMINAL
                    "set title 'P(antipodal): two tokens, T = %g, h = %g, %d runs per cell, delta = %g'\n"
                    "set xlabel 'beta'\nset ylabel 'd'\nset cblabel 'P(antipodal)'\n"
                    "set cbrange [0:1]\nset palette defined (0 'white', 0.5 'orange', 1 'dark-red')\n"
                    "set yrange [-0.5:%d.5]\nset xrange [%g:%g]\nset ytics (",
                    P->cfg.T, P->cfg.h, P->cfg.runs, P->cfg.delta, P->nd - 1,
                    P->betas[0] - dx / 2, P->betas[P->nb - 1] + dx / 2);
    for (int i = 0; i < P->nd; i++)
        len += snprintf(s + len, cap - len, "%s'%d' %d", i ? ", " : "", P->ds[i], i);
    len += snprintf(s + len, cap - len, ")\n$data << EOD\n");
    for (long cell = 0; cell < (long)P->nb * P->nd; cell++) {
        CellStats st = cell_stats(P, cell);
        len += snprintf(s + len, cap - len, "%g %ld %.6f\n", P->betas[cell / P->nd],
                        cell % P->nd, st.share[0]);
    }
    /* where the antipodal state turns attracting for value_mean 0 (docs/SIMULATE.md): cosh 2beta = d-2 */
    len += snprintf(s + len, cap - len, "EOD\n$edge << EOD\n");
    for (int i = 0; i < P->nd; i++) {
        double b = P->ds[i] <= 3 ? 0.0 : 0.5 * acosh(P->ds[i] - 2.0);
        if (b <= P->betas[P->nb - 1] + dx / 2)
            len += snprintf(s + len, cap - len, "%g %d\n", b, i);
    }
    /* the exact T -> infinity value as a curve inside each d's row: bottom 0, top 1 */
    len += snprintf(s + len, cap - len, "EOD\n$exact << EOD\n");
    for (int i = 0; i < P->nd; i++) {
        for (int b = 0; b < P->nb; b++) {
            double e = P->exact[(long)b * P->nd + i];
            if (isfinite(e)) len += snprintf(s + len, cap - len, "%g %.6f\n", P->betas[b], i - 0.5 + e);
        }
        len += snprintf(s + len, cap - len, "\n");
    }
    int exact = P->cfg.value_mean == 0 && P->cfg.noise_scale > 0;
    len += snprintf(s + len, cap - len,
                    "EOD\nset key below\n"
                    "plot $data using 1:2:(%g):(0.5):3 with boxxyerror fs solid 1.0 "
                    "noborder fc palette notitle%s%s\n", dx / 2,
                    P->cfg.value_mean == 0 ? ", $edge using 1:2 with linespoints lw 2 pt 7 lc "
                    "'black' title 'cosh(2 beta) = d - 2: antipodal pair attracting to the right'" : "",
                    exact ? ", $exact using 1:2 with lines lw 2 lc 'blue' title 'exact P(antipodal), "
                    "T -> infinity (height in the row: 0 bottom, 1 top)'" : "");
    int rc = plot_run(P->dir, "pair.png", s, err, errlen);
    free(s);
    return rc;
}

/* Under each row of Monte Carlo shares, the exact T -> infinity value ("exact"). */
static void print_table(const Pair *P) {
    printf("P(antipodal) (%d runs per cell at T %g; under each d its exact value as T -> "
           "infinity; rows d, columns beta)\n%6s", P->cfg.runs, P->cfg.T, "d\\beta");
    for (int b = 0; b < P->nb; b++) printf(" %5g", P->betas[b]);
    printf("\n");
    for (int i = 0; i < P->nd; i++) {
        printf("%6d", P->ds[i]);
        for (int b = 0; b < P->nb; b++) printf(" %5.2f", cell_stats(P, (long)b * P->nd + i).share[0]);
        printf("\n%6s", "exact");
        for (int b = 0; b < P->nb; b++) printf(" %5.2f", P->exact[(long)b * P->nd + i]);
        printf("\n");
    }
}

/* --lyapunov: per cell and end (+1, then -1) the mean over runs of each run's exponent
   (pair_lyapunov_run), its standard error, and the exact law. Runs are jobs with their own
   RNG streams (after the endings' streams), reduced in order: no dependence on threads. */
#define LYAPUNOV_STREAM 0x1a0000000ULL
static int run_lyapunov(Pair *P, char *err, size_t errlen) {
    const PairSettings *c = &P->cfg;
    long R = c->runs, total = (long)P->nb * P->nd * 2 * R;
    double *est = xmalloc(sizeof(double) * total), t_start = now_seconds();
#pragma omp parallel for schedule(dynamic, 4) num_threads(P->threads)
    for (long j = 0; j < total; j++) {
        long cell = j / (2 * R);
        SdeParams p = {2, P->ds[cell % P->nd], P->betas[cell / P->nd], c->noise_scale, 0, c->h};
        Rng r;
        rng_seed_stream(&r, (uint64_t)c->run.seed, LYAPUNOV_STREAM + (uint64_t)j);
        est[j] = pair_lyapunov_run(&p, j / R % 2 ? -1 : 1, P->steps, &r);
    }
    P->seconds = now_seconds() - t_start;
    TextFile tf;
    FILE *f = text_begin(&tf);
    fputs("beta,d,end,runs,T,h,lyapunov,se,lyapunov_law,mean_rate_law\n", f);
    for (long k = 0; k < total / R; k++) {
        long cell = k / 2;
        int end = k % 2 ? -1 : 1, d = P->ds[cell % P->nd];
        double beta = P->betas[cell / P->nd], s2 = c->noise_scale * c->noise_scale / d;
        double mean = 0, ss = 0;
        for (long i = 0; i < R; i++) mean += est[k * R + i] / R;
        for (long i = 0; i < R; i++) ss += (est[k * R + i] - mean) * (est[k * R + i] - mean);
        fprintf(f, "%g,%d,%d,%ld,%g,%g,%.6f,%.6f,%.6f,%.6f\n", beta, d, end, R, c->T, c->h,
                mean, R > 1 ? sqrt(ss / (R - 1) / R) : 0.0, pair_lyapunov_law(end, d, beta, s2),
                pair_mean_rate_law(end, d, beta, s2));
    }
    free(est);
    return text_commit(&tf, P->dir, "lyapunov.csv", err, errlen);
}

static int prepare(void *sim, char *err, size_t errlen) {
    const Pair *P = sim;
    return sim_write_limit_config(OPTIONS, NUM_OPTIONS, &P->cfg, P->steps, P->cfg.h, P->threads,
                                  P->dir, err, errlen);
}

static int run(void *sim) {
    Pair *P = sim;
    const PairSettings *c = &P->cfg;
    char err[2048];
    fprintf(stderr, "simulate pair: %s, %d beta x %d d cells, %d runs each, T %g, h %g (%ld steps), "
            "noise-scale %g, value-mean %g, %s sampler, %d threads\n", P->dir, P->nb, P->nd, c->runs,
            c->T, c->h, P->steps, c->noise_scale, c->value_mean, c->sampler, P->threads);
    if (c->lyapunov) {
        if (run_lyapunov(P, err, sizeof err) != 0) return fprintf(stderr, "simulate: %s\n", err), 1;
        fprintf(stderr, "done in %.1f s: %s (lyapunov.csv)\n", P->seconds, P->dir);
        return 0;
    }
    run_all(P);
    compute_exact(P);
    if (write_results(P, err, sizeof err) != 0) return fprintf(stderr, "simulate: %s\n", err), 1;
    if (write_plot(P, err, sizeof err) != 0) fprintf(stderr, "simulate: %s\n", err);
    print_table(P);
    fprintf(stderr, "done in %.1f s: %s (pair.csv, pair.png)\n", P->seconds, P->dir);
    free(P->outcome);
    free(P->time);
    free(P->exact);
    return 0;
}

int sim_pair_main(int argc, char **argv) {
    static const SimCommand CMD = {"pair", OPTIONS, NUM_OPTIONS, help, resolve, prepare, run, memory};
    static Pair P;
    return sim_main(&CMD, &P, &P.cfg, &P.cfg.run, P.dir, sizeof P.dir, &P.threads, argc, argv);
}
