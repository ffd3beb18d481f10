/* SGD, Adam and AdamW as in their papers (and PyTorch's documented update rules). */
#include "optim.h"

#include <math.h>
#include <stdlib.h>

#include "util.h"

int optim_moments(OptConfig c) {
    return c.kind != OPT_SGD ? 2 : c.momentum != 0.0f;
}

void optim_init(Optimizer *o, OptConfig c, size_t n) {
    o->c = c;
    o->n = n;
    o->t = 0;
    int needs_m = c.kind != OPT_SGD || c.momentum != 0.0f;
    o->m = needs_m ? xcalloc(n, sizeof(float)) : NULL;
    o->v = c.kind != OPT_SGD ? xcalloc(n, sizeof(float)) : NULL;
}

void optim_free(Optimizer *o) {
    free(o->m);
    free(o->v);
    o->m = o->v = NULL;
}

static void sgd_step(Optimizer *o, float *p, float *g, float lr) {
    float mu = o->c.momentum, wd = o->c.weight_decay;
    for (size_t i = 0; i < o->n; i++) {
        float gi = g[i] + wd * p[i];
        if (o->m) gi = o->m[i] = mu * o->m[i] + gi;
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
    for (size_t i = 0; i < o->n; i++) {
        float gi = g[i] + l2 * p[i];
        o->m[i] = c->beta1 * o->m[i] + (1.0f - c->beta1) * gi;
        o->v[i] = c->beta2 * o->v[i] + (1.0f - c->beta2) * gi * gi;
        float mhat = o->m[i] / bc1, vhat = o->v[i] / bc2;
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
