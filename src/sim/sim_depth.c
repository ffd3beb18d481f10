/* ./simulate depth: tokens through freshly initialized deep Transformers of MODEL.md; every
   clustering metric per layer, averaged over many independent draws (a new model and new
   tokens per draw), with its standard error. See --help.

   Draws run in parallel, one model per thread (built once, re-initialized per draw). The
   draws' numbers are folded into the means in draw order, so the output depends on the
   seed and flags only, not on the thread count or the scheduling. */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data.h"
#include "json.h"
#include "memest.h"
#include "metrics.h"
#include "model.h"
#include "model_options.h"
#include "options.h"
#include "progress.h"
#include "plot.h"
#include "rng.h"
#include "rundir.h"
#include "simulate.h"
#include "task.h"
#include "util.h"

#define EXIT_USAGE 2
#define NUM_METRICS 10                /* METRICS_CSV_HEADER's 8, then the two distances to one */
#define NUM_PLOTTED 8                 /* depth.png: the first 8 (the distances need a log scale) */
#define NUM_PER_DRAW 2                /* draws.csv: the last two, one_minus_cos, one_minus_energy */
#define DRAW_STREAM 0x5d0000000ULL    /* rng streams of the draws: DRAW_STREAM + draw */
#define SYNTH_TEST_COUNT 4096         /* synthetic sequences the draws pick from */

static const char *const METRIC_NAMES[NUM_METRICS] = {
    "mean_cos", "mean_abs_cos", "frac_clustered", "frac_antipodal", "order", "n_clusters",
    "stable_rank", "energy", "one_minus_cos", "one_minus_energy"};

typedef struct {
    char tokens[32], data_dir[1024];
    int n, vocab, patch;
    double spread;
    int d, layers, heads, mlp;
    double beta, noise_scale, value_mean, value_drift, horizon;
    char residual_scale[16], qk[16];
    int draws, batch;
    double delta;
    int per_draw;
    SimRun run;
} DepthSettings;

#define F(field) OPTION_FIELD(DepthSettings, field)

static const Option OPTIONS[] = {
    {"tokens", "sphere", "sphere (uniform, radius sqrt(d)) | fashion-mnist (test images, embedded) | repeat | majority (sequences) | cap (near one point: see --spread)", T_STRING, F(tokens), 0, 0, "sphere|fashion-mnist|repeat|majority|cap", 1, 0},
    {"spread", "0.001", "cap: tokens sqrt(d) normalize(e + spread z_i), e uniform per token set, z_i ~ N(0, I/d): 1 - cos about spread^2", T_DOUBLE, F(spread), 0, 1e3, NULL, SAVED_OPTIONAL, 0},
    {"n", "16", "tokens per example for sphere, repeat and majority (fashion-mnist: (28/patch)^2)", T_INT, F(n), 2, 4096, NULL, 1, 0},
    {"data-dir", "/usr/share/datasets/fashion-mnist", "fashion-mnist: directory of the IDX files", T_STRING, F(data_dir), 0, 0, NULL, 1, 0},
    {"patch", "7", "fashion-mnist: patch side p (must divide 28)", T_INT, F(patch), 1, 28, NULL, 1, 0},
    {"vocab", "8", "repeat, majority: number of symbols", T_INT, F(vocab), 2, 65536, NULL, 1, 0},
    MODEL_SIZE_OPTIONS(DepthSettings, "64"),
    MODEL_LAYER_OPTIONS(DepthSettings),
    {"draws", "200", "independent draws: a fresh model and fresh tokens each", T_INT, F(draws), 1, 1e7, NULL, 1, 0},
    {"batch", "16", "token sets (examples) per draw; a draw's value is their average", T_INT, F(batch), 1, 100000, NULL, 1, 0},
    {"delta", "0.01", "threshold of frac_clustered, frac_antipodal and n_clusters", T_DOUBLE, F(delta), 0, 2, NULL, 1, 0},
    {"per-draw", NULL, "also write draws.csv: every draw's one_minus_cos and one_minus_energy per layer", T_FLAG, F(per_draw), 0, 0, NULL, 0, 0},
    SIM_RUN_OPTIONS(DepthSettings, "depth"),
};
#define NUM_OPTIONS ((int)(sizeof OPTIONS / sizeof *OPTIONS))
_Static_assert(NUM_OPTIONS <= (int)sizeof(((DepthSettings *)0)->run.given), "DepthSettings.given is too small");

