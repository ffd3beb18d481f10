/* ./train: trains the Transformer of MODEL.md on one task and logs, per layer and over
   training, the token-clustering metrics of a fixed probe batch. See --help. */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blasinfo.h"
#include "checkpoint.h"
#include "config.h"
#include "data.h"
#include "freeze.h"
#include "memest.h"
#include "metrics.h"
#include "model.h"
#include "optim.h"
#include "progress.h"
#include "rng.h"
#include "rundir.h"
#include "runfiles.h"
#include "runmeta.h"
#include "runplots.h"
#include "task.h"
#include "util.h"

#ifndef GIT_COMMIT
#define GIT_COMMIT "unknown"
#endif
#define EXIT_USAGE 2
#define EXIT_DIVERGED 3
#define EXIT_INTERRUPTED 130

/* Set by SIGINT/SIGTERM; a signal handler can only talk to the loop through a global. */
static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) { (void)sig; stop_requested = 1; }

typedef struct {
    Config cfg;
    char dir[1100];
    Dataset train, test;
    Model model;
    Optimizer opt;
    int patch;                   /* 0 for token sequences */
    long total_steps, steps_per_epoch, perm_epoch;
    int threads;
    TaskBatch batch;             /* inputs and labels of up to max_batch examples */
    int32_t *perm;               /* (train.count) order of the current epoch */
    FILE *train_csv, *eval_csv, *clusters_csv;
    int lock_fd;                 /* the run directory's lock, held until the process ends */
    Progress progress;           /* the progress line on stderr */
    MemEstimate mem;             /* memory the run needs, checked before model_build */
} Trainer;

static int usage_error(const char *msg) {
    fprintf(stderr, "train: %s\nRun './train --help' for the list of flags.\n", msg);
    return EXIT_USAGE;
}

/* ---- setup ----------------------------------------------------------------------------- */

static int load_data(Trainer *T, char *err, size_t errlen) {
    const Config *c = &T->cfg;
    return task_load(&T->train, &T->test, c->dataset, c->data_dir, c->train_size, c->test_size,
                     c->seq_len, c->vocab, (uint64_t)c->seed, err, errlen);
}

static int model_shape(Trainer *T, const Dataset *ds, ModelShape *s, char *err, size_t errlen);
static OptConfig opt_config(const Config *c);
static int plan_memory(Trainer *T, const Dataset *train, const Dataset *test, ModelShape *shape,
                       int *max_batch, char *err, size_t errlen);

/* Synthetic data is generated from the flags alone: refuse sizes that cannot fit first.
   An image folder's sizes come from the images' headers: the whole run is estimated before
   any pixel is decoded. Returns 0, 1 (data that cannot be read) or EXIT_USAGE (too large). */
static int check_data_size(Trainer *T, char *err, size_t errlen) {
    const Config *c = &T->cfg;
    if (strcmp(c->dataset, "folder") == 0) {
        Dataset tr, te;
        ModelShape shape;
        int max_batch;
        if (data_folder_sizes(&tr, &te, c->data_dir, err, errlen) != 0) return 1;
        int rc = plan_memory(T, &tr, &te, &shape, &max_batch, err, errlen) ? EXIT_USAGE : 0;
        data_free(&tr);
        data_free(&te);
        return rc;
    }
    if (strcmp(c->dataset, "fashion-mnist") == 0) return 0;
    memest_synthetic(&T->mem, c->train_size, c->test_size, c->seq_len);
    return memest_check(&T->mem, memest_physical(), err, errlen) ? EXIT_USAGE : 0;
}

/* The model's shape from the flags and the data ds; -1 with a reason if they do not fit. */
static int model_shape(Trainer *T, const Dataset *ds, ModelShape *s, char *err, size_t errlen) {
    const Config *c = &T->cfg;
    *s = (ModelShape){.d = c->d, .L = c->layers, .H = c->heads, .C = ds->num_classes,
                      .M = c->mlp, .beta = (float)c->beta,
                      .alpha = model_alpha(c->residual_scale, c->layers, c->horizon)};
    return task_input_shape(s, &T->patch, ds, c->patch, err, errlen);
}

