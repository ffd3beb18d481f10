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
    o->threads = 1;
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

/* Parameter offset + i of range r is updated with moment element k0 + i: k counts the
   trained elements only, so the moments of the ranges lie packed one after the other.
   Each element's update reads and writes that element alone: threads split a range. */
static void sgd_step(Optimizer *o, float *p, float *g, float lr) {
    float mu = o->c.momentum, wd = o->c.weight_decay;
    float *m = o->m;
    size_t k0 = 0;
    for (int r = 0; r < o->nranges; r++) {
        float *pr = p + o->ranges[r].offset, *gr = g + o->ranges[r].offset, *mr = m ? m + k0 : NULL;
        long count = (long)o->ranges[r].count;
#pragma omp parallel for num_threads(o->threads) schedule(static) if (o->threads > 1)
        for (long i = 0; i < count; i++) {
            float gi = gr[i] + wd * pr[i];
            if (mr) gi = mr[i] = mu * mr[i] + gi;
            pr[i] -= lr * gi;
        }
        k0 += (size_t)count;
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
    float b1 = c->beta1, b2 = c->beta2, eps = c->eps;
    size_t k0 = 0;
    for (int r = 0; r < o->nranges; r++) {
        float *pr = p + o->ranges[r].offset, *gr = g + o->ranges[r].offset;
        float *m = o->m + k0, *v = o->v + k0;
        long count = (long)o->ranges[r].count;
#pragma omp parallel for num_threads(o->threads) schedule(static) if (o->threads > 1)
        for (long i = 0; i < count; i++) {
            float gi = gr[i] + l2 * pr[i];
            m[i] = b1 * m[i] + (1.0f - b1) * gi;
            v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
            float mhat = m[i] / bc1, vhat = v[i] / bc2;
            pr[i] -= decay * pr[i];
            pr[i] -= lr * mhat / (sqrtf(vhat) + eps);
        }
        k0 += (size_t)count;
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

double grad_norm(const float *g, size_t n, int threads) {
    /* the blocks' sums go through a fixed buffer, 256 blocks at a time: no allocation */
    enum { BUF = 256 };
    double part[BUF], s = 0.0;
    size_t blocks = (n + GRAD_NORM_BLOCK - 1) / GRAD_NORM_BLOCK;
    for (size_t b0 = 0; b0 < blocks; b0 += BUF) {
        long nb = (long)(blocks - b0 < BUF ? blocks - b0 : BUF);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
        for (long b = 0; b < nb; b++) {
            size_t i = (b0 + (size_t)b) * GRAD_NORM_BLOCK;
            size_t end = i + GRAD_NORM_BLOCK < n ? i + GRAD_NORM_BLOCK : n;
            double sb = 0.0;
            for (; i < end; i++) sb += (double)g[i] * g[i];
            part[b] = sb;
        }
        for (long b = 0; b < nb; b++) s += part[b];
    }
    return sqrt(s);
}

float clip_grad_norm(float *g, size_t n, double norm, float max_norm, int threads) {
    if (max_norm <= 0.0f || norm <= max_norm) return 1.0f;
    float scale = (float)(max_norm / norm);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
    for (long i = 0; i < (long)n; i++) g[i] *= scale;
    return scale;
}

float lr_at(long step, long total, float base, long warmup, float min_lr, Schedule s) {
    if (step < warmup) return base * (float)(step + 1) / (float)warmup;
    if (s == SCHED_CONSTANT || total <= warmup) return base;
    double progress = (double)(step - warmup) / (double)(total - warmup);
    if (progress > 1.0) progress = 1.0;
    return (float)(min_lr + 0.5 * (base - min_lr) * (1.0 + cos(3.14159265358979323846 * progress)));
}