/* The simulation: settings, shape, data, and every draw's per-layer metrics. */
typedef struct {
    DepthSettings cfg;
    char dir[1100];
    ModelShape shape;
    int dataset;          /* 0: tokens on the sphere; 1: inputs of `test` through the embedding */
    int patch;            /* the patch side of images, 0 for sequences (task.h) */
    Dataset train, test;  /* test: the examples the draws pick from (train is unused) */
    int threads;
    double *mean, *m2;    /* (L+1, NUM_METRICS): mean over draws of each draw's batch
                             average, and the sum of squared deviations from it */
    TextFile per_draw;    /* draws.csv with --per-draw, filled in draw order */
    double seconds;
} Depth;

static void help(FILE *out) {
    fprintf(out,
            "Usage: ./simulate depth [flags]\n"
            "Tokens pass through freshly initialized deep Transformers of MODEL.md; every\n"
            "clustering metric is measured at every layer 0..L and averaged over --draws\n"
            "independent draws (new weights and new tokens each) of --batch token sets.\n"
            "Writes runs/NAME/: config.json, depth.csv (per layer: each metric's mean over\n"
            "draws and its standard error), depth.png, summary.json; with --per-draw also\n"
            "draws.csv (each draw's one_minus_cos and one_minus_energy per layer).\n"
            "Flags take a value as '--flag V' or '--flag=V'.\n\n");
    options_help(OPTIONS, NUM_OPTIONS, out);
    fprintf(out, "\nExample, the deterministic and the stochastic picture:\n"
                 "  ./simulate depth --noise-scale 0 --value-mean 1 --name det\n"
                 "  ./simulate depth --noise-scale 1 --value-mean 0 --name sto\n"
                 "Exit status: 0 done, 1 runtime error (data, files), 2 bad flags or values.\n");
}

static int given(const DepthSettings *c, const char *flag) {
    const Option *o = options_find(OPTIONS, NUM_OPTIONS, flag);
    return o ? c->run.given[o - OPTIONS] : 0;
}

/* The model's shape from the flags (and the data); 2 with a reason for bad combinations. */
static int resolve_shape(Depth *D, char *err, size_t errlen) {
    DepthSettings *c = &D->cfg;
    ModelShape *s = &D->shape;
    *s = (ModelShape){.d = c->d, .L = c->layers, .H = c->heads, .n = c->n, .in_dim = 1, .C = 1,
                      .M = c->mlp, .beta = (float)c->beta};
    if (model_options_resolve(c->residual_scale, c->layers, c->horizon, given(c, "value-mean"),
                              given(c, "value-drift"), &c->value_mean, &c->value_drift,
                              &s->alpha, err, errlen) != 0)
        return 2;
    if (c->d % c->heads != 0)
        return snprintf(err, errlen, "--heads %d does not divide --d %d", c->heads, c->d), 2;
    if (given(c, "spread") && strcmp(c->tokens, "cap") != 0)
        return snprintf(err, errlen, "--spread applies to --tokens cap only"), 2;
    if (strcmp(c->tokens, "fashion-mnist") == 0) {
        if (given(c, "n"))
            return snprintf(err, errlen, "--n does not apply to --tokens fashion-mnist "
                            "(n = (28/patch)^2; set --patch)"), 2;
        if (28 % c->patch != 0)
            return snprintf(err, errlen, "--patch %d does not divide the 28x28 images", c->patch), 2;
        if (c->patch == 28)
            return snprintf(err, errlen, "--patch 28 leaves a single token; the metrics need n >= 2"), 2;
    }
    return 0;
}