/* The initial weights of MODEL.md for the settings (--qk identity: Q = K = I). */
static void init_weights(Model *m, const Config *c) {
    model_init(m, (uint64_t)c->seed, (float)c->noise_scale, (float)c->value_mean);
    if (strcmp(c->qk, "identity") == 0) model_set_qk_identity(m);
}

/* The model's shape, the largest batch and the memory estimate (T->mem) for datasets train
   and test (their sizes suffice); -1 with the reason if they do not fit. */
static int plan_memory(Trainer *T, const Dataset *train, const Dataset *test, ModelShape *shape,
                       int *max_batch, char *err, size_t errlen) {
    const Config *c = &T->cfg;
    if (model_shape(T, train, shape, err, errlen) != 0) return -1;
    if (c->batch > train->count)
        return snprintf(err, errlen, "--batch is larger than the training set"), -1;
    *max_batch = c->batch > 256 ? c->batch : 256;
    if (c->probe_size > *max_batch) *max_batch = c->probe_size;
    memest_compute(&T->mem, shape, *max_batch, T->threads, optim_moments(opt_config(c)), train, test);
    return memest_check(&T->mem, memest_physical(), err, errlen);
}

static void alloc_batch(Trainer *T) {
    task_batch_alloc(&T->batch, &T->model.s, T->patch, T->model.max_batch);
    T->batch.threads = T->threads;
    T->perm = xmalloc(sizeof(int32_t) * T->train.count);
    T->perm_epoch = -1;
}

/* ---- batches, evaluation, metrics ----------------------------------------------------- */

/* The examples of update `step`: a fresh permutation per epoch, drawn from the seed and
   the epoch number alone, so a resumed run sees exactly the same batches. */
static const int32_t *batch_indices(Trainer *T, long step) {
    long epoch = step / T->steps_per_epoch;
    if (epoch != T->perm_epoch) {
        Rng r;
        rng_seed_stream(&r, (uint64_t)T->cfg.seed, 1000 + (uint64_t)epoch);
        for (int i = 0; i < T->train.count; i++) T->perm[i] = i;
        rng_shuffle(&r, T->perm, T->train.count);
        T->perm_epoch = epoch;
    }
    return T->perm + (step % T->steps_per_epoch) * T->cfg.batch;
}

static int count_correct(const float *logits, const int32_t *labels, int B, int C) {
    int correct = 0;
    for (int b = 0; b < B; b++) {
        int best = 0;
        for (int c = 1; c < C; c++)
            if (logits[b * C + c] > logits[b * C + best]) best = c;
        correct += best == labels[b];
    }
    return correct;
}

/* Loss and accuracy on the whole test split, in chunks of max_batch. */
static void evaluate(Trainer *T, double *loss, double *acc) {
    Model *m = &T->model;
    int32_t *idx = xmalloc(sizeof(int32_t) * m->max_batch);
    double sum = 0.0;
    long correct = 0;
    for (int start = 0; start < T->test.count; start += m->max_batch) {
        int B = T->test.count - start < m->max_batch ? T->test.count - start : m->max_batch;
        for (int b = 0; b < B; b++) idx[b] = start + b;
        task_batch_fill(&T->batch, &T->test, idx, B);
        sum += model_forward(m, T->batch.patches, T->batch.tokens, T->batch.labels, B) * B;
        correct += count_correct(m->a.logits, T->batch.labels, B, m->s.C);
    }
    free(idx);
    *loss = sum / T->test.count;
    *acc = (double)correct / T->test.count;
}

/* Metrics of every layer's token states on the probe batch (the first probe_size test
   examples), from the activations the forward pass keeps anyway. -1 if the rows could not
   be written. */
