/* ./simulate tokens: n tokens under the limit dynamics of MODEL.md (include/sde.h). Runs
   from uniform random starts up to the horizon T; each ends in one cluster, in two antipodal
   groups, or neither. Histograms of the pairwise cosines at chosen times.

   Runs are independent (each its own RNG stream), spread over the threads and reduced in
   run order, so the output depends on the seed and flags only, not on the thread count. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "numlist.h"
#include "options.h"
#include "progress.h"
#include "plot.h"
#include "rng.h"
#include "rundir.h"
#include "sde.h"
#include "simulate.h"
#include "util.h"

#define EXIT_USAGE 2
#define MAX_DEPTHS 64

typedef struct {
    int n, d;
    double beta;
    int runs;
    double T, h;
    char depths[256];
    int bins;
    double delta, noise_scale, value_mean, stop_eps;
    char sampler[16];
    SimRun run;
} TokSettings;

#define F(field) OPTION_FIELD(TokSettings, field)

static const Option OPTIONS[] = {
    {"n", "8", "tokens", T_INT, F(n), 2, 4096, NULL, 1, 0},
    {"d", "3", "width d (tokens on the unit sphere of R^d)", T_INT, F(d), 2, 65536, NULL, 1, 0},
    {"beta", "4", "attention inverse temperature", T_DOUBLE, F(beta), 0, 1e4, NULL, 1, 0},
    {"runs", "400", "independent runs", T_INT, F(runs), 1, 1e7, NULL, 1, 0},
    SIM_LIMIT_OPTIONS(TokSettings),
    {"depths", "0,1,10,50,200", "times t (layer t/h) of the cosine histograms: a,b,c (each <= T)", T_STRING, F(depths), 0, 0, NULL, 1, 0},
    {"bins", "40", "histogram bins over [-1, 1]", T_INT, F(bins), 2, 10000, NULL, 1, 0},
    {"delta", "0.01", "same group: c > 1 - delta; antipodal: c < -1 + delta", T_DOUBLE, F(delta), 1e-12, 1, NULL, 1, 0},
    {"stop-eps", "1e-12", "stop a run early once every pair has 1 - |c_ij| < this (0 = never)", T_DOUBLE, F(stop_eps), 0, 1e-3, NULL, 1, 0},
    {"sampler", "span", "span (exact, O(n d) normals per step) | full (d x d matrix per step)", T_STRING, F(sampler), 0, 0, "span|full", 1, 0},
    SIM_RUN_OPTIONS(TokSettings, "tokens"),
};
#define NUM_OPTIONS ((int)(sizeof OPTIONS / sizeof *OPTIONS))

typedef struct {
    TokSettings cfg;
    char dir[1100];
    double depths[MAX_DEPTHS];
    long depth_step[MAX_DEPTHS], steps;
    int ndepths, threads;
    signed char *outcome;   /* (runs) */
    int *smaller;           /* (runs) */
    int *hist;                        /* (runs, ndepths, bins) */
    double seconds;
} Tokens;

static void help(FILE *out) {
    fprintf(out,
            "Usage: ./simulate tokens [flags]\n"
            "n tokens on the unit sphere of R^d under the limit of MODEL.md: per step of size h,\n"
            "u_i <- normalize(u_i + sqrt(h) (value_mean a_i + a_i^T V)), a_i the attention average\n"
            "(logits beta <u_i,u_j>), V (d x d) iid N(0, noise_scale^2/d) fresh per step, shared\n"
            "(include/sde.h). --runs runs from uniform random starts up to the horizon T; each ends\n"
            "in one cluster (all c_ij > 1 - delta, single linkage), in two antipodal groups (every\n"
            "cross pair c_ij < -1 + delta) or neither. Writes config.json, tokens.csv (the shares\n"
            "with binomial standard errors), sizes.csv (the smaller antipodal group's size),\n"
            "hist.csv and hist.png (pairwise cosines at the --depths times) and summary.json.\n"
            "The network: one head, Q = K = I, tokens of norm sqrt(d) give logits\n"
            "beta_net * d <u_i,u_j> / sqrt(d), so this beta is beta_net * sqrt(d) (MODEL.md).\n\n");
    options_help(OPTIONS, NUM_OPTIONS, out);
    fprintf(out, "\nExit status: 0 done, 1 runtime error (files), 2 bad flags or values.\n");
}