/* Loads the examples the draws pick from; fixes n and the input size. 0, or 1 with err. */
static int load_tokens(Depth *D, char *err, size_t errlen) {
    const DepthSettings *c = &D->cfg;
    ModelShape *s = &D->shape;
    if (strcmp(c->tokens, "sphere") == 0 || strcmp(c->tokens, "cap") == 0) return 0;
    D->dataset = 1;
    if (task_load(&D->train, &D->test, c->tokens, c->data_dir, 1, SYNTH_TEST_COUNT, c->n, c->vocab,
                  (uint64_t)c->run.seed, err, errlen) != 0 ||
        task_input_shape(s, &D->patch, &D->test, c->patch, err, errlen) != 0)
        return 1;
    s->C = D->test.num_classes;
    return 0;
}

/* The shape (2 with a reason for bad flags), then the data (1 with a reason). */
static int resolve(void *sim, char *err, size_t errlen) {
    Depth *D = sim;
    if (resolve_shape(D, err, errlen) != 0) return 2;
    return load_tokens(D, err, errlen);
}

static void metrics_row(double *out, const ClusterMetrics *m) {
    double v[NUM_METRICS] = {m->mean_cos, m->mean_abs_cos, m->frac_clustered, m->frac_antipodal,
                             m->order, m->n_clusters, m->stable_rank, m->energy,
                             m->one_minus_cos, m->one_minus_energy};
    memcpy(out, v, sizeof v);
}

/* ---- the draws ------------------------------------------------------------------------- */

/* One thread's model and input buffers, reused across its draws. */
#define DRAW_BLOCK 128   /* draws per block (run_draws) */

typedef struct {
    Model model;
    float *states;      /* (batch, n, d) tokens on the sphere */
    TaskBatch batch;    /* the examples of the draw (a dataset's tokens) */
    int32_t *idx;       /* (batch) examples of the draw */
} Worker;

static void worker_init(Worker *w, const Depth *D) {
    const ModelShape *s = &D->shape;
    size_t B = D->cfg.batch, rows = B * s->n;
    model_build(&w->model, *s, (int)B, 1);
    w->states = D->dataset ? NULL : xmalloc(sizeof(float) * rows * s->d);
    w->batch = (TaskBatch){0};
    if (D->dataset) task_batch_alloc(&w->batch, s, D->patch, (int)B);
    w->idx = xmalloc(sizeof(int32_t) * B);
}

/* A model, tokens and a batch per worker (at most one per draw), and a block of draws. */
static double memory(const void *sim, int threads) {
    const Depth *D = sim;
    const ModelShape *s = &D->shape;
    int workers = threads < D->cfg.draws ? threads : D->cfg.draws;
    MemEstimate e;
    Dataset none = {0};
    memest_compute(&e, s, D->cfg.batch, 1, 0, &none, &none);
    double rows = (double)D->cfg.batch * s->n, cells = (double)(s->L + 1) * NUM_METRICS;
    double per_worker = (double)e.total + rows * s->d * sizeof(float);
    return workers * per_worker + DRAW_BLOCK * cells * sizeof(double);
}

static void worker_free(Worker *w) {
    model_free(&w->model);
    free(w->states);
    task_batch_free(&w->batch);
    free(w->idx);
}

/* Draw k: a fresh model and fresh tokens from the stream of k alone; its metrics per layer
   (averaged over the batch) into out (L+1, NUM_METRICS). */
static void run_draw(Worker *w, const Depth *D, int k, double *out) {
    const DepthSettings *c = &D->cfg;
    const ModelShape *s = &D->shape;
    Model *m = &w->model;
    int B = c->batch;
    Rng r;
    rng_seed_stream(&r, (uint64_t)c->run.seed, DRAW_STREAM + (uint64_t)k);
    model_init(m, rng_next(&r), (float)c->noise_scale, (float)c->value_mean);
    if (strcmp(c->qk, "identity") == 0) model_set_qk_identity(m);
    if (!D->dataset) {
        if (strcmp(c->tokens, "cap") == 0) sim_cap_tokens(w->states, B, s->n, s->d, c->spread, &r);
        else sim_sphere_tokens(w->states, B * s->n, s->d, &r);
        model_forward_states(m, w->states, B);
    } else {
        for (int b = 0; b < B; b++) w->idx[b] = (int32_t)rng_below(&r, (uint32_t)D->test.count);
        task_batch_fill(&w->batch, &D->test, w->idx, B);
        model_forward(m, w->batch.patches, w->batch.tokens, NULL, B);
    }
    for (int l = 0; l <= s->L; l++) {
        ClusterMetrics cm;
        cluster_metrics(&cm, model_layer_states(m, l), B, s->n, s->d, c->delta, s->beta);
        metrics_row(out + (size_t)l * NUM_METRICS, &cm);
    }
}

