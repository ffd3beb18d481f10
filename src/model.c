/* The model of MODEL.md: parameter layout, initialization, forward and backward.
   The layer functions are in ops.c; this file wires them into the residual stack. */
#include "model.h"

#include <math.h>
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
        lp->q = block + t[i++].offset;
        lp->k = block + t[i++].offset;
        lp->v = block + t[i++].offset;
        lp->w1 = M > 0 ? block + t[i++].offset : NULL;
        lp->w2 = M > 0 ? block + t[i++].offset : NULL;
    }
    p->head_w = block + t[i++].offset;
    p->head_b = block + t[i].offset;
}

static float *zeros(size_t n) { return xcalloc(n ? n : 1, sizeof(float)); }

static void alloc_activations(Model *m) {
    const ModelShape *s = &m->s;
    Activations *a = &m->a;
    size_t B = m->max_batch, N = B * s->n, d = s->d, L = s->L, M = s->M;
    a->x = zeros((L + 1) * N * d);
    a->rstd0 = zeros(N);
    a->q = zeros(L * N * d);
    a->k = zeros(L * N * d);
    a->v = zeros(L * N * d);
    a->att = zeros(L * B * s->H * s->n * s->n);
    a->xa = M > 0 ? zeros(L * N * d) : NULL;
    a->rstd_a = zeros(L * N);
    a->h = M > 0 ? zeros(L * N * M) : NULL;
    a->g = M > 0 ? zeros(L * N * M) : NULL;
    a->gate = M > 0 ? zeros(L * N * M) : NULL;
    a->rstd_m = M > 0 ? zeros(L * N) : NULL;
    a->pooled = zeros(B * d);
    a->logits = zeros(B * s->C);
    a->probs = zeros(B * s->C);
    a->tmp = zeros(N * d);
    a->dx = zeros(N * d);
    a->dy = zeros(N * d);
    a->dq = zeros(N * d);
    a->dk = zeros(N * d);
    a->dv = zeros(N * d);
    a->dS = zeros(B * s->H * s->n * s->n);
    a->dg = M > 0 ? zeros(N * M) : NULL;
    a->dh = M > 0 ? zeros(N * M) : NULL;
    a->dpooled = zeros(B * d);
    a->dlogits = zeros(B * s->C);
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
    Activations *a = &m->a;
    float *bufs[] = {a->x, a->rstd0, a->q, a->k, a->v, a->att, a->xa, a->rstd_a, a->h, a->g, a->gate,
                     a->rstd_m, a->pooled, a->logits, a->probs, a->tmp, a->dx, a->dy, a->dq,
                     a->dk, a->dv, a->dS, a->dg, a->dh, a->dpooled, a->dlogits};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
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
        fill_normal(p->q, dd, 1.0 / sqrt(s->d), &r);
        fill_normal(p->k, dd, 1.0 / sqrt(s->d), &r);
        for (int i = 0; i < s->d; i++)
            for (int j = 0; j < s->d; j++) {
                double g = rng_normal(&r) / sqrt(s->d);
                p->v[(size_t)i * s->d + j] = (float)((i == j ? value_mean : 0.0) + noise_scale * g);
            }
        if (s->M > 0) {
            fill_normal(p->w1, (size_t)s->d * s->M, 1.0 / sqrt(s->d), &r);
            fill_normal(p->w2, (size_t)s->M * s->d, 1.0 / sqrt(s->M), &r);
        }
    }
    memset(m->w.head_w, 0, sizeof(float) * s->d * s->C);
    memset(m->w.head_b, 0, sizeof(float) * s->C);
}

/* ---- Forward and backward ------------------------------------------------------------ */

/* ---- Forward and backward ------------------------------------------------------------
   The batch is cut into shards of consecutive examples, one per thread. A shard works on
   its own rows of the shared activation arrays (an Activations view whose pointers start
   at its first example) and accumulates weight gradients into its own block; the blocks
   are summed in shard order, so a given thread count always gives the same bits. */

static size_t rows_stride(const Model *m) { return (size_t)m->max_batch * m->s.n; }
static size_t att_stride(const Model *m) { return (size_t)m->max_batch * m->s.H * m->s.n * m->s.n; }