/* The times of the histograms and the number of steps from the flags: 0, or 2 with the
   reason in err. */
static int resolve(void *sim, char *err, size_t errlen) {
    Tokens *K = sim;
    TokSettings *c = &K->cfg;
    char why[512];
    /* default times scaled to the horizon */
    if (!c->run.given[options_find(OPTIONS, NUM_OPTIONS, "depths") - OPTIONS] && c->T != 200) {
        snprintf(c->depths, sizeof c->depths, "0,%.6g,%.6g,%.6g,%.6g", c->T / 200, c->T / 20,
                 c->T / 4, c->T);
    }
    if ((K->steps = sim_steps(c->T, c->h, err, errlen)) < 0) return 2;
    if ((K->ndepths = numlist_parse(c->depths, K->depths, MAX_DEPTHS, why, sizeof why)) < 0)
        return snprintf(err, errlen, "--depths: %s", why), 2;
    for (int i = 0; i < K->ndepths; i++) {
        if (K->depths[i] < 0 || K->depths[i] > c->T * (1 + 1e-9))
            return snprintf(err, errlen, "--depths: %g is not a time in [0, T = %g]", K->depths[i], c->T), 2;
        K->depth_step[i] = (long)llround(K->depths[i] / c->h);
        if (K->depth_step[i] > K->steps) K->depth_step[i] = K->steps;
        if (i && K->depth_step[i] <= K->depth_step[i - 1])
            return snprintf(err, errlen, "--depths must increase (by at least one step h)"), 2;
    }
    if ((double)c->runs * K->ndepths * c->bins > 4e8)
        return snprintf(err, errlen, "--runs x depths x --bins is too large"), 2;
    return 0;
}

static void add_hist(int *hist, const double *U, int n, int d, int bins) {
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            double c = 0;
            for (int k = 0; k < d; k++) c += U[(size_t)i * d + k] * U[(size_t)j * d + k];
            int b = (int)floor((c + 1.0) * 0.5 * bins);
            hist[b < 0 ? 0 : b >= bins ? bins - 1 : b]++;
        }
}

static int absorbed(const double *U, int n, int d, double eps) {
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            double c = 0;
            for (int k = 0; k < d; k++) c += U[(size_t)i * d + k] * U[(size_t)j * d + k];
            if (!(1.0 - fabs(c) < eps)) return 0;
        }
    return 1;
}

static void one_run(Tokens *K, long run, double *U, SdeWork *w) {
    const TokSettings *c = &K->cfg;
    SdeParams p = {c->n, c->d, c->beta, c->noise_scale, c->value_mean, c->h};
    SdeSampler s = strcmp(c->sampler, "full") == 0 ? SDE_FULL : SDE_SPAN;
    Rng r;
    rng_seed_stream(&r, (uint64_t)c->run.seed, (uint64_t)run);
    sde_uniform_tokens(U, c->n, c->d, &r);
    int *hist = K->hist + (size_t)run * K->ndepths * c->bins, next = 0, frozen = 0;
    for (long t = 0; t <= K->steps; t++) {
        while (next < K->ndepths && K->depth_step[next] <= t)
            add_hist(hist + (size_t)next++ * c->bins, U, c->n, c->d, c->bins);
        if (t == K->steps) break;
        if (c->stop_eps > 0 && t % 16 == 0 && absorbed(U, c->n, c->d, c->stop_eps)) frozen = 1;
        if (frozen) {   /* absorbed: the later histograms see the same state */
            while (next < K->ndepths) add_hist(hist + (size_t)next++ * c->bins, U, c->n, c->d, c->bins);
            break;
        }
        sde_step(U, &p, s, w, &r);
    }
    int smaller;
    K->outcome[run] = (signed char)sde_token_outcome(U, c->n, c->d, c->delta, &smaller);
    K->smaller[run] = smaller;
}