/* --per-draw: draw k's distances to one cluster per layer, rows of draws.csv. */
static void per_draw_rows(Depth *D, const double *draw, int k) {
    for (int l = 0; l <= D->shape.L; l++) {
        const double *row = draw + (size_t)l * NUM_METRICS + NUM_METRICS - NUM_PER_DRAW;
        fprintf(D->per_draw.f, "%d,%d", k, l);
        for (int i = 0; i < NUM_PER_DRAW; i++) fprintf(D->per_draw.f, ",%.10g", row[i]);
        fputc('\n', D->per_draw.f);
    }
}

/* Folds a block of draws, in draw order, into the running means and sums of squared
   deviations (Welford's update: stable when the draws agree to many digits). */
static void accumulate(Depth *D, const double *block, int first, int count) {
    size_t cells = (size_t)(D->shape.L + 1) * NUM_METRICS;
    for (int k = 0; k < count; k++) {
        if (D->cfg.per_draw) per_draw_rows(D, block + (size_t)k * cells, first + k);
        double seen = first + k + 1;
        for (size_t j = 0; j < cells; j++) {
            double x = block[(size_t)k * cells + j], delta = x - D->mean[j];
            D->mean[j] += delta / seen;
            D->m2[j] += delta * (x - D->mean[j]);
        }
    }
}

/* Draws run in blocks of DRAW_BLOCK, the draws of a block in parallel; each block is folded
   in in draw order, so the result does not depend on which thread ran which draw. */
static void run_draws(Depth *D) {
    int draws = D->cfg.draws, T = D->threads, done = 0;
    size_t cells = (size_t)(D->shape.L + 1) * NUM_METRICS;
    double *block = xmalloc(sizeof(double) * DRAW_BLOCK * cells);
    D->mean = xcalloc(cells, sizeof(double));
    D->m2 = xcalloc(cells, sizeof(double));
    double t_start = now_seconds();
    Progress prog;
    progress_start(&prog, "draw", 0, draws);
#pragma omp parallel num_threads(T)
    {
        Worker w;
        worker_init(&w, D);
        for (int first = 0; first < draws; first += DRAW_BLOCK) {
            int count = draws - first < DRAW_BLOCK ? draws - first : DRAW_BLOCK;
#pragma omp for schedule(dynamic, 1)
            for (int k = 0; k < count; k++) {
                run_draw(&w, D, first + k, block + (size_t)k * cells);
#pragma omp critical(depth_progress)
                {
                    done++;
                    progress_update(&prog, done, NULL, done == draws);
                }
            }
#pragma omp single
            accumulate(D, block, first, count);
        }
        worker_free(&w);
    }
    free(block);
    D->seconds = now_seconds() - t_start;
}

/* Standard error of each mean: sample sd / sqrt(draws) (0 for a single draw). */
static double std_error(const Depth *D, size_t j) {
    int n = D->cfg.draws;
    return n > 1 ? sqrt(D->m2[j] / (n - 1) / n) : 0.0;
}

/* ---- files ----------------------------------------------------------------------------- */

