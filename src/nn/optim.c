/* SGD, Adam and AdamW as in their papers (and PyTorch's documented update rules). */
#include "optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int optim_moments(OptConfig c) {
    return c.kind != OPT_SGD ? 2 : c.momentum != 0.0f;
}

void optim_init_ranges(Optimizer *o, OptConfig c, size_t block, const OptRange *ranges,
                       int nranges) {
    o->c = c;
    o->block = block;
    o->nranges = nranges;
    o->ranges = xcalloc(nranges > 0 ? (size_t)nranges : 1, sizeof *ranges);
    if (nranges > 0) memcpy(o->ranges, ranges, sizeof *ranges * (size_t)nranges);
    o->n = 0;
    for (int r = 0; r < nranges; r++) o->n += ranges[r].count;
    o->t = 0;
    o->frozen = 0;
    int needs_m = c.kind != OPT_SGD || c.momentum != 0.0f;
    o->m = needs_m ? xcalloc(o->n ? o->n : 1, sizeof(float)) : NULL;
    o->v = c.kind != OPT_SGD ? xcalloc(o->n ? o->n : 1, sizeof(float)) : NULL;
}

void optim_init(Optimizer *o, OptConfig c, size_t n) {
    optim_init_ranges(o, c, n, &(OptRange){0, n}, 1);
}

void optim_free(Optimizer *o) {
    free(o->m);
    free(o->v);
    free(o->ranges);
    o->m = o->v = NULL;
    o->ranges = NULL;
}

/* Parameter i of the block is updated with moment element k: k counts the trained
   elements only, so the moments of the ranges lie packed one after the other. */
static void sgd_step(Optimizer *o, float *p, float *g, float lr) {
    float mu = o->c.momentum, wd = o->c.weight_decay;
    size_t k = 0;
    for (int r = 0; r < o->nranges; r++)
        for (size_t i = o->ranges[r].offset, end = i + o->ranges[r].count; i < end; i++, k++) {
            float gi = g[i] + wd * p[i];
            if (o->m) gi = o->m[k] = mu * o->m[k] + gi;
            p[i] -= lr * gi;
        }
}

/* m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr * m_hat / (sqrt(v_hat) + eps),
   with m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t). AdamW first shrinks p by lr*wd. */
static void adam_step(Optimizer *o, float *p, float *g, float lr) {
    const OptConfig *c = &o->c;
    o->t++;
    float bc1 = (float)(1.0 - pow(c->beta1, (double)o->t));
    float bc2 = (float)(1.0 - pow(c->beta2, (double)o->t));
    float l2 = c->kind == OPT_ADAM ? c->weight_decay : 0.0f;
    float decay = c->kind == OPT_ADAMW ? lr * c->weight_decay : 0.0f;
    size_t k = 0;
    for (int r = 0; r < o->nranges; r++)
        for (size_t i = o->ranges[r].offset, end = i + o->ranges[r].count; i < end; i++, k++) {
            float gi = g[i] + l2 * p[i];
            o->m[k] = c->beta1 * o->m[k] + (1.0f - c->beta1) * gi;
            o->v[k] = c->beta2 * o->v[k] + (1.0f - c->beta2) * gi * gi;
            float mhat = o->m[k] / bc1, vhat = o->v[k] / bc2;
            p[i] -= decay * p[i];
            p[i] -= lr * mhat / (sqrtf(vhat) + c->eps);
        }
}

void optim_step(Optimizer *o, float *params, float *grads, float lr) {
    if (o->c.kind == OPT_SGD) {
        o->t++;
        sgd_step(o, params, grads, lr);
    } else {
        adam_step(o, params, grads, lr);
    }
}

void optim_mask_grads(const Optimizer *o, float *grads) {
    size_t from = 0;   /* the first element after the last trained range */
    for (int r = 0; r < o->nranges; r++) {
        memset(grads + from, 0, sizeof(float) * (o->ranges[r].offset - from));
        from = o->ranges[r].offset + o->ranges[r].count;
    }
    memset(grads + from, 0, sizeof(float) * (o->block - from));
}

double grad_norm(const float *g, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    return sqrt(s);
}

float clip_grad_norm(float *g, size_t n, double norm, float max_norm) {
    if (max_norm <= 0.0f || norm <= max_norm) return 1.0f;
    float scale = (float)(max_norm / norm);
    for (size_t i = 0; i < n; i++) g[i] *= scale;
    return scale;
}

float lr_at(long step, long total, float base, long warmup, float min_lr, Schedule s) {
    if (step < warmup) return base * (float)(step + 1) / (float)warmup;
    if (s == SCHED_CONSTANT || total <= warmup) return base;
    double progress = (double)(step - warmup) / (double)(total - warmup);
    if (progress > 1.0) progress = 1.0;
    return (float)(min_lr + 0.5 * (base - min_lr) * (1.0 + cos(3.14159265358979323846 * progress)));
}
