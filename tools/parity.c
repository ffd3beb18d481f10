/* build/parity: the C side of the PyTorch parity test (tools/parity.py is the other).
   Loads a run's weights, takes the first B training examples of the run's dataset, and
   writes what the C model computes on them: logits, loss, the gradient of every parameter
   tensor, and the losses of K Adam steps on that batch, into one safetensors file.

   Usage: build/parity RUN_DIR OUT.safetensors [--batch B] [--adam-steps K] [--lr LR] */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "json.h"
#include "options.h"
#include "data.h"
#include "model.h"
#include "optim.h"
#include "safetensors.h"
#include "task.h"
#include "util.h"

#define EXIT_USAGE 2
#define DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"

typedef struct {
    const char *run_dir, *out_path;
    int batch, adam_steps;
    float lr;
} Args;

/* One batch of the run's training split, in the form model_forward takes. */
typedef struct {
    int B;
    TaskBatch in;          /* in.patch 0: token sequences */
} Batch;

/* What the C model computed; written to OUT. */
typedef struct {
    double loss;
    float *logits;         /* (B, C) */
    float *grads;          /* (num_params), laid out as m->tensors */
    float *adam_losses;    /* (K) loss before each Adam step */
} Results;

static int usage(const char *msg) {
    fprintf(stderr, "parity: %s\nusage: build/parity RUN_DIR OUT.safetensors [--batch B] "
            "[--adam-steps K] [--lr LR]\n", msg);
    return EXIT_USAGE;
}

/* Strict integer/float parsing: a typo must not silently become 0. */
static int parse_int(const char *s, int *out) {
    char *end;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || end == s || *end || v < 0 || v > 1000000000L) return -1;
    *out = (int)v;
    return 0;
}

static int parse_float(const char *s, float *out) {
    char *end;
    float v = s ? strtof(s, &end) : 0.0f;
    if (!s || end == s || *end) return -1;
    *out = v;
    return 0;
}

static int parse_args(Args *a, int argc, char **argv, char *err, size_t errlen) {
    *a = (Args){NULL, NULL, 16, 10, 1e-3f};
    int positional = 0;
    for (int i = 1; i < argc; i++) {
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (strcmp(argv[i], "--batch") == 0) bad = parse_int(val, &a->batch), i++;
        else if (strcmp(argv[i], "--adam-steps") == 0) bad = parse_int(val, &a->adam_steps), i++;
        else if (strcmp(argv[i], "--lr") == 0) bad = parse_float(val, &a->lr), i++;
        else if (argv[i][0] == '-' && argv[i][1] == '-') bad = -1, val = argv[i];
        else if (positional < 2) *(positional++ ? &a->out_path : &a->run_dir) = argv[i];
        else bad = -1, val = argv[i];
        if (bad) return snprintf(err, errlen, "bad argument near '%s'", val ? val : argv[i]), -1;
    }
    if (positional != 2) return snprintf(err, errlen, "need RUN_DIR and OUT.safetensors"), -1;
    if (a->batch < 1) return snprintf(err, errlen, "--batch must be at least 1"), -1;
    return 0;
}

/* ---- the run's config: checkpoint metadata and config.json ---------------------------- */

static int meta_int(const StFile *f, const char *key, int *out, char *err, size_t errlen) {
    if (parse_int(st_meta(f, key), out) == 0) return 0;
    snprintf(err, errlen, "model.safetensors: metadata '%s' missing or not an integer", key);
    return -1;
}

static int meta_float(const StFile *f, const char *key, float *out, char *err, size_t errlen) {
    if (parse_float(st_meta(f, key), out) == 0) return 0;
    snprintf(err, errlen, "model.safetensors: metadata '%s' missing or not a number", key);
    return -1;
}

/* The ModelShape the trainer built, from the checkpoint alone. alpha is read as stored
   (%.9g of a float round-trips exactly) rather than recomputed from the rule. */
static int shape_from_meta(const StFile *f, ModelShape *s, int *patch, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    const char *input = st_meta(f, "input");
    if (!input || (strcmp(input, "tokens") && strcmp(input, "patches")))
        return snprintf(err, errlen, "model.safetensors: metadata 'input' missing"), -1;
    s->tokens_input = strcmp(input, "tokens") == 0;
    if (meta_int(f, "d", &s->d, err, errlen) || meta_int(f, "L", &s->L, err, errlen) ||
        meta_int(f, "H", &s->H, err, errlen) || meta_int(f, "n", &s->n, err, errlen) ||
        meta_int(f, "input_dim", &s->in_dim, err, errlen) ||
        meta_int(f, "classes", &s->C, err, errlen) || meta_int(f, "mlp", &s->M, err, errlen) ||
        meta_int(f, "patch", patch, err, errlen) || meta_float(f, "beta", &s->beta, err, errlen) ||
        meta_float(f, "alpha", &s->alpha, err, errlen))
        return -1;
    if (s->tokens_input) *patch = 0;
    return 0;
}