static int write_config(const Depth *D, char *err, size_t errlen) {
    const ModelShape *s = &D->shape;
    TextFile tf;
    FILE *f = text_begin(&tf);
    fputs("{\n  \"command\": \"depth\",\n", f);
    options_write_json(OPTIONS, NUM_OPTIONS, &D->cfg, f);
    fprintf(f, "  \"tokens_per_example\": %d,\n  \"input_dim\": %d,\n", s->n,
            D->dataset ? s->in_dim : 0);
    /* The horizon T of the SDE limit (MODEL.md, "The limit"): alpha = sqrt(T/L). */
    const char *rs = D->cfg.residual_scale;
    double horizon = strcmp(rs, "one") == 0 ? s->L : strcmp(rs, "linear") == 0 ? 1.0 / s->L
                   : D->cfg.horizon;
    fputs("  \"alpha\": ", f);
    json_put_number(f, "%.9g", s->alpha);
    fputs(",\n  \"horizon\": ", f);
    json_put_number(f, "%.17g", horizon);
    fputs(",\n", f);
    fprintf(f, "  \"threads\": %d\n}\n", D->threads);
    return text_commit(&tf, D->dir, "config.json", err, errlen);
}

static int write_csv(const Depth *D, char *err, size_t errlen) {
    TextFile tf;
    FILE *f = text_begin(&tf);
    fputs("layer", f);
    for (int i = 0; i < NUM_METRICS; i++) fprintf(f, ",%s,%s_se", METRIC_NAMES[i], METRIC_NAMES[i]);
    fputc('\n', f);
    /* the distances to one cluster (the last NUM_PER_DRAW) with 10 digits: rates are fitted
       from them down to 1e-12 */
    for (int l = 0; l <= D->shape.L; l++) {
        fprintf(f, "%d", l);
        for (int i = 0; i < NUM_METRICS; i++)
            fprintf(f, i < NUM_METRICS - NUM_PER_DRAW ? ",%.6g,%.3g" : ",%.10g,%.10g",
                    D->mean[l * NUM_METRICS + i], std_error(D, l * NUM_METRICS + i));
        fputc('\n', f);
    }
    return text_commit(&tf, D->dir, "depth.csv", err, errlen);
}

static int write_summary(const Depth *D, char *err, size_t errlen) {
    TextFile tf;
    FILE *f = text_begin(&tf);
    fputs("{\n  \"seconds\": ", f);
    json_put_number(f, "%.3f", D->seconds);
    fputs(",\n  \"draws_per_s\": ", f);
    json_put_number(f, "%.2f", D->cfg.draws / fmax(D->seconds, 1e-9));
    fprintf(f, ",\n  \"threads\": %d\n}\n", D->threads);
    return text_commit(&tf, D->dir, "summary.json", err, errlen);
}

/* depth.png: the metrics in [-1, 1] on the left, n_clusters and stable_rank on the right;
   each mean with a band of +-2 standard errors. */
static int write_plot(const Depth *D, char *err, size_t errlen) {
    const DepthSettings *c = &D->cfg;
    char title[512], lines[2][8192];
    snprintf(title, sizeof title, "%s tokens, n %d, d %d, L %d, H %d, beta %g, alpha %g, qk %s, "
             "noise-scale %g, value-mean %g, mlp %d: %d draws x %d", c->tokens, D->shape.n, c->d,
             c->layers, c->heads, c->beta, D->shape.alpha, c->qk, c->noise_scale, c->value_mean,
             c->mlp, c->draws, c->batch);
    /* metric i: mean in column 2+2i, standard error in 3+2i; left panel the metrics in
       [-1, 1] (0..4 and energy, 7), right panel n_clusters and stable_rank (5, 6) */
    for (int panel = 0; panel < 2; panel++) {
        size_t used = 0;
        for (int i = 0; i < NUM_PLOTTED; i++) {
            if ((i == 5 || i == 6) != panel) continue;
            int col = 2 + 2 * i;
            used += snprintf(lines[panel] + used, sizeof lines[0] - used,
                             "%s'depth.csv' using 1:($%d-2*$%d):($%d+2*$%d) with filledcurves "
                             "fs transparent solid 0.2 noborder lc %d notitle, '' using 1:%d with "
                             "lines lw 2 lc %d title '%s'", used ? ", \\\n  " : "",
                             col, col + 1, col, col + 1, i + 1, col, i + 1, METRIC_NAMES[i]);
        }
    }
    char *script = xmalloc(4 * sizeof lines[0]);
    snprintf(script, 4 * sizeof lines[0],
             "set terminal pngcairo size 1200,520 font 'sans,10' noenhanced\n"
             "set datafile separator ','\n"
             "set multiplot layout 1,2 title \"%s\" font 'sans,10'\n"
             "set xlabel 'layer (0 = input tokens)'; set xrange [0:%d]; set grid; set key top left\n"
             "set yrange [-0.05:1.05]; set ylabel 'mean over draws (band: +-2 s.e.)'\n"
             "plot %s\n"
             "set yrange [0:%d]; set ylabel 'tokens'; set key center right\n"
             "plot %s\n"
             "unset multiplot\n",
             title, D->shape.L, lines[0], D->shape.n + 1, lines[1]);
    int rc = plot_run(D->dir, "depth.png", script, err, errlen);
    free(script);
    return rc;
}

