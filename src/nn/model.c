/* The model of MODEL.md: parameter layout, initialization, forward and backward.
   The layer functions are in ops.c; this file wires them into the residual stack. */
#include "model.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "rng.h"
#include "util.h"

/* ---- Layout: one block, tensors in MODEL.md order ------------------------------------ */

static void add_tensor(Model *m, size_t *offset, const char *name, int rows, int cols) {
    TensorInfo *t = &m->tensors[m->num_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->offset = *offset;
    t->rows = rows;
    t->cols = cols;
    *offset += (size_t)rows * cols;
}

static void build_layout(Model *m) {
    const ModelShape *s = &m->s;
    m->tensors = xcalloc((size_t)5 * s->L + 4, sizeof(TensorInfo));
    size_t off = 0;
    char name[32];
    add_tensor(m, &off, "embed", s->in_dim, s->d);
    add_tensor(m, &off, "pos", s->n, s->d);
    for (int l = 0; l < s->L; l++) {
        const char *mats[] = {"q", "k", "v"};
        for (int i = 0; i < 3; i++) {
            snprintf(name, sizeof name, "layers.%d.%s", l, mats[i]);
            add_tensor(m, &off, name, s->d, s->d);
        }
        if (s->M > 0) {
            snprintf(name, sizeof name, "layers.%d.w1", l);
            add_tensor(m, &off, name, s->d, s->M);
            snprintf(name, sizeof name, "layers.%d.w2", l);
            add_tensor(m, &off, name, s->M, s->d);
        }
    }
    add_tensor(m, &off, "head.weight", s->d, s->C);
    add_tensor(m, &off, "head.bias", 1, s->C);
    m->num_params = off;
}

/* Point a Params struct at a block laid out as m->tensors (tensor order is fixed above). */
static void point_params(const Model *m, Params *p, float *block) {
    const TensorInfo *t = m->tensors;
    int M = m->s.M;
    p->embed = block + t[0].offset;
    p->pos = block + t[1].offset;
    p->layers = xcalloc(m->s.L, sizeof(LayerParams));
    int i = 2;
    for (int l = 0; l < m->s.L; l++) {
        LayerParams *lp = &p->layers[l];
        lp->wq = block + t[i++].offset;
        lp->wk = block + t[i++].offset;
        lp->wv = block + t[i++].offset;
        lp->w1 = M > 0 ? block + t[i++].offset : NULL;
        lp->w2 = M > 0 ? block + t[i++].offset : NULL;
    }
    p->head_w = block + t[i++].offset;
    p->head_b = block + t[i].offset;
}

static float *zeros(size_t n) { return xcalloc(n ? n : 1, sizeof(float)); }

/* ---- Activations: one block, cut by a table of per-example sizes --------------------- */

/* One array of the activation block: the view pointer it sets (a field of Activations,
   or of LayerActs for per-layer arrays), its copies (1, L, or L+1 for the states; 0:
   absent) and its floats per example. Copy c of a view starting at example b0 begins at
   (c * max_batch + b0) * per_example. */
typedef struct {
    int per_layer;
    size_t field;        /* offsetof in Activations or LayerActs */
    size_t copies, per_example;
} ActArray;

#define ACT_MODEL(f) 0, offsetof(Activations, f)
#define ACT_LAYER(f) 1, offsetof(LayerActs, f)
#define ACT_ALIGN 16     /* floats: every array starts on a 64-byte line */
#define ACT_MAX 32

/* The table into t (room for ACT_MAX arrays, checked when compiled); returns its length.
   The layers' x and out are views of the states x. */
static int act_table(const ModelShape *s, ActArray *t) {
    size_t n = s->n, d = s->d, M = s->M, L = s->L, C = s->C, hnn = (size_t)s->H * n * n;
    size_t mlp = M > 0;
    ActArray all[] = {
        {ACT_MODEL(x), L + 1, n * d},
        {ACT_MODEL(rstd0), 1, n},
        {ACT_LAYER(q), L, n * d},
        {ACT_LAYER(k), L, n * d},
        {ACT_LAYER(v), L, n * d},
        {ACT_LAYER(att), L, hnn},
        {ACT_LAYER(xa), mlp * L, n * d},     /* without MLP xa is out (set in act_view) */
        {ACT_LAYER(rstd_a), L, n},
        {ACT_LAYER(h), mlp * L, n * M},
        {ACT_LAYER(g), mlp * L, n * M},
        {ACT_LAYER(gate), mlp * L, n * M},
        {ACT_LAYER(rstd_m), mlp * L, n},
        {ACT_MODEL(pooled), 1, d},
        {ACT_MODEL(logits), 1, C},
        {ACT_MODEL(probs), 1, C},
        {ACT_MODEL(f), 1, n * d},
        {ACT_MODEL(df), 1, n * d},
        {ACT_MODEL(dx), 1, n * d},
        {ACT_MODEL(dy), 1, n * d},
        {ACT_MODEL(dq), 1, n * d},
        {ACT_MODEL(dk), 1, n * d},
        {ACT_MODEL(dv), 1, n * d},
        {ACT_MODEL(dS), 1, hnn},
        {ACT_MODEL(dg), mlp, n * M},
        {ACT_MODEL(dh), mlp, n * M},
        {ACT_MODEL(dpooled), 1, d},
        {ACT_MODEL(dlogits), 1, C},
    };
    _Static_assert(sizeof all / sizeof *all <= ACT_MAX, "the activation table outgrew ACT_MAX");
    int count = (int)(sizeof all / sizeof *all);
    memcpy(t, all, sizeof all);
    return count;
}

/* Floats of array e in the block (all copies, rounded up to the alignment). */
static size_t act_span(const ActArray *e, size_t max_batch) {
    size_t f = e->copies * max_batch * e->per_example;
    return (f + ACT_ALIGN - 1) / ACT_ALIGN * ACT_ALIGN;
}

/* Fills the view a (a->layers must hold L entries) of the examples from b0 on. */
static void act_view(const Model *m, Activations *a, int b0) {
    ActArray t[ACT_MAX];
    int count = act_table(&m->s, t), L = m->s.L;
    LayerActs *layers = a->layers;
    memset(a, 0, sizeof *a);
    memset(layers, 0, sizeof(LayerActs) * L);
    a->layers = layers;
    float *base = m->acts;
    for (int i = 0; i < count; i++) {
        const ActArray *e = &t[i];
        for (size_t c = 0; c < e->copies; c++) {
            float *p = base + (c * m->max_batch + b0) * e->per_example;
            char *owner = e->per_layer ? (char *)&layers[c] : (char *)a;
            if (e->per_layer || c == 0) memcpy(owner + e->field, &p, sizeof p);
        }
        base += act_span(e, m->max_batch);
    }
    size_t state = (size_t)m->max_batch * m->s.n * m->s.d;   /* floats per copy of x */
    for (int l = 0; l < L; l++) {
        layers[l].x = a->x + l * state;
        layers[l].out = a->x + (l + 1) * state;
        if (m->s.M == 0) layers[l].xa = layers[l].out;
    }
}

static void alloc_activations(Model *m) {
    ActArray t[ACT_MAX];
    int count = act_table(&m->s, t);
    size_t total = 0;
    for (int i = 0; i < count; i++) total += act_span(&t[i], m->max_batch);
    m->acts = zeros(total);
    m->a.layers = xcalloc(m->s.L ? m->s.L : 1, sizeof(LayerActs));
    act_view(m, &m->a, 0);
    m->shard_layers = xcalloc((size_t)m->shards * (m->s.L ? m->s.L : 1), sizeof(LayerActs));
}

void model_build(Model *m, ModelShape s, int max_batch, int shards) {
    if (s.d % s.H != 0) FATAL("d=%d is not divisible by heads=%d", s.d, s.H);
    if (shards < 1 || shards > MODEL_MAX_SHARDS) FATAL("shards=%d out of [1, %d]", shards, MODEL_MAX_SHARDS);
    memset(m, 0, sizeof *m);
    m->s = s;
    m->max_batch = max_batch;
    m->shards = shards;
    build_layout(m);
    m->params = zeros(m->num_params);
    m->grads = zeros(m->num_params);
    point_params(m, &m->w, m->params);
    point_params(m, &m->g, m->grads);
    m->gs[0] = m->g;
    for (int k = 1; k < shards; k++) {
        m->shard_grads[k - 1] = zeros(m->num_params);
        point_params(m, &m->gs[k], m->shard_grads[k - 1]);
    }
    alloc_activations(m);
}

void model_free(Model *m) {
    free(m->acts);
    free(m->a.layers);
    free(m->shard_layers);
    free(m->params);
    free(m->grads);
    free(m->w.layers);
    free(m->g.layers);
    for (int k = 1; k < m->shards; k++) {
        free(m->shard_grads[k - 1]);
        free(m->gs[k].layers);
    }
    free(m->tensors);
    memset(m, 0, sizeof *m);
}

float model_residual_alpha(const char *scale, int L) {
    if (strcmp(scale, "linear") == 0) return 1.0f / L;
    if (strcmp(scale, "one") == 0) return 1.0f;
    return (float)(1.0 / sqrt((double)L));
}

/* Horizon 1 keeps the formula of model_residual_alpha (sqrt(1/L) may round differently). */
float model_alpha(const char *scale, int L, double horizon) {
    if (horizon == 1 || strcmp(scale, "sqrt") != 0) return model_residual_alpha(scale, L);
    return (float)sqrt(horizon / L);
}

const TensorInfo *model_find_tensor(const Model *m, const char *name) {
    for (int i = 0; i < m->num_tensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0) return &m->tensors[i];
    return NULL;
}

/* ---- Initialization ------------------------------------------------------------------ */

static void fill_normal(float *w, size_t count, double std, Rng *r) {
    for (size_t i = 0; i < count; i++) w[i] = (float)(std * rng_normal(r));
}

/* Every tensor is drawn in block order from one stream, whatever noise_scale is, so two
   runs that differ only in noise_scale share every other weight. V = mean*I + scale*G. */
void model_init(Model *m, uint64_t seed, float noise_scale, float value_mean) {
    const ModelShape *s = &m->s;
    Rng r;
    rng_seed_stream(&r, seed, 1);
    size_t dd = (size_t)s->d * s->d;
    fill_normal(m->w.embed, (size_t)s->in_dim * s->d, s->tokens_input ? 1.0 : 1.0 / sqrt(s->in_dim), &r);
    fill_normal(m->w.pos, (size_t)s->n * s->d, 1.0, &r);
    for (int l = 0; l < s->L; l++) {
        LayerParams *p = &m->w.layers[l];
        fill_normal(p->wq, dd, 1.0 / sqrt(s->d), &r);
        fill_normal(p->wk, dd, 1.0 / sqrt(s->d), &r);
        for (int i = 0; i < s->d; i++)
            for (int j = 0; j < s->d; j++) {
                double g = rng_normal(&r) / sqrt(s->d);
                p->wv[(size_t)i * s->d + j] = (float)((i == j ? value_mean : 0.0) + noise_scale * g);
            }
        if (s->M > 0) {
            fill_normal(p->w1, (size_t)s->d * s->M, 1.0 / sqrt(s->d), &r);
            fill_normal(p->w2, (size_t)s->M * s->d, 1.0 / sqrt(s->M), &r);
        }
    }
    memset(m->w.head_w, 0, sizeof(float) * s->d * s->C);
    memset(m->w.head_b, 0, sizeof(float) * s->C);
}

/* After model_init, which drew Q and K as usual (so every other weight stays the same). */
void model_set_qk_identity(Model *m) {
    const ModelShape *s = &m->s;
    size_t dd = (size_t)s->d * s->d;
    for (int l = 0; l < s->L; l++) {
        LayerParams *p = &m->w.layers[l];
        memset(p->wq, 0, sizeof(float) * dd);
        memset(p->wk, 0, sizeof(float) * dd);
        for (int i = 0; i < s->d; i++) p->wq[(size_t)i * s->d + i] = p->wk[(size_t)i * s->d + i] = 1.0f;
    }
}

/* ---- Forward and backward ------------------------------------------------------------
   The batch is cut into shards of consecutive examples, one per thread. A shard works on
   its own rows of the shared activation block (an Activations view from act_view whose
   pointers start at its first example) and accumulates weight gradients into its own block; the blocks
   are summed in shard order, so a given thread count always gives the same bits. */

/* The last token states of a view: the output of layer L-1 (X0 without layers). */
static float *last_state(const Model *m, const Activations *a) {
    return m->s.L > 0 ? a->layers[m->s.L - 1].out : a->x;
}

const float *model_layer_states(const Model *m, int l) {
    return l == 0 ? m->a.x : m->a.layers[l - 1].out;
}

/* The view of shard k, whose examples start at b0. */
static Activations shard_view(const Model *m, int k, int b0) {
    Activations v = {.layers = m->shard_layers + (size_t)k * m->s.L};
    act_view(m, &v, b0);
    return v;
}

/* Inputs of the examples from b0 on: patches or tokens (and labels), or token states
   that skip the embedding (model_forward_states). */
typedef struct {
    const float *patches;
    const int32_t *tokens;
    const int32_t *labels;
    const float *states;
} Inputs;

static Inputs shard_inputs(const Model *m, Inputs in, int b0) {
    size_t r = (size_t)b0 * m->s.n;
    return (Inputs){in.patches ? in.patches + r * m->s.in_dim : NULL,
                    in.tokens ? in.tokens + r : NULL, in.labels ? in.labels + b0 : NULL,
                    in.states ? in.states + r * m->s.d : NULL};
}

/* Examples [b0, b1) of shard k of K for a batch of B (the first B % K shards get one more). */
static void shard_range(int B, int K, int k, int *b0, int *b1) {
    int q = B / K, rem = B % K;
    *b0 = k * q + (k < rem ? k : rem);
    *b1 = *b0 + q + (k < rem);
}

/* The residual stack on x[0] (already set) of B examples on the view a. Layer l:
   xa = rmsnorm(x + alpha attention(x Wq, x Wk, x Wv)); out = rmsnorm(xa + alpha gelu(xa W1) W2). */
static void layers_forward(const Model *m, const Activations *a, int B) {
    const ModelShape *s = &m->s;
    int N = B * s->n, d = s->d;
    for (int l = 0; l < s->L; l++) {
        const LayerParams *p = &m->w.layers[l];
        const LayerActs *t = &a->layers[l];
        linear_forward(t->q, t->x, p->wq, NULL, N, d, d);
        linear_forward(t->k, t->x, p->wk, NULL, N, d, d);
        linear_forward(t->v, t->x, p->wv, NULL, N, d, d);
        attention_forward(a->f, t->att, t->q, t->k, t->v, B, s->n, d, s->H, s->beta);
        residual_rmsnorm_forward(t->xa, t->rstd_a, t->x, a->f, s->alpha, N, d);
        if (s->M > 0) {
            linear_forward(t->h, t->xa, p->w1, NULL, N, d, s->M);           /* h = xa W1 (N, M) */
            gelu_forward(t->g, t->gate, t->h, (size_t)N * s->M);
            linear_forward(a->f, t->g, p->w2, NULL, N, s->M, d);            /* f = g W2 (N, d) */
            residual_rmsnorm_forward(t->out, t->rstd_m, t->xa, a->f, s->alpha, N, d);
        }
    }
}

/* Forward of B examples on the view a; returns the mean cross-entropy over them (0 for
   given token states, which stop at the last layer). */
static double forward_shard(const Model *m, const Activations *a, Inputs in, int B) {
    const ModelShape *s = &m->s;
    int N = B * s->n, d = s->d;
    if (in.states) {
        memcpy(a->x, in.states, sizeof(float) * N * d);
        layers_forward(m, a, B);
        return 0.0;
    }
    embed_forward(a->x, in.patches, in.tokens, m->w.embed, m->w.pos, B, s->n, s->in_dim, d);
    rmsnorm_forward(a->x, a->rstd0, a->x, N, d);
    layers_forward(m, a, B);
    head_forward(a->logits, a->pooled, last_state(m, a), m->w.head_w, m->w.head_b, B, s->n, d, s->C);
    return crossentropy_forward(a->probs, a->logits, in.labels, B, s->C);
}

/* Runs the shards of a batch in parallel; returns the loss summed over examples. */
static double forward_batch(Model *m, Inputs in, int B) {
    if (B > m->max_batch) FATAL("batch %d exceeds max_batch %d", B, m->max_batch);
    double loss[MODEL_MAX_SHARDS] = {0};
    int K = m->shards;
#pragma omp parallel for num_threads(K) schedule(static) if (K > 1)
    for (int k = 0; k < K; k++) {
        int b0, b1;
        shard_range(B, K, k, &b0, &b1);
        if (b1 == b0) continue;
        Activations a = shard_view(m, k, b0);
        loss[k] = forward_shard(m, &a, shard_inputs(m, in, b0), b1 - b0) * (b1 - b0);
    }
    double total = 0.0;
    for (int k = 0; k < K; k++) total += loss[k];
    return total;
}

double model_forward(Model *m, const float *patches, const int32_t *tokens,
                     const int32_t *labels, int B) {
    double total = forward_batch(m, (Inputs){patches, tokens, labels, NULL}, B);
    return labels ? total / B : 0.0;
}

void model_forward_states(Model *m, const float *X0, int B) {
    forward_batch(m, (Inputs){NULL, NULL, NULL, X0}, B);
}

/* Backward of B examples of a batch of B_total; weight gradients accumulate into g. */
static void backward_shard(const Model *m, const Activations *a, const Params *g, Inputs in,
                           int B, int B_total) {
    const ModelShape *s = &m->s;
    int N = B * s->n, d = s->d;
    crossentropy_backward(a->dlogits, a->probs, in.labels, B, s->C, B_total);
    head_backward(a->dx, g->head_w, g->head_b, a->dpooled, a->dlogits, a->pooled,
                  m->w.head_w, B, s->n, d, s->C);
    for (int l = s->L - 1; l >= 0; l--) {
        const LayerParams *p = &m->w.layers[l];
        const LayerParams *gp = &g->layers[l];
        const LayerActs *t = &a->layers[l];
        if (s->M > 0) {
            residual_rmsnorm_backward(a->dx, a->df, t->out, t->rstd_m, s->alpha, N, d);
            linear_backward(a->dg, gp->w2, NULL, a->df, t->g, p->w2, N, s->M, d, LINEAR_DX_SET);
            gelu_backward(a->dh, a->dg, t->h, t->gate, (size_t)N * s->M);
            linear_backward(a->dx, gp->w1, NULL, a->dh, t->xa, p->w1, N, d, s->M, LINEAR_DX_ADD);
        }
        residual_rmsnorm_backward(a->dx, a->df, t->xa, t->rstd_a, s->alpha, N, d);
        /* attention's core gives dq, dk, dv; each projection adds its part to dx */
        attention_backward(a->dq, a->dk, a->dv, a->dS, a->df, t->q, t->k, t->v, t->att, B,
                           s->n, d, s->H, s->beta);
        linear_backward(a->dx, gp->wq, NULL, a->dq, t->x, p->wq, N, d, d, LINEAR_DX_ADD);
        linear_backward(a->dx, gp->wk, NULL, a->dk, t->x, p->wk, N, d, d, LINEAR_DX_ADD);
        linear_backward(a->dx, gp->wv, NULL, a->dv, t->x, p->wv, N, d, d, LINEAR_DX_ADD);
    }
    rmsnorm_backward(a->dy, a->dx, a->x, a->rstd0, N, d);
    embed_backward(g->embed, g->pos, a->dy, in.patches, in.tokens, B, s->n, s->in_dim, d);
}

void model_backward(Model *m, const float *patches, const int32_t *tokens,
                    const int32_t *labels, int B) {
    Inputs in = {patches, tokens, labels, NULL};
    int K = m->shards;
#pragma omp parallel num_threads(K) if (K > 1)
    {
#pragma omp for schedule(static)
        for (int k = 0; k < K; k++) {
            int b0, b1;
            shard_range(B, K, k, &b0, &b1);
            if (k > 0) memset(m->shard_grads[k - 1], 0, sizeof(float) * m->num_params);
            if (b1 == b0) continue;
            Activations a = shard_view(m, k, b0);
            backward_shard(m, &a, &m->gs[k], shard_inputs(m, in, b0), b1 - b0, B);
        }
        /* grads += shard 1 + shard 2 + ..., each element in shard order */
#pragma omp for schedule(static)
        for (size_t i = 0; i < (K > 1 ? m->num_params : 0); i++)
            for (int k = 1; k < K; k++) m->grads[i] += m->shard_grads[k - 1][i];
    }
}

void model_zero_grad(Model *m) {
    enum { CHUNK = 1 << 14 };
    long chunks = (long)((m->num_params + CHUNK - 1) / CHUNK);
#pragma omp parallel for num_threads(m->shards) schedule(static) if (m->shards > 1)
    for (long c = 0; c < chunks; c++) {
        size_t i = (size_t)c * CHUNK, len = m->num_params - i < CHUNK ? m->num_params - i : CHUNK;
        memset(m->grads + i, 0, sizeof(float) * len);
    }
}
