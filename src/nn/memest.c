/* Memory estimate of a training run; see memest.h. Every product saturates at
   MEMEST_OVERFLOW instead of wrapping, so a size that overflows size_t is refused rather
   than allocated too small. */
#define _POSIX_C_SOURCE 200809L
#include "memest.h"

#include <unistd.h>

/* a * b and a + b, saturating at MEMEST_OVERFLOW. */
static uint64_t mul(uint64_t a, uint64_t b) {
    if (a == MEMEST_OVERFLOW || b == MEMEST_OVERFLOW) return a && b ? MEMEST_OVERFLOW : 0;
    return b && a > MEMEST_OVERFLOW / b ? MEMEST_OVERFLOW : a * b;
}
static uint64_t add(uint64_t a, uint64_t b) { return a > MEMEST_OVERFLOW - b ? MEMEST_OVERFLOW : a + b; }
static uint64_t mul3(uint64_t a, uint64_t b, uint64_t c) { return mul(mul(a, b), c); }

/* Floats in the parameter block (build_layout in model.c). */
static uint64_t param_count(const ModelShape *s) {
    uint64_t d = (uint64_t)s->d, M = (uint64_t)s->M;
    uint64_t per_layer = add(mul3(3, d, d), mul3(2, d, M));
    uint64_t n = add(mul(s->in_dim, d), mul(s->n, d));
    n = add(n, mul(s->L, per_layer));
    return add(n, add(mul(d, s->C), s->C));
}

/* Floats of alloc_activations in model.c. */
static uint64_t activation_floats(const ModelShape *s, uint64_t B) {
    uint64_t L = (uint64_t)s->L, d = (uint64_t)s->d, M = (uint64_t)s->M, N = mul(B, s->n);
    uint64_t Nd = mul(N, d), LNd = mul(L, Nd), nn = mul(s->n, s->n), att = mul3(B, s->H, nn);
    uint64_t f = add(mul(L + 1, Nd), N);                 /* x, rstd0 */
    f = add(f, mul(3, LNd));                             /* q, k, v */
    f = add(f, mul(L, att));                             /* att */
    f = add(f, mul(L, N));                               /* rstd_a */
    if (M > 0) {
        f = add(f, add(LNd, mul(L, N)));                 /* xa, rstd_m */
        f = add(f, mul3(3, L, mul(N, M)));               /* h, g, gate */
        f = add(f, mul3(2, N, M));                       /* dg, dh */
    }
    f = add(f, add(mul3(2, B, d), mul3(3, B, s->C)));    /* pooled, dpooled; logits, probs, dlogits */
    f = add(f, mul(7, Nd));                              /* f, df, dx, dy, dq, dk, dv */
    return add(f, att);                                  /* dS */
}

static uint64_t dataset_bytes(const Dataset *ds) {
    uint64_t per = ds->kind == DATA_IMAGES
                       ? mul3(ds->height, ds->width, ds->channels)
                       : mul(ds->seq_len, sizeof(int32_t));
    return mul(ds->count, add(per, sizeof(int32_t)));
}

void memest_compute(MemEstimate *e, const ModelShape *s, int max_batch, int shards, int moments,
                    const Dataset *train, const Dataset *test) {
    uint64_t P = mul(param_count(s), sizeof(float)), B = (uint64_t)max_batch;
    e->params = P;
    e->grads = mul(P, shards);
    e->optimizer = mul(P, moments);
    e->activations = mul(activation_floats(s, B), sizeof(float));
    /* patches (floats) or tokens (int32), labels, and the permutation of the train split */
    uint64_t input = s->tokens_input ? mul(B, s->n) : mul3(B, s->n, s->in_dim);
    e->batch = mul(add(add(input, B), train->count), 4);
    e->data = add(dataset_bytes(train), dataset_bytes(test));
    uint64_t parts[] = {e->params, e->grads, e->optimizer, e->activations, e->batch, e->data};
    e->total = 0;
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) e->total = add(e->total, parts[i]);
}

void memest_synthetic(MemEstimate *e, int train_count, int test_count, int seq_len) {
    *e = (MemEstimate){0};
    e->data = mul(add(train_count, test_count), mul(add(seq_len, 1), sizeof(int32_t)));
    e->total = e->data;
}

uint64_t memest_physical(void) {
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? mul((uint64_t)pages, (uint64_t)size) : 0;
}

/* Bytes as whole MB, or "overflow". */
static const char *mb(char *buf, size_t len, uint64_t bytes) {
    if (bytes == MEMEST_OVERFLOW) snprintf(buf, len, "overflow");
    else snprintf(buf, len, "%.0f MB", (double)bytes / (1 << 20));
    return buf;
}

int memest_check(const MemEstimate *e, uint64_t limit, char *err, size_t errlen) {
    /* size_t may be narrower than 64 bits; every part must fit into one allocation size */
    int overflow = e->total == MEMEST_OVERFLOW || e->total > (uint64_t)SIZE_MAX;
    if (!overflow && (limit == 0 || e->total <= limit)) return 0;
    char t[32], p[32], g[32], o[32], a[32], b[32], d[32], l[32];
    snprintf(err, errlen, "the run needs about %s of memory (parameters %s, gradients %s, "
             "optimizer %s, activations %s, batch %s, data %s)%s%s; use a smaller %s", mb(t, sizeof t, e->total),
             mb(p, sizeof p, e->params), mb(g, sizeof g, e->grads), mb(o, sizeof o, e->optimizer),
             mb(a, sizeof a, e->activations), mb(b, sizeof b, e->batch), mb(d, sizeof d, e->data),
             overflow ? ", more than this machine can address" : " but this machine has ",
             overflow ? "" : mb(l, sizeof l, limit),
             e->data > e->total / 2 ? "--train-size, --test-size or --seq-len, or a smaller dataset"
                                    : "--d, --layers, --mlp, --batch, --probe-size or --threads");
    return -1;
}

void memest_write_json(const MemEstimate *e, FILE *out) {
    fprintf(out, "  \"memory_estimate_mb\": %.1f,\n", (double)e->total / (1 << 20));
}