/* A few layers of the result on stderr, so a run says what it found. */
static void print_summary(const Depth *D) {
    int L = D->shape.L, shown[5] = {0, L / 4, L / 2, 3 * L / 4, L};
    fprintf(stderr, "layer  mean_cos         frac_clustered   frac_antipodal   order            n_clusters       energy\n");
    for (int j = 0; j < 5; j++) {
        if (j > 0 && shown[j] == shown[j - 1]) continue;
        size_t row = (size_t)shown[j] * NUM_METRICS;
        fprintf(stderr, "%5d", shown[j]);
        const int cols[] = {0, 2, 3, 4, 5, 7};
        for (int i = 0; i < 6; i++)
            fprintf(stderr, "  %7.4f +-%6.4f", D->mean[row + cols[i]], std_error(D, row + cols[i]));
        fputc('\n', stderr);
    }
}

/* ---- main ------------------------------------------------------------------------------ */

/* Once the run directory exists: no earlier results, the thread count, config.json. */
static int prepare(void *sim, char *err, size_t errlen) {
    Depth *D = sim;
    if (D->cfg.run.force) {   /* an earlier run's results must not survive a failed step of this one */
        const char *old[] = {"depth.csv", "depth.png", "summary.json", "draws.csv"};
        char path[1200];
        for (size_t i = 0; i < sizeof old / sizeof *old; i++) {
            snprintf(path, sizeof path, "%s/%s", D->dir, old[i]);
            remove(path);
        }
    }
    if (D->threads > D->cfg.draws) D->threads = D->cfg.draws;
    openblas_set_num_threads(1);   /* parallel over draws; one single-threaded sgemm each */
    return write_config(D, err, errlen);
}

static int run(void *sim) {
    Depth *D = sim;
    const DepthSettings *c = &D->cfg;
    const ModelShape *s = &D->shape;
    char err[2048];
    fprintf(stderr, "simulate depth: %s, %s tokens: n %d, d %d, L %d, H %d, alpha %g, qk %s, "
            "noise-scale %g, value-mean %g; %d draws x %d, %d threads\n", D->dir, c->tokens, s->n,
            s->d, s->L, s->H, s->alpha, c->qk, c->noise_scale, c->value_mean, c->draws, c->batch,
            D->threads);
    if (c->per_draw) fputs("draw,layer,one_minus_cos,one_minus_energy\n", text_begin(&D->per_draw));
    run_draws(D);
    if (write_csv(D, err, sizeof err) != 0 || write_summary(D, err, sizeof err) != 0 ||
        (c->per_draw && text_commit(&D->per_draw, D->dir, "draws.csv", err, sizeof err) != 0))
        return fprintf(stderr, "simulate: %s\n", err), 1;
    if (write_plot(D, err, sizeof err) != 0) fprintf(stderr, "simulate: %s\n", err);
    print_summary(D);
    fprintf(stderr, "done: %s (depth.csv, depth.png)\n", D->dir);
    free(D->mean);
    free(D->m2);
    data_free(&D->train);
    data_free(&D->test);
    return 0;
}

int sim_depth_main(int argc, char **argv) {
    static const SimCommand CMD = {"depth", OPTIONS, NUM_OPTIONS, help, resolve, prepare, run, memory};
    static Depth D;
    return sim_main(&CMD, &D, &D.cfg, &D.cfg.run, D.dir, sizeof D.dir, &D.threads, argc, argv);
}