static int log_clusters(Trainer *T, long step, char *err, size_t errlen) {
    Model *m = &T->model;
    int B = T->cfg.probe_size < T->test.count ? T->cfg.probe_size : T->test.count;
    int32_t *idx = xmalloc(sizeof(int32_t) * B);
    for (int b = 0; b < B; b++) idx[b] = b;
    task_batch_fill(&T->batch, &T->test, idx, B);
    model_forward(m, T->batch.patches, T->batch.tokens, NULL, B);
    for (int l = 0; l <= m->s.L; l++) {
        ClusterMetrics cm;
        cluster_metrics(&cm, model_layer_states(m, l), B, m->s.n, m->s.d, T->cfg.delta,
                        m->s.beta);
        fprintf(T->clusters_csv, "%ld,%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.4f,%.4f,%.6f\n", step, l,
                cm.mean_cos, cm.mean_abs_cos, cm.frac_clustered, cm.frac_antipodal, cm.order,
                cm.n_clusters, cm.stable_rank, cm.energy);
    }
    free(idx);
    return rundir_flush_csv(T->clusters_csv, T->dir, "clusters.csv", err, errlen);
}

/* ---- files ---------------------------------------------------------------------------- */

static int write_config(Trainer *T, char *err, size_t errlen) {
    RunRecord r = {.cfg = &T->cfg, .shape = &T->model.s, .train = &T->train, .test = &T->test,
                   .patch = T->patch, .total_steps = T->total_steps,
                   .parameters = T->model.num_params, .mem = &T->mem, .git_commit = GIT_COMMIT};
    return runfiles_write_config(T->dir, &r, err, errlen);
}

static int save(Trainer *T, long step, char *err, size_t errlen) {
    RunMeta rm;
    runmeta_build(&rm, &T->cfg, &T->model.s, T->patch);
    CheckpointMeta cm = runmeta_view(&rm);
    return checkpoint_save(T->dir, &T->model, &T->opt, step, &cm, err, errlen);
}

/* --resume: the settings config.json holds now must be those the checkpoint was saved with
   (a hand-edited seed, lr or dataset would continue another run's weights). */
static int same_run_as_checkpoint(Trainer *T, char *err, size_t errlen) {
    if (!checkpoint_exists(T->dir)) return 0;
    RunMeta rm;
    runmeta_build(&rm, &T->cfg, &T->model.s, T->patch);
    CheckpointMeta cm = runmeta_view(&rm);
    if (checkpoint_check_meta(T->dir, &cm, err, errlen) == 0) return 0;
    char why[768];
    snprintf(why, sizeof why, "%.767s", err);
    snprintf(err, errlen, "%.1100s/%.767s", T->dir, why);
    return -1;
}

static int write_summary(Trainer *T, const RunEnd *e, char *err, size_t errlen) {
    return runfiles_write_summary(T->dir, e, T->total_steps, T->cfg.batch, T->threads, err, errlen);
}

/* ---- the loop ------------------------------------------------------------------------- */

/* What one update measured: the loss and accuracy of its batch (before the update). */
typedef struct { double loss, acc, gnorm, seconds; float lr; int diverged; } StepStats;

static StepStats train_step(Trainer *T, long step) {
    Model *m = &T->model;
    const Config *c = &T->cfg;
    StepStats st;
    double t0 = now_seconds();
    task_batch_fill(&T->batch, &T->train, batch_indices(T, step), c->batch);
    model_zero_grad(m);
    st.loss = model_forward(m, T->batch.patches, T->batch.tokens, T->batch.labels, c->batch);
    model_backward(m, T->batch.patches, T->batch.tokens, T->batch.labels, c->batch);
    if (T->opt.frozen) optim_mask_grads(&T->opt, m->grads);   /* norm of the trained ones */
    st.gnorm = grad_norm(m->grads, m->num_params, T->threads);
    st.lr = lr_at(step, T->total_steps, (float)c->lr, c->warmup, (float)c->min_lr,
                  strcmp(c->schedule, "constant") == 0 ? SCHED_CONSTANT : SCHED_COSINE);
    st.diverged = !isfinite(st.loss) || !isfinite(st.gnorm);
    if (!st.diverged) {   /* a non-finite gradient must not reach the weights */
        clip_grad_norm(m->grads, m->num_params, st.gnorm, (float)c->clip, T->threads);
        optim_step(&T->opt, m->params, m->grads, st.lr);
    }
    st.acc = (double)count_correct(m->a.logits, T->batch.labels, c->batch, m->s.C) / c->batch;
    st.seconds = now_seconds() - t0;
    return st;
}