static float *state(const Model *m, const Activations *a, int l) {
    return a->x + (size_t)l * rows_stride(m) * m->s.d;
}

/* State after the attention sublayer of layer l: its own buffer with an MLP, else x[l+1]. */
static float *attn_state(const Model *m, const Activations *a, int l) {
    return m->s.M > 0 ? a->xa + (size_t)l * rows_stride(m) * m->s.d : state(m, a, l + 1);
}

const float *model_layer_states(const Model *m, int l) { return state(m, &m->a, l); }

/* The view of the activations of examples b0, b0+1, ...: every array offset to row b0. */
static Activations shard_view(const Model *m, int b0) {
    const Activations *a = &m->a;
    size_t r = (size_t)b0 * m->s.n, d = m->s.d, M = m->s.M, hnn = (size_t)m->s.H * m->s.n * m->s.n;
    size_t C = m->s.C;
    Activations v = *a;
    v.x = a->x + r * d;
    v.rstd0 = a->rstd0 + r;
    v.q = a->q + r * d;
    v.k = a->k + r * d;
    v.v = a->v + r * d;
    v.att = a->att + b0 * hnn;
    v.xa = a->xa ? a->xa + r * d : NULL;
    v.rstd_a = a->rstd_a + r;
    v.h = a->h ? a->h + r * M : NULL;
    v.g = a->g ? a->g + r * M : NULL;
    v.gate = a->gate ? a->gate + r * M : NULL;
    v.rstd_m = a->rstd_m ? a->rstd_m + r : NULL;
    v.pooled = a->pooled + b0 * d;
    v.logits = a->logits + b0 * C;
    v.probs = a->probs + b0 * C;
    v.tmp = a->tmp + r * d;
    v.dx = a->dx + r * d;
    v.dy = a->dy + r * d;
    v.dq = a->dq + r * d;
    v.dk = a->dk + r * d;
    v.dv = a->dv + r * d;
    v.dS = a->dS + b0 * hnn;
    v.dg = a->dg ? a->dg + r * M : NULL;
    v.dh = a->dh ? a->dh + r * M : NULL;
    v.dpooled = a->dpooled + b0 * d;
    v.dlogits = a->dlogits + b0 * C;
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

/* y = a + alpha * b, in place into a. */
static void residual_add(float *a, const float *b, float alpha, size_t count) {
    for (size_t i = 0; i < count; i++) a[i] += alpha * b[i];
}

/* The residual stack on x[0] (already set) of B examples on the view a. */
static void layers_forward(const Model *m, const Activations *a, int B) {
    const ModelShape *s = &m->s;
    int N = B * s->n, d = s->d;
    size_t S = rows_stride(m), Nd = (size_t)N * d;
    for (int l = 0; l < s->L; l++) {
        const LayerParams *p = &m->w.layers[l];
        float *x = state(m, a, l), *xa = attn_state(m, a, l);
        float *q = a->q + l * S * d, *k = a->k + l * S * d, *v = a->v + l * S * d;
        linear_forward(q, x, p->q, NULL, N, d, d);
        linear_forward(k, x, p->k, NULL, N, d, d);
        linear_forward(v, x, p->v, NULL, N, d, d);
        attention_forward(a->tmp, a->att + l * att_stride(m), q, k, v, B, s->n, d, s->H, s->beta);
        memcpy(xa, x, sizeof(float) * Nd);
        residual_add(xa, a->tmp, s->alpha, Nd);
        rmsnorm_forward(xa, a->rstd_a + l * S, xa, N, d);
        if (s->M > 0) {
            float *out = state(m, a, l + 1);
            mlp_forward(a->tmp, a->h + l * S * s->M, a->g + l * S * s->M,
                        a->gate + l * S * s->M, xa, p->w1, p->w2, N, d, s->M);
            memcpy(out, xa, sizeof(float) * Nd);
            residual_add(out, a->tmp, s->alpha, Nd);
            rmsnorm_forward(out, a->rstd_m + l * S, out, N, d);
        }
    }
}

/* Forward of B examples on the view a; returns the mean cross-entropy over them (0 for
   given token states, which stop at the last layer). */
static double forward_shard(const Model *m, const Activations *a, Inputs in, int B) {
    const ModelShape *s = &m->s;
    int N = B * s->n, d = s->d;
    if (in.states) {
        memcpy(state(m, a, 0), in.states, sizeof(float) * N * d);
        layers_forward(m, a, B);
        return 0.0;
    }
    embed_forward(state(m, a, 0), in.patches, in.tokens, m->w.embed, m->w.pos, B, s->n, s->in_dim, d);
    rmsnorm_forward(state(m, a, 0), a->rstd0, state(m, a, 0), N, d);
    layers_forward(m, a, B);
    head_forward(a->logits, a->pooled, state(m, a, s->L), m->w.head_w, m->w.head_b, B, s->n, d, s->C);
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
        Activations a = shard_view(m, b0);
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

/* Backward through x_out = rmsnorm(x_in + alpha * f(x_in)). On entry a->dx = dL/dx_out.
   Leaves a->dx = dy (the identity path) and a->tmp = alpha * dy (the gradient into f);
   the caller then adds f's input gradient into a->dx. */
static void residual_norm_backward(const Model *m, const Activations *a, const float *x_out,
                                   const float *rstd, int N) {
    size_t Nd = (size_t)N * m->s.d;
    rmsnorm_backward(a->dx, a->dx, x_out, rstd, N, m->s.d);
    for (size_t i = 0; i < Nd; i++) a->tmp[i] = m->s.alpha * a->dx[i];
}

/* Backward of B examples of a batch of B_total; weight gradients accumulate into g. */
static void backward_shard(const Model *m, const Activations *a, const Params *g, Inputs in,
                           int B, int B_total) {
    const ModelShape *s = &m->s;
    int N = B * s->n, d = s->d;
    size_t S = rows_stride(m);
    crossentropy_backward(a->dlogits, a->probs, in.labels, B, s->C, B_total);
    head_backward(a->dx, g->head_w, g->head_b, a->dpooled, a->dlogits, a->pooled,
                  m->w.head_w, B, s->n, d, s->C);
    for (int l = s->L - 1; l >= 0; l--) {
        const LayerParams *p = &m->w.layers[l];
        const LayerParams *gp = &g->layers[l];
        float *xa = attn_state(m, a, l);
        if (s->M > 0) {
            residual_norm_backward(m, a, state(m, a, l + 1), a->rstd_m + l * S, N);
            mlp_backward(a->dx, gp->w1, gp->w2, a->dg, a->dh, a->tmp, xa, a->h + l * S * s->M,
                         a->g + l * S * s->M, a->gate + l * S * s->M, p->w1, p->w2, N, d, s->M);
        }
        residual_norm_backward(m, a, xa, a->rstd_a + l * S, N);
        const float *x = state(m, a, l);
        attention_backward(a->dq, a->dk, a->dv, a->dS, a->tmp, a->q + l * S * d,
                           a->k + l * S * d, a->v + l * S * d, a->att + l * att_stride(m), B,
                           s->n, d, s->H, s->beta);
        linear_backward(a->dx, gp->q, NULL, a->dq, x, p->q, N, d, d, LINEAR_DX_ADD);
        linear_backward(a->dx, gp->k, NULL, a->dk, x, p->k, N, d, d, LINEAR_DX_ADD);
        linear_backward(a->dx, gp->v, NULL, a->dv, x, p->v, N, d, d, LINEAR_DX_ADD);
    }
    rmsnorm_backward(a->dy, a->dx, state(m, a, 0), a->rstd0, N, d);
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
            Activations a = shard_view(m, b0);
            backward_shard(m, &a, &m->gs[k], shard_inputs(m, in, b0), b1 - b0, B);
        }
        /* grads += shard 1 + shard 2 + ..., each element in shard order */
#pragma omp for schedule(static)
        for (size_t i = 0; i < (K > 1 ? m->num_params : 0); i++)
            for (int k = 1; k < K; k++) m->grads[i] += m->shard_grads[k - 1][i];
    }
}

void model_zero_grad(Model *m) { memset(m->grads, 0, sizeof(float) * m->num_params); }