static char *read_config_json(const char *run_dir, char *err, size_t errlen) {
    char path[2048];
    size_t len;
    snprintf(path, sizeof path, "%s/config.json", run_dir);
    return (char *)read_whole_file(path, &len, err, errlen);
}

static int config_int(const char *json, const char *key, int *out, char *err, size_t errlen) {
    char text[64];
    if (json_text_value(json, key, text, sizeof text) == 0 && parse_int(text, out) == 0) return 0;
    snprintf(err, errlen, "config.json: '%s' missing or not an integer", key);
    return -1;
}

/* The run's training split, loaded as ./train loads it (synthetic tasks regenerate from
   the seed and sizes in config.json, so they must come from there). */
static int load_dataset(Dataset *train, Dataset *test, const char *run_dir, const StFile *f,
                        char *err, size_t errlen) {
    const char *dataset = st_meta(f, "dataset");
    char *json = read_config_json(run_dir, err, errlen);
    if (!dataset || !json) {
        if (!dataset) snprintf(err, errlen, "model.safetensors: metadata 'dataset' missing");
        free(json);
        return -1;
    }
    char dir[1024] = DEFAULT_DATA_DIR;
    json_text_value(json, "data_dir", dir, sizeof dir);
    int rc = 0, seed = 0, seq_len = 0, vocab = 0, train_size = 0, test_size = 0;
    if (strcmp(dataset, "fashion-mnist") != 0 && strcmp(dataset, "folder") != 0 &&
        (config_int(json, "seed", &seed, err, errlen) ||
         config_int(json, "seq_len", &seq_len, err, errlen) ||
         config_int(json, "vocab", &vocab, err, errlen) ||
         config_int(json, "train_size", &train_size, err, errlen) ||
         config_int(json, "test_size", &test_size, err, errlen)))
        rc = -1;
    else
        rc = task_load(train, test, dataset, dir, train_size, test_size, seq_len, vocab,
                       (uint64_t)seed, err, errlen);
    free(json);
    return rc;
}

/* ---- the batch ------------------------------------------------------------------------- */

/* Checks that the data fits the checkpoint's shape before any buffer is sized from it. */
static int check_data_fits(const Dataset *ds, const ModelShape *s, int patch, int B,
                           char *err, size_t errlen) {
    if (ds->count < B)
        return snprintf(err, errlen, "--batch %d exceeds the %d training examples", B, ds->count), -1;
    if (ds->num_classes != s->C)
        return snprintf(err, errlen, "the data has %d classes, the model %d", ds->num_classes, s->C), -1;
    ModelShape want = *s;   /* the input shape the trainer gives this data */
    int used;
    char why[256];
    int fits = (s->tokens_input || patch > 0) &&
               task_input_shape(&want, &used, ds, patch, why, sizeof why) == 0 &&
               want.tokens_input == s->tokens_input && want.n == s->n && want.in_dim == s->in_dim;
    if (!fits) return snprintf(err, errlen, "the run's data does not match the checkpoint's input shape"), -1;
    return 0;
}

/* The first B training examples, in order: both sides see exactly the same batch. */
static void batch_fill(Batch *b, const Dataset *ds, const ModelShape *s, int patch, int B) {
    int32_t *idx = xmalloc(sizeof(int32_t) * B);
    for (int i = 0; i < B; i++) idx[i] = i;
    b->B = B;
    task_batch_alloc(&b->in, s, patch, B);
    task_batch_fill(&b->in, ds, idx, B);
    free(idx);
}

static double forward_backward(Model *m, const Batch *b) {
    model_zero_grad(m);
    double loss = model_forward(m, b->in.patches, b->in.tokens, b->in.labels, b->B);
    model_backward(m, b->in.patches, b->in.tokens, b->in.labels, b->B);
    return loss;
}

/* Loss, logits and gradients at the loaded weights, then K Adam steps on the same batch
   (constant lr, no clipping, no weight decay: torch.optim.Adam's defaults). */
static void compute(Results *r, Model *m, const Batch *b, int K, float lr) {
    size_t nlogits = (size_t)b->B * m->s.C;
    r->loss = forward_backward(m, b);
    r->logits = xmalloc(sizeof(float) * nlogits);
    memcpy(r->logits, m->a.logits, sizeof(float) * nlogits);
    r->grads = xmalloc(sizeof(float) * m->num_params);
    memcpy(r->grads, m->grads, sizeof(float) * m->num_params);
    r->adam_losses = xmalloc(sizeof(float) * (K > 0 ? K : 1));
    Optimizer o;
    optim_init(&o, (OptConfig){OPT_ADAM, 0.0f, 0.9f, 0.999f, 1e-8f, 0.0f}, m->num_params);
    for (int k = 0; k < K; k++) {
        r->adam_losses[k] = (float)forward_backward(m, b);
        optim_step(&o, m->params, m->grads, lr);
    }
    optim_free(&o);
}

/* ---- the output file ------------------------------------------------------------------- */

static StTensor tensor2(const char *name, const float *data, int64_t rows, int64_t cols) {
    return (StTensor){name, data, 2, {rows, cols}};
}