/* One row per --log-every updates with that update's own values (not a running mean), so
   a resumed run writes exactly the rows an uninterrupted one would. */
static int log_train_row(Trainer *T, long step, const StepStats *st, char *err, size_t errlen) {
    fprintf(T->train_csv, "%ld,%.4f,%.6f,%.6f,%.6g,%.6g,%.3f\n", step,
            (double)step * T->cfg.batch / T->train.count, st->loss, st->acc, st->lr, st->gnorm,
            1e3 * st->seconds);
    return rundir_flush_csv(T->train_csv, T->dir, "train.csv", err, errlen);
}

static void progress(Trainer *T, long step, double loss, int final) {
    char note[32];
    snprintf(note, sizeof note, "loss %.4f", loss);
    progress_update(&T->progress, step, note, final);
}

static int eval_and_log(Trainer *T, long step, double *loss, double *acc, char *err, size_t errlen) {
    evaluate(T, loss, acc);
    fprintf(T->eval_csv, "%ld,%.6f,%.6f\n", step, *loss, *acc);
    if (rundir_flush_csv(T->eval_csv, T->dir, "eval.csv", err, errlen) != 0) return -1;
    if (isatty(STDERR_FILENO)) fputc('\n', stderr);
    fprintf(stderr, "eval at step %ld: test loss %.4f, test accuracy %.2f%%\n", step, *loss, 100 * *acc);
    return 0;
}

/* 1 if every weight is a finite number (a checkpoint must never hold anything else). */
static int weights_finite(const Trainer *T) {
    const float *p = T->model.params;
    for (size_t i = 0; i < T->model.num_params; i++)
        if (!isfinite(p[i])) return 0;
    return 1;
}

/* The run diverged at update `at` (a non-finite loss, gradient or weight): nothing more
   is saved, so the checkpoint on disk (step `saved`, -1 if none) is the last good one.
   Writes summary.json and the plots, says what to change, returns EXIT_DIVERGED. */
static int diverged(Trainer *T, RunEnd *e, long at, const char *what, long saved) {
    const Config *c = &T->cfg;
    char err[1024], kept[1400];
    e->status = "diverged";
    e->diverged_at = at;
    e->checkpoint_step = saved;
    e->test_acc = -1;
    if (write_summary(T, e, err, sizeof err) != 0) fprintf(stderr, "train: %s\n", err);
    if (runplots_write(T->dir, err, sizeof err) != 0) fprintf(stderr, "train: %s\n", err);
    if (saved >= 0) snprintf(kept, sizeof kept, "the last good checkpoint (step %ld) is kept in %s", saved, T->dir);
    else snprintf(kept, sizeof kept, "no checkpoint was saved before it (the first comes at step %ld)",
                  c->eval_every);
    fprintf(stderr, "train: diverged at update %ld: %s is not finite; %s. Try a lower --lr (now %g), "
            "gradient clipping (--clip 1; now %g) or a longer --warmup (now %ld).\n", at, what,
            kept, c->lr, c->clip, c->warmup);
    return EXIT_DIVERGED;
}

/* path as one shell word for a command line the user may paste: as it is when it holds
   only safe characters, else in single quotes (each ' as '\''). */