/* Outcomes and histograms of every run, a workspace and tokens per thread. */
static double memory(const void *sim, int threads) {
    const Tokens *K = sim;
    const TokSettings *c = &K->cfg;
    double runs = c->runs;
    return runs * (1 + sizeof(int)) + runs * K->ndepths * c->bins * sizeof(int) +
           threads * (sim_sde_work_bytes(c->n, c->d) + sizeof(double) * c->n * c->d);
}

static void run_all(Tokens *K) {
    const TokSettings *c = &K->cfg;
    long total = c->runs, done = 0;
    K->outcome = xmalloc((size_t)total);
    K->smaller = xmalloc(sizeof(int) * total);
    K->hist = xcalloc((size_t)total * K->ndepths * c->bins, sizeof(int));
    double t_start = now_seconds();
    Progress prog;
    progress_start(&prog, "run", 0, total);
#pragma omp parallel num_threads(K->threads)
    {
        SdeWork w;
        sde_work_init(&w, c->n, c->d);
        double *U = xmalloc(sizeof(double) * c->n * c->d);
#pragma omp for schedule(dynamic, 1)
        for (long run = 0; run < total; run++) {
            one_run(K, run, U, &w);
#pragma omp critical(tokens_progress)
            {
                done++;
                progress_update(&prog, done, NULL, done == total);
            }
        }
        free(U);
        sde_work_free(&w);
    }
    K->seconds = now_seconds() - t_start;
}

static int write_results(const Tokens *K, double share[3], double se[3], char *err, size_t errlen) {
    const TokSettings *c = &K->cfg;
    long R = c->runs, count[3] = {0, 0, 0}, *sizes = xcalloc((size_t)c->n / 2 + 1, sizeof(long));
    for (long k = 0; k < R; k++) {
        int o = K->outcome[k];
        count[o == 1 ? 0 : o == 2 ? 1 : 2]++;
        if (o == 2) sizes[K->smaller[k]]++;
    }
    for (int i = 0; i < 3; i++) {
        share[i] = (double)count[i] / R;
        se[i] = sqrt(share[i] * (1 - share[i]) / R);
    }
    TextFile tf;
    FILE *f = text_begin(&tf);
    fprintf(f, "n,d,beta,runs,share_one_cluster,se_one_cluster,share_two_antipodal_groups,"
            "se_two_antipodal_groups,share_neither,se_neither\n%d,%d,%g,%d", c->n, c->d, c->beta, c->runs);
    for (int i = 0; i < 3; i++) fprintf(f, ",%.6f,%.6f", share[i], se[i]);
    fputc('\n', f);
    int rc = text_commit(&tf, K->dir, "tokens.csv", err, errlen);
    f = text_begin(&tf);
    fputs("smaller_group_size,runs,share_of_antipodal_runs\n", f);
    for (int s = 1; s <= c->n / 2; s++)
        fprintf(f, "%d,%ld,%.6f\n", s, sizes[s], count[1] ? (double)sizes[s] / count[1] : 0.0);
    rc = rc ? rc : text_commit(&tf, K->dir, "sizes.csv", err, errlen);
    free(sizes);
    f = text_begin(&tf);
    fputs("time,layer,bin,lo,hi,count,share\n", f);
    long pairs = (long)c->n * (c->n - 1) / 2 * R;
    for (int t = 0; t < K->ndepths; t++)
        for (int b = 0; b < c->bins; b++) {
            long cnt = 0;
            for (long k = 0; k < R; k++) cnt += K->hist[((size_t)k * K->ndepths + t) * c->bins + b];
            fprintf(f, "%g,%ld,%d,%.6f,%.6f,%ld,%.6f\n", K->depths[t], K->depth_step[t], b,
                    -1.0 + 2.0 * b / c->bins, -1.0 + 2.0 * (b + 1) / c->bins, cnt, (double)cnt / pairs);
        }
    rc = rc ? rc : text_commit(&tf, K->dir, "hist.csv", err, errlen);
    f = text_begin(&tf);
    fputs("{\n  \"seconds\": ", f);
    json_put_number(f, "%.3f", K->seconds);
    fprintf(f, ",\n  \"threads\": %d\n}\n", K->threads);
    return rc ? rc : text_commit(&tf, K->dir, "summary.json", err, errlen);
}