static StTensor tensor1(const char *name, const float *data, int64_t len) {
    return (StTensor){name, data, 1, {len, 0}};
}

/* Integers as floats (exact below 2^24): safetensors here is F32 only. */
static float *ints_as_floats(const int32_t *v, size_t count) {
    float *x = xmalloc(sizeof(float) * count);
    for (size_t i = 0; i < count; i++) x[i] = (float)v[i];
    return x;
}

/* Metadata: the checkpoint's model config, plus how this file was made. */
static StMeta *output_meta(const StFile *f, const Args *a, char text[3][32], int *count) {
    StMeta *meta = xcalloc((size_t)f->meta_count + 3, sizeof *meta);
    memcpy(meta, f->meta, sizeof *meta * f->meta_count);
    snprintf(text[0], 32, "%d", a->batch);
    snprintf(text[1], 32, "%d", a->adam_steps);
    snprintf(text[2], 32, "%.9g", a->lr);
    meta[f->meta_count] = (StMeta){"parity_batch", text[0]};
    meta[f->meta_count + 1] = (StMeta){"parity_adam_steps", text[1]};
    meta[f->meta_count + 2] = (StMeta){"parity_lr", text[2]};
    *count = f->meta_count + 3;
    return meta;
}

static int write_output(const Args *a, const StFile *f, const Model *m, const Batch *b,
                        const Results *r, char *err, size_t errlen) {
    const ModelShape *s = &m->s;
    int nt = 0, B = b->B, K = a->adam_steps;
    StTensor *t = xcalloc((size_t)m->num_tensors + 5, sizeof *t);
    char (*names)[48] = xcalloc((size_t)m->num_tensors, sizeof *names);
    float loss = (float)r->loss;
    float *tokens = b->in.patch ? NULL : ints_as_floats(b->in.tokens, (size_t)B * s->n);
    float *labels = ints_as_floats(b->in.labels, B);
    t[nt++] = b->in.patch ? tensor2("input", b->in.patches, (int64_t)B * s->n, s->in_dim)
                       : tensor2("input", tokens, B, s->n);
    t[nt++] = tensor1("labels", labels, B);
    t[nt++] = tensor2("logits", r->logits, B, s->C);
    t[nt++] = tensor1("loss", &loss, 1);
    for (int i = 0; i < m->num_tensors; i++) {
        const TensorInfo *ti = &m->tensors[i];
        snprintf(names[i], sizeof names[i], "grad.%s", ti->name);
        /* head.bias is 1-D in the checkpoint; keep the same shapes here */
        const float *g = r->grads + ti->offset;
        t[nt++] = strcmp(ti->name, "head.bias") == 0 ? tensor1(names[i], g, ti->cols)
                                                    : tensor2(names[i], g, ti->rows, ti->cols);
    }
    if (K > 0) t[nt++] = tensor1("adam_losses", r->adam_losses, K);
    char text[3][32];
    int meta_count;
    StMeta *meta = output_meta(f, a, text, &meta_count);
    int rc = st_write(a->out_path, t, nt, meta, meta_count, err, errlen);
    free(meta);
    free(tokens);
    free(labels);
    free(names);
    free(t);
    return rc;
}

/* ---- main ------------------------------------------------------------------------------ */

static int fail(const char *err) {
    fprintf(stderr, "parity: %s\n", err);
    return 1;
}

int main(int argc, char **argv) {
    Args a;
    char err[2048], path[2048];
    if (parse_args(&a, argc, argv, err, sizeof err) != 0) return usage(err);
    /* One shard and one BLAS thread: the same summation order every time, no races. */
    openblas_set_num_threads(1);
    StFile f;
    snprintf(path, sizeof path, "%s/model.safetensors", a.run_dir);
    if (st_read(&f, path, err, sizeof err) != 0) return fail(err);
    ModelShape s;
    int patch;
    Dataset train, test;
    if (shape_from_meta(&f, &s, &patch, err, sizeof err) != 0) return fail(err);
    if (load_dataset(&train, &test, a.run_dir, &f, err, sizeof err) != 0) return fail(err);
    if (check_data_fits(&train, &s, patch, a.batch, err, sizeof err) != 0) return fail(err);

    Model m;
    long step;
    model_build(&m, s, a.batch, 1);
    if (checkpoint_load(a.run_dir, &m, NULL, &step, err, sizeof err) != 0) return fail(err);
    Batch b;
    batch_fill(&b, &train, &s, patch, a.batch);
    Results r;
    compute(&r, &m, &b, a.adam_steps, a.lr);
    if (write_output(&a, &f, &m, &b, &r, err, sizeof err) != 0) return fail(err);
    printf("parity: %s (step %ld): loss %.9g on %d examples, %d Adam steps -> %s\n",
           a.run_dir, step, r.loss, a.batch, a.adam_steps, a.out_path);

    free(r.logits);
    free(r.grads);
    free(r.adam_losses);
    task_batch_free(&b.in);
    model_free(&m);
    data_free(&train);
    data_free(&test);
    st_free(&f);
    return 0;
}