static void put_shell_word(FILE *f, const char *path) {
    if (*path && strspn(path, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./+-=:,@%") == strlen(path)) {
        fputs(path, f);
        return;
    }
    fputc('\'', f);
    for (; *path; path++) {
        if (*path == '\'') fputs("'\\''", f);
        else fputc(*path, f);
    }
    fputc('\'', f);
}

/* Runs updates start..total-1 and finishes the run. Returns the exit status. A failed
   write of a log row stops the run at once, without a save: the last checkpoint stays,
   and --resume drops the rows logged after it. */
static int run(Trainer *T, long start) {
    const Config *c = &T->cfg;
    char err[1024];
    double t_start = now_seconds(), loss = NAN, acc = -1, test_loss = 0;
    long step = start, last_eval = -1, saved = start > 0 ? start : -1;
    RunEnd end = {0};
    progress_start(&T->progress, "step", start, T->total_steps);
    T->progress.per = "samples";
    T->progress.per_unit = c->batch;
#define FAIL() return fprintf(stderr, "train: %s\n", err), 1
    if (start == 0 && log_clusters(T, 0, err, sizeof err) != 0) FAIL();
    while (step < T->total_steps && !stop_requested &&
           !(c->stop_after > 0 && step - start >= c->stop_after)) {
        StepStats st = train_step(T, step);
        loss = st.loss;
        step++;
        if (st.diverged) {   /* the update was not applied: step - 1 updates stand */
            if (log_train_row(T, step, &st, err, sizeof err) != 0) fprintf(stderr, "train: %s\n", err);
            progress(T, step - 1, loss, 1);
            end = (RunEnd){.step = step - 1, .seconds = now_seconds() - t_start, .steps_run = step - 1 - start};
            return diverged(T, &end, step, isfinite(st.loss) ? "the gradient norm" : "the loss", saved);
        }
        if ((step % c->log_every == 0 || step == T->total_steps) &&
            log_train_row(T, step, &st, err, sizeof err) != 0) FAIL();
        if ((step % c->cluster_every == 0 || step == T->total_steps) &&
            log_clusters(T, step, err, sizeof err) != 0) FAIL();
        if (step % c->eval_every == 0 && step != T->total_steps) {
            if (!weights_finite(T)) {
                end = (RunEnd){.step = step, .seconds = now_seconds() - t_start, .steps_run = step - start};
                return diverged(T, &end, step, "a weight", saved);
            }
            if (eval_and_log(T, step, &test_loss, &acc, err, sizeof err) != 0) FAIL();
            last_eval = step;
            if (save(T, step, err, sizeof err) != 0) FAIL();
            saved = step;
        }
        progress(T, step, loss, 0);
    }
    double seconds = now_seconds() - t_start;
    progress(T, step, loss, 1);
    end = (RunEnd){.status = step >= T->total_steps ? "finished" : stop_requested ? "interrupted" : "stopped",
                   .step = step, .seconds = seconds, .steps_run = step - start};
    if (!weights_finite(T)) return diverged(T, &end, step, "a weight", saved);
    /* the final evaluation before the final save: a run killed after that save is complete */
    if (step >= T->total_steps && last_eval != step &&
        eval_and_log(T, step, &test_loss, &acc, err, sizeof err) != 0) FAIL();
    if (save(T, step, err, sizeof err) != 0) FAIL();
    end.test_loss = test_loss;
    end.test_acc = step < T->total_steps ? -1 : acc;   /* an unfinished run has no test score */
    if (write_summary(T, &end, err, sizeof err) != 0) FAIL();
    if (runplots_write(T->dir, err, sizeof err) != 0) fprintf(stderr, "train: %s\n", err);
    if (step < T->total_steps) {
        fprintf(stderr, "%s at step %ld; checkpoint saved in %s; continue with: ./train --resume "
                "--run-dir ", end.status, step, T->dir);
        put_shell_word(stderr, T->dir);
        fputc('\n', stderr);
    }
    else
        fprintf(stderr, "done: %s (test accuracy %.2f%%)\n", T->dir, 100 * acc);
    return stop_requested ? EXIT_INTERRUPTED : 0;
#undef FAIL
}

/* ---- main ----------------------------------------------------------------------------- */

static int setup_threads(Trainer *T) {
    T->threads = threads_or_cores(T->cfg.threads);
    if (T->threads > MODEL_MAX_SHARDS) T->threads = MODEL_MAX_SHARDS;
    T->cfg.threads = T->threads;   /* config.json records the count used, for --resume */
    /* Each thread runs a shard of the batch with its own single-threaded sgemm calls:
       at these matrix sizes that beats threads inside each sgemm, and it never runs
       OpenMP and OpenBLAS threads on the same cores at once. */
    openblas_set_num_threads(1);
    return T->threads;
}

/* A run killed between its final save and its summary: the checkpoint holds the final
   weights and eval.csv their evaluation (written before the save), so evaluating again
   gives the same numbers; write the summary and the plots that were missing. */
static int finish_summary(Trainer *T, long step) {
    char err[1024];
    RunEnd e = {.status = "finished", .step = step};
    evaluate(T, &e.test_loss, &e.test_acc);
    if (write_summary(T, &e, err, sizeof err) != 0) return fprintf(stderr, "train: %s\n", err), 1;
    if (runplots_write(T->dir, err, sizeof err) != 0) fprintf(stderr, "train: %s\n", err);
    fprintf(stderr, "done: %s (finished earlier; its summary was missing and is written now; "
            "test accuracy %.2f%%)\n", T->dir, 100 * e.test_acc);
    return 0;
}

/* --resume of a finished run: nothing to train; a plot that failed or was cut off by a
   kill is drawn again. */
static int already_finished(Trainer *T, long step) {
    char err[2200];
    if (runplots_missing(T->dir) && runplots_write(T->dir, err, sizeof err) != 0)
        fprintf(stderr, "train: %s\n", err);
    fprintf(stderr, "train: %s is already at step %ld of %ld; give a larger --steps to "
            "train further\n", T->dir, step, T->total_steps);
    return 0;
}

/* Resume: restore the weights and optimizer state; drop log rows that were written after
   the checkpoint, only once the checkpoint has been read and validated. A run killed before
   its first save has no checkpoint: it starts over from the seed, which gives the same
   weights. Returns the step to continue from, or -1. */
static long restore(Trainer *T, char *err, size_t errlen) {
    long step = 0, keep = -1;   /* keep: the last logged step to keep (-1: header only) */
    if (!checkpoint_exists(T->dir)) {
        if (runfiles_summary_says(T->dir, "diverged")) {   /* resuming would diverge again, the same way */
            snprintf(err, errlen, "%s: no checkpoint to resume from (the run diverged before its "
                     "first save); start over with --force and other settings", T->dir);
            return -1;
        }
        fprintf(stderr, "train: %s has no checkpoint yet; starting from step 0\n", T->dir);
        init_weights(&T->model, &T->cfg);
    } else {
        if (checkpoint_load(T->dir, &T->model, &T->opt, &step, err, errlen) != 0) return -1;
        keep = step;
    }
    const char *csvs[] = {"train.csv", "eval.csv", "clusters.csv"};
    for (int i = 0; i < 3; i++)
        if (rundir_truncate_csv(T->dir, csvs[i], keep, err, errlen) != 0) return -1;
    return step;
}

static OptConfig opt_config(const Config *c) {
    OptKind k = strcmp(c->optimizer, "sgd") == 0 ? OPT_SGD
              : strcmp(c->optimizer, "adamw") == 0 ? OPT_ADAMW : OPT_ADAM;
    return (OptConfig){k, (float)c->momentum, (float)c->beta1, (float)c->beta2, (float)c->eps,
                       (float)c->weight_decay};
}

/* The optimizer over the tensors --freeze leaves trained (the whole block without it). */
static void init_optimizer(Trainer *T) {
    const Model *m = &T->model;
    OptRange *ranges = xcalloc((size_t)m->num_tensors, sizeof *ranges);
    unsigned mask = config_freeze_mask(&T->cfg);
    optim_init_ranges(&T->opt, opt_config(&T->cfg), m->num_params, ranges,
                      freeze_trained_ranges(m, mask, ranges));
    T->opt.frozen = (long)mask;
    T->opt.threads = T->threads;
    free(ranges);
}

int main(int argc, char **argv) {
    static Trainer T;
    char err[2048];
    int rc = config_parse(&T.cfg, argc, argv, err, sizeof err);
    if (rc == CONFIG_HELP) return config_help(stdout), 0;
    if (rc != CONFIG_OK) return usage_error(err);
    Config *c = &T.cfg;
    char prefix[160];
    snprintf(prefix, sizeof prefix, "%s-ns%g-seed%ld", c->dataset, c->noise_scale, c->seed);
    rundir_resolve(T.dir, sizeof T.dir, c->run_dir, c->name, prefix);
    if (rundir_check(T.dir, c->resume, c->force, 1, err, sizeof err) != 0) return usage_error(err);
    if (c->resume && (T.lock_fd = rundir_lock(T.dir, err, sizeof err)) < 0)
        return fprintf(stderr, "train: %s\n", err), 1;
    if (c->resume && runfiles_read_config(T.dir, c, err, sizeof err) != 0)
        return fprintf(stderr, "train: %s\n", err), 1;
    setup_threads(&T);
    blasinfo_warn_generic(stderr, "train");

    if ((rc = check_data_size(&T, err, sizeof err)) != 0)
        return rc == EXIT_USAGE ? usage_error(err) : (fprintf(stderr, "train: %s\n", err), 1);
    if (load_data(&T, err, sizeof err) != 0) return fprintf(stderr, "train: %s\n", err), 1;
    ModelShape shape;
    int max_batch;
    if (plan_memory(&T, &T.train, &T.test, &shape, &max_batch, err, sizeof err) != 0) return usage_error(err);
    model_build(&T.model, shape, max_batch, T.threads);
    init_optimizer(&T);
    alloc_batch(&T);
    T.steps_per_epoch = T.train.count / c->batch;
    T.total_steps = c->epochs > 0 ? (long)ceil(c->epochs * T.steps_per_epoch) : c->steps;
    config_resolve_intervals(c, T.total_steps);

    if (!c->resume && (rc = rundir_create(T.dir, c->force, &T.lock_fd, err, sizeof err)) != 0)
        return rc == RUNDIR_EXISTS ? usage_error(err) : (fprintf(stderr, "train: %s\n", err), 1);
    long start = 0;
    if (c->resume && same_run_as_checkpoint(&T, err, sizeof err) != 0)
        return fprintf(stderr, "train: %s\n", err), EXIT_USAGE;
    if (c->resume) {
        if ((start = restore(&T, err, sizeof err)) < 0) return fprintf(stderr, "train: %s\n", err), 1;
        if (start >= T.total_steps && !runfiles_summary_says(T.dir, "finished"))
            return finish_summary(&T, start);   /* killed after its final save */
        if (start >= T.total_steps) return already_finished(&T, start);
    } else {
        init_weights(&T.model, c);
    }
    if (write_config(&T, err, sizeof err) != 0) return fprintf(stderr, "train: %s\n", err), 1;
    T.train_csv = rundir_open_csv(T.dir, "train.csv", "step,epoch,loss,acc,lr,grad_norm,ms", err, sizeof err);
    T.eval_csv = T.train_csv ? rundir_open_csv(T.dir, "eval.csv", "step,test_loss,test_acc", err, sizeof err) : NULL;
    T.clusters_csv = T.eval_csv ? rundir_open_csv(T.dir, "clusters.csv", "step,layer," METRICS_CSV_HEADER, err, sizeof err) : NULL;
    if (!T.clusters_csv) return fprintf(stderr, "train: %s\n", err), 1;

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* past a file size limit (ulimit -f), a write fails with EFBIG and is reported, instead
       of the process being killed without a word */
    signal(SIGXFSZ, SIG_IGN);
    fprintf(stderr, "train: %s, %s: d %d, L %d, H %d, n %d, mlp %d, noise-scale %g, %zu parameters, "
            "%ld steps of %d, %d threads%s\n", T.dir, c->dataset, shape.d, shape.L, shape.H,
            shape.n, shape.M, c->noise_scale, T.model.num_params, T.total_steps, c->batch,
            T.threads, start ? " (resumed)" : "");
    rc = run(&T, start);
    const char *names[] = {"train.csv", "eval.csv", "clusters.csv"};
    FILE *csvs[] = {T.train_csv, T.eval_csv, T.clusters_csv};
    for (int i = 0; i < 3; i++)
        if (rundir_close_csv(csvs[i], T.dir, names[i], err, sizeof err) != 0 && rc != 1) {
            fprintf(stderr, "train: %s\n", err);
            rc = 1;
        }
    return rc;
}