/* One histogram curve per time, log scale (the mass piles up at -1 and +1). */
static int write_plot(const Tokens *K, char *err, size_t errlen) {
    char script[4096];
    const TokSettings *c = &K->cfg;
    int len = snprintf(script, sizeof script, PLOT_PNG_TERMINAL
                       "set datafile separator ','\nset title 'pairwise cosines: n = %d, d = %d, "
                       "beta = %g, %d runs, h = %g'\nset xlabel 'c_{ij} = <u_i, u_j>'\n"
                       "set ylabel 'share of pairs'\nset logscale y\nset xrange [-1:1]\nset key top center\n"
                       "plot ", c->n, c->d, c->beta, c->runs, c->h);
    for (int t = 0; t < K->ndepths && len < (int)sizeof script - 200; t++)
        len += snprintf(script + len, sizeof script - len,
                        "%s'hist.csv' using ((sprintf('%%g', $1) eq '%g')?($4+$5)/2:NaN):($7>0?$7:NaN) "
                        "with linespoints lw 2 title 't = %g (layer %ld)'", t ? ", " : "",
                        K->depths[t], K->depths[t], K->depth_step[t]);
    snprintf(script + len, sizeof script - len, "\n");
    return plot_run(K->dir, "hist.png", script, err, errlen);
}

static int prepare(void *sim, char *err, size_t errlen) {
    const Tokens *K = sim;
    return sim_write_limit_config(OPTIONS, NUM_OPTIONS, &K->cfg, K->steps, K->cfg.h, K->threads,
                                  K->dir, err, errlen);
}

static int run(void *sim) {
    Tokens *K = sim;
    const TokSettings *c = &K->cfg;
    char err[2048];
    fprintf(stderr, "simulate tokens: %s, n %d, d %d, beta %g, %d runs, T %g, h %g (%ld steps), "
            "noise-scale %g, value-mean %g, %s sampler, %d threads\n", K->dir, c->n, c->d, c->beta,
            c->runs, c->T, c->h, K->steps, c->noise_scale, c->value_mean, c->sampler, K->threads);
    run_all(K);
    double share[3], se[3];
    if (write_results(K, share, se, err, sizeof err) != 0)
        return fprintf(stderr, "simulate: %s\n", err), 1;
    if (write_plot(K, err, sizeof err) != 0) fprintf(stderr, "simulate: %s\n", err);
    printf("one cluster %.3f +- %.3f, two antipodal groups %.3f +- %.3f, neither %.3f +- %.3f "
           "(%d runs)\n", share[0], se[0], share[1], se[1], share[2], se[2], c->runs);
    fprintf(stderr, "done in %.1f s: %s (tokens.csv, sizes.csv, hist.csv, hist.png)\n", K->seconds, K->dir);
    free(K->outcome);
    free(K->smaller);
    free(K->hist);
    return 0;
}

int sim_tokens_main(int argc, char **argv) {
    static const SimCommand CMD = {"tokens", OPTIONS, NUM_OPTIONS, help, resolve, prepare, run, memory};
    static Tokens K;
    return sim_main(&CMD, &K, &K.cfg, &K.cfg.run, K.dir, sizeof K.dir, &K.threads, argc, argv);
}
