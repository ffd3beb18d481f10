/* Finite-difference gradient checks: every op's backward, then the whole model.
   Each op is reduced to a scalar f = sum_i r_i out_i (r random, accumulated in double; the
   model's loss is a double already); central differences use the perturbation actually
   stored in fp32, so the only errors are the fp32 rounding of the forward, divided by 2 eps,
   and the O(eps^2) truncation. The check is per tensor, on the relative error of the whole
   checked gradient, |a - f| / max(|a|, |f|) with |.| the Euclidean norm over the checked
   elements: a backward that is off by 1% in any output gives 0.0099, and each op's
   tolerance (with the measured error of the correct code well below it) is under that.
   Each element is also checked, |a_i - f_i| / max(|a_i|, |f_i|, floor) with the floor a
   hundredth of the tensor's largest |f_i|, against FD_ELEM_TOL: an error confined to a few
   elements shows there. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model.h"
#include "ops.h"
#include "rng.h"
#include "util.h"

#define FD_MAX_POINTS 40      /* elements checked per tensor (spread over the tensor) */
#define FD_TOL_1PCT 0.0099    /* the relative error of a gradient scaled by 1.01 */
#define FD_ELEM_TOL 5e-2
#define FD_ELEM_FLOOR 1e-2    /* of the tensor's largest |finite difference| */

static float *randn(size_t n, double std, Rng *r) {
    float *x = xmalloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) x[i] = (float)(std * rng_normal(r));
    return x;
}

/* An op under test: forward writes out from the inputs it captures in ctx; eps is the step
   of the central difference and tol the largest relative error (norm-wise) accepted. */
typedef struct {
    void (*forward)(void *ctx);
    void *ctx;
    const float *out;
    size_t out_n;
    const float *r;    /* projection weights (out_n) */
    const double *value; /* if set, f is this double (a loss) instead of the projection */
    float eps;
    double tol;
} Scalar;

static double scalar_value(const Scalar *s) {
    s->forward(s->ctx);
    if (s->value) return *s->value;
    double f = 0.0;
    for (size_t i = 0; i < s->out_n; i++) f += (double)s->r[i] * s->out[i];
    return f;
}

/* Compares the analytic gradient of f w.r.t. x with central differences, norm-wise and per
   element (see the top). Returns the norm-wise relative error; failures count into
   check_failures. */
static double check_tensor(const char *name, float *x, size_t n, const float *analytic,
                           const Scalar *s) {
    CHECK(s->tol < FD_TOL_1PCT, "%s: tolerance %.3g would not catch a 1%% error", name, s->tol);
    size_t stride = n > FD_MAX_POINTS ? n / FD_MAX_POINTS : 1, m = 0;
    size_t *idx = xmalloc(sizeof(size_t) * (n / stride + 1));
    double *fd = xmalloc(sizeof(double) * (n / stride + 1));
    double diff2 = 0.0, a2 = 0.0, f2 = 0.0, fmax_abs = 0.0;
    for (size_t i = 0; i < n; i += stride, m++) {
        float x0 = x[i];
        x[i] = x0 + s->eps;
        double fp = scalar_value(s), hp = x[i];
        x[i] = x0 - s->eps;
        double fm = scalar_value(s), hm = x[i];
        x[i] = x0;
        double a = analytic[i];
        idx[m] = i;
        fd[m] = (fp - fm) / (hp - hm);
        diff2 += (a - fd[m]) * (a - fd[m]);
        a2 += a * a;
        f2 += fd[m] * fd[m];
        fmax_abs = fmax(fmax_abs, fabs(fd[m]));
    }
    scalar_value(s);   /* restore the forward caches to the unperturbed point */
    double norm = fmax(sqrt(fmax(a2, f2)), 1e-30);
    double rel = sqrt(diff2) / norm, worst = 0.0;
    size_t worst_i = 0;
    for (size_t j = 0; j < m; j++) {
        double a = analytic[idx[j]];
        double e = fabs(a - fd[j]) / fmax(fmax(fabs(a), fabs(fd[j])), FD_ELEM_FLOOR * fmax_abs + 1e-30);
        if (e > worst) worst = e, worst_i = j;
    }
    CHECK(rel <= s->tol, "%s: relative error %.3g (norm over %zu elements) > %.3g", name, rel, m, s->tol);
    CHECK(worst <= FD_ELEM_TOL, "%s[%zu]: analytic %.6g, finite difference %.6g (relative %.3g)",
          name, idx[worst_i], analytic[idx[worst_i]], fd[worst_i], worst);
    fprintf(stderr, "    %-18s rel err %.2e (norm; tol %.0e), worst element %.2e, eps %.0e\n", name,
            rel, s->tol, worst, s->eps);
    free(idx);
    free(fd);
    return rel;
}

/* ---- rmsnorm --------------------------------------------------------------------------- */

typedef struct { float *out, *rstd, *inp; int N, d; } NormCtx;
static void norm_fwd(void *p) { NormCtx *c = p; rmsnorm_forward(c->out, c->rstd, c->inp, c->N, c->d); }

static void test_grad_rmsnorm(void) {
    Rng r; rng_seed(&r, 11);
    int N = 6, d = 10;
    NormCtx c = {xmalloc(sizeof(float) * N * d), xmalloc(sizeof(float) * N), randn(N * d, 2.0, &r), N, d};
    float *rproj = randn(N * d, 1.0, &r), *dinp = xmalloc(sizeof(float) * N * d);
    Scalar s = {norm_fwd, &c, c.out, (size_t)N * d, rproj, NULL, 1e-2f, 1e-3};
    scalar_value(&s);
    rmsnorm_backward(dinp, rproj, c.out, c.rstd, N, d);
    check_tensor("rmsnorm dinp", c.inp, N * d, dinp, &s);
    free(c.out); free(c.rstd); free(c.inp); free(rproj); free(dinp);
}

/* ---- residual step: out = rmsnorm(x + alpha f) ---------------------------------------- */

typedef struct { float *out, *rstd, *x, *f; float alpha; int N, d; } ResCtx;
static void res_fwd(void *p) {
    ResCtx *c = p;
    residual_rmsnorm_forward(c->out, c->rstd, c->x, c->f, c->alpha, c->N, c->d);
}

static void test_grad_residual_rmsnorm(void) {
    Rng r; rng_seed(&r, 12);
    int N = 5, d = 9;
    ResCtx c = {xmalloc(4 * N * d), xmalloc(4 * N), randn(N * d, 1.0, &r), randn(N * d, 1.0, &r),
                0.6f, N, d};
    float *rproj = randn(N * d, 1.0, &r), *dx = xmalloc(4 * N * d), *df = xmalloc(4 * N * d);
    Scalar s = {res_fwd, &c, c.out, (size_t)N * d, rproj, NULL, 1e-2f, 1e-3};
    scalar_value(&s);
    memcpy(dx, rproj, 4 * N * d);   /* on entry dx = dL/dout */
    residual_rmsnorm_backward(dx, df, c.out, c.rstd, c.alpha, N, d);
    check_tensor("residual dx", c.x, N * d, dx, &s);
    check_tensor("residual df", c.f, N * d, df, &s);
    float *bufs[] = {c.out, c.rstd, c.x, c.f, rproj, dx, df};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
}

/* ---- linear ---------------------------------------------------------------------------- */

typedef struct { float *Y, *X, *W, *b; int N, in, out; } LinCtx;
static void lin_fwd(void *p) { LinCtx *c = p; linear_forward(c->Y, c->X, c->W, c->b, c->N, c->in, c->out); }

/* Gradients of Y = X W + b; dX is checked in both modes: added to what it held, or written. */
static void check_linear(int with_bias) {
    Rng r; rng_seed(&r, 15 + with_bias);
    int N = 7, in = 5, out = 6;
    LinCtx c = {xmalloc(sizeof(float) * N * out), randn(N * in, 1.0, &r), randn(in * out, 0.5, &r),
                with_bias ? randn(out, 1.0, &r) : NULL, N, in, out};
    float *rproj = randn(N * out, 1.0, &r), *held = randn(N * in, 1.0, &r);
    float *dX = xmalloc(sizeof(float) * N * in), *dX_add = xmalloc(sizeof(float) * N * in);
    float *dW = xcalloc(in * out, 4), *db = xcalloc(out, 4), *dW2 = xcalloc(in * out, 4);
    memcpy(dX, held, sizeof(float) * N * in);      /* garbage that SET must overwrite */
    memcpy(dX_add, held, sizeof(float) * N * in);
    Scalar s = {lin_fwd, &c, c.Y, (size_t)N * out, rproj, NULL, 1e-2f, 1e-3};
    scalar_value(&s);
    linear_backward(dX, dW, with_bias ? db : NULL, rproj, c.X, c.W, N, in, out, LINEAR_DX_SET);
    linear_backward(dX_add, dW2, NULL, rproj, c.X, c.W, N, in, out, LINEAR_DX_ADD);
    check_tensor("linear dX", c.X, N * in, dX, &s);
    check_tensor("linear dW", c.W, in * out, dW, &s);
    if (with_bias) check_tensor("linear db", c.b, out, db, &s);
    for (int i = 0; i < N * in; i++) dX_add[i] -= held[i];
    check_tensor("linear dX added", c.X, N * in, dX_add, &s);
    float *bufs[] = {c.Y, c.X, c.W, c.b, rproj, held, dX, dX_add, dW, db, dW2};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
}

static void test_grad_linear(void) { check_linear(0); }
static void test_grad_linear_bias(void) { check_linear(1); }

/* ---- attention ------------------------------------------------------------------------- */

typedef struct {
    float *out, *q, *k, *v, *att, *X, *Wq, *Wk, *Wv;
    int B, n, d, H; float beta;
} AttCtx;

static void att_fwd(void *p) {
    AttCtx *c = p;
    int N = c->B * c->n, d = c->d;
    linear_forward(c->q, c->X, c->Wq, NULL, N, d, d);
    linear_forward(c->k, c->X, c->Wk, NULL, N, d, d);
    linear_forward(c->v, c->X, c->Wv, NULL, N, d, d);
    attention_forward(c->out, c->att, c->q, c->k, c->v, c->B, c->n, d, c->H, c->beta);
}

static void check_attention(int B, int n, int d, int H, float beta, uint64_t seed) {
    Rng r; rng_seed(&r, seed);
    size_t N = (size_t)B * n, Nd = N * d, dd = (size_t)d * d, nn = (size_t)B * H * n * n;
    AttCtx c = {xmalloc(4 * Nd), xmalloc(4 * Nd), xmalloc(4 * Nd), xmalloc(4 * Nd),
                xmalloc(4 * nn), randn(Nd, 1.0, &r), randn(dd, 1.0 / sqrt(d), &r),
                randn(dd, 1.0 / sqrt(d), &r), randn(dd, 1.0 / sqrt(d), &r), B, n, d, H, beta};
    float *rproj = randn(Nd, 1.0, &r);
    float *dX = xcalloc(Nd, 4), *dWq = xcalloc(dd, 4), *dWk = xcalloc(dd, 4), *dWv = xcalloc(dd, 4);
    float *dq = xmalloc(4 * Nd), *dk = xmalloc(4 * Nd), *dv = xmalloc(4 * Nd), *dS = xmalloc(4 * nn);
    Scalar s = {att_fwd, &c, c.out, Nd, rproj, NULL, 1e-2f, 1e-3};
    scalar_value(&s);
    attention_backward(dq, dk, dv, dS, rproj, c.q, c.k, c.v, c.att, B, n, d, H, beta);
    linear_backward(dX, dWq, NULL, dq, c.X, c.Wq, (int)N, d, d, LINEAR_DX_ADD);
    linear_backward(dX, dWk, NULL, dk, c.X, c.Wk, (int)N, d, d, LINEAR_DX_ADD);
    linear_backward(dX, dWv, NULL, dv, c.X, c.Wv, (int)N, d, d, LINEAR_DX_ADD);
    check_tensor("attention dX", c.X, Nd, dX, &s);
    check_tensor("attention dWq", c.Wq, dd, dWq, &s);
    check_tensor("attention dWk", c.Wk, dd, dWk, &s);
    check_tensor("attention dWv", c.Wv, dd, dWv, &s);
    float *bufs[] = {c.out, c.q, c.k, c.v, c.att, c.X, c.Wq, c.Wk, c.Wv, rproj, dX, dWq, dWk,
                     dWv, dq, dk, dv, dS};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
}

static void test_grad_attention_one_head(void) { check_attention(2, 5, 8, 1, 1.0f, 21); }
static void test_grad_attention_multi_head_beta(void) { check_attention(3, 4, 12, 3, 2.5f, 22); }

/* ---- GELU ------------------------------------------------------------------------------ */

typedef struct { float *g, *gate, *h; size_t count; } GeluCtx;
static void gelu_fwd(void *p) { GeluCtx *c = p; gelu_forward(c->g, c->gate, c->h, c->count); }

static void test_grad_gelu(void) {
    Rng r; rng_seed(&r, 32);
    size_t count = 45;
    GeluCtx c = {xmalloc(4 * count), xmalloc(4 * count), randn(count, 1.5, &r), count};
    float *rproj = randn(count, 1.0, &r), *dh = xmalloc(4 * count);
    Scalar s = {gelu_fwd, &c, c.g, count, rproj, NULL, 1e-2f, 1e-3};
    scalar_value(&s);
    gelu_backward(dh, rproj, c.h, c.gate, count);
    /* the forward against the tanh formula of MODEL.md */
    for (size_t i = 0; i < count; i++) {
        double x = c.h[i], want = 0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
        CHECK(fabs(c.g[i] - want) <= 1e-6 * (1.0 + fabs(want)), "gelu(%g) = %g, want %g", x, c.g[i], want);
    }
    check_tensor("gelu dh", c.h, count, dh, &s);
    free(c.g); free(c.gate); free(c.h); free(rproj); free(dh);
}

/* ---- MLP: linear, gelu, linear, as the model composes it -------------------------------- */

typedef struct { float *out, *h, *g, *gate, *X, *W1, *W2; int N, d, M; } MlpCtx;
static void mlp_fwd(void *p) {
    MlpCtx *c = p;
    linear_forward(c->h, c->X, c->W1, NULL, c->N, c->d, c->M);
    gelu_forward(c->g, c->gate, c->h, (size_t)c->N * c->M);
    linear_forward(c->out, c->g, c->W2, NULL, c->N, c->M, c->d);
}

static void test_grad_mlp(void) {
    Rng r; rng_seed(&r, 31);
    int N = 5, d = 6, M = 9;
    MlpCtx c = {xmalloc(4 * N * d), xmalloc(4 * N * M), xmalloc(4 * N * M), xmalloc(4 * N * M),
                randn(N * d, 1.0, &r),
                randn(d * M, 1.0 / sqrt(d), &r), randn(M * d, 1.0 / sqrt(M), &r), N, d, M};
    float *rproj = randn(N * d, 1.0, &r);
    float *dX = xcalloc(N * d, 4), *dW1 = xcalloc(d * M, 4), *dW2 = xcalloc(M * d, 4);
    float *dg = xmalloc(4 * N * M), *dh = xmalloc(4 * N * M);
    Scalar s = {mlp_fwd, &c, c.out, (size_t)N * d, rproj, NULL, 1e-2f, 1e-3};
    scalar_value(&s);
    linear_backward(dg, dW2, NULL, rproj, c.g, c.W2, N, M, d, LINEAR_DX_SET);
    gelu_backward(dh, dg, c.h, c.gate, (size_t)N * M);
    linear_backward(dX, dW1, NULL, dh, c.X, c.W1, N, d, M, LINEAR_DX_ADD);
    check_tensor("mlp dX", c.X, N * d, dX, &s);
    check_tensor("mlp dW1", c.W1, d * M, dW1, &s);
    check_tensor("mlp dW2", c.W2, M * d, dW2, &s);
    float *bufs[] = {c.out, c.h, c.g, c.gate, c.X, c.W1, c.W2, rproj, dX, dW1, dW2, dg, dh};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
}

/* ---- embedding, head, loss ------------------------------------------------------------- */

typedef struct { float *out, *patches; int32_t *tokens; float *We, *pos; int B, n, in_dim, d; } EmbCtx;
static void emb_fwd(void *p) {
    EmbCtx *c = p;
    embed_forward(c->out, c->patches, c->tokens, c->We, c->pos, c->B, c->n, c->in_dim, c->d);
}

static void check_embed(int use_tokens) {
    Rng r; rng_seed(&r, 41 + use_tokens);
    int B = 3, n = 4, in_dim = 5, d = 6;
    int32_t tokens[12];
    for (int i = 0; i < B * n; i++) tokens[i] = (int32_t)rng_below(&r, in_dim);
    EmbCtx c = {xmalloc(4 * B * n * d), use_tokens ? NULL : randn(B * n * in_dim, 1.0, &r),
                use_tokens ? tokens : NULL, randn(in_dim * d, 1.0, &r), randn(n * d, 1.0, &r),
                B, n, in_dim, d};
    float *rproj = randn(B * n * d, 1.0, &r);
    float *dWe = xcalloc(in_dim * d, 4), *dpos = xcalloc(n * d, 4);
    Scalar s = {emb_fwd, &c, c.out, (size_t)B * n * d, rproj, NULL, 1e-2f, 1e-3};
    scalar_value(&s);
    embed_backward(dWe, dpos, rproj, c.patches, c.tokens, B, n, in_dim, d);
    check_tensor(use_tokens ? "embed dE" : "embed dWe", c.We, in_dim * d, dWe, &s);
    check_tensor("embed dpos", c.pos, n * d, dpos, &s);
    free(c.out); free(c.patches); free(c.We); free(c.pos); free(rproj); free(dWe); free(dpos);
}
static void test_grad_embed_patches(void) { check_embed(0); }
static void test_grad_embed_tokens(void) { check_embed(1); }

typedef struct { float *logits, *pooled, *X, *Wc, *bc; int B, n, d, C; } HeadCtx;
static void head_fwd(void *p) {
    HeadCtx *c = p;
    head_forward(c->logits, c->pooled, c->X, c->Wc, c->bc, c->B, c->n, c->d, c->C);
}

static void test_grad_head(void) {
    Rng r; rng_seed(&r, 51);
    int B = 3, n = 4, d = 5, C = 4;
    HeadCtx c = {xmalloc(4 * B * C), xmalloc(4 * B * d), randn(B * n * d, 1.0, &r),
                 randn(d * C, 1.0, &r), randn(C, 1.0, &r), B, n, d, C};
    float *rproj = randn(B * C, 1.0, &r);
    float *dX = xmalloc(4 * B * n * d), *dWc = xcalloc(d * C, 4), *dbc = xcalloc(C, 4);
    float *dpooled = xmalloc(4 * B * d);
    Scalar s = {head_fwd, &c, c.logits, (size_t)B * C, rproj, NULL, 1e-2f, 1e-3};
    scalar_value(&s);
    head_backward(dX, dWc, dbc, dpooled, rproj, c.pooled, c.Wc, B, n, d, C);
    check_tensor("head dX", c.X, B * n * d, dX, &s);
    check_tensor("head dWc", c.Wc, d * C, dWc, &s);
    check_tensor("head dbc", c.bc, C, dbc, &s);
    free(c.logits); free(c.pooled); free(c.X); free(c.Wc); free(c.bc); free(rproj);
    free(dX); free(dWc); free(dbc); free(dpooled);
}

typedef struct { float *probs, *logits; int32_t *labels; int B, C; double loss; } CeCtx;
static void ce_fwd(void *p) {
    CeCtx *c = p;
    c->loss = crossentropy_forward(c->probs, c->logits, c->labels, c->B, c->C);
}

static void test_grad_crossentropy(void) {
    Rng r; rng_seed(&r, 61);
    int B = 4, C = 5;
    int32_t labels[4] = {0, 3, 4, 1};
    CeCtx c = {xmalloc(4 * B * C), randn(B * C, 2.0, &r), labels, B, C, 0.0};
    float *dlogits = xmalloc(4 * B * C);
    Scalar s = {ce_fwd, &c, NULL, 0, NULL, &c.loss, 1e-2f, 1e-3};
    scalar_value(&s);
    crossentropy_backward(dlogits, c.probs, labels, B, C, B);
    check_tensor("crossentropy", c.logits, B * C, dlogits, &s);
    /* and the value itself: uniform logits give log(C) */
    float zeros[20] = {0};
    CHECK_CLOSE(crossentropy_forward(c.probs, zeros, labels, B, C), log(5.0), 1e-6, 0, "CE(0)");
    free(c.probs); free(c.logits); free(dlogits);
}

/* ---- whole model ----------------------------------------------------------------------- */

typedef struct { Model *m; const float *patches; const int32_t *tokens; const int32_t *labels; int B; double loss; } ModelCtx;
static void model_fwd(void *p) {
    ModelCtx *c = p;
    c->loss = model_forward(c->m, c->patches, c->tokens, c->labels, c->B);
}

static void check_model(ModelShape sh, float noise_scale, float value_mean, uint64_t seed) {
    Rng r; rng_seed(&r, seed);
    int B = 3;
    Model m;
    model_build(&m, sh, B, 2);   /* two shards of 2 and 1 examples: the threaded path */
    model_init(&m, seed, noise_scale, value_mean);
    /* The head starts at zero, which would make every other gradient zero: randomize it. */
    const TensorInfo *hw = model_find_tensor(&m, "head.weight");
    for (size_t i = 0; i < (size_t)hw->rows * hw->cols + sh.C; i++)
        m.params[hw->offset + i] = (float)rng_normal(&r);
    float *patches = sh.tokens_input ? NULL : randn((size_t)B * sh.n * sh.in_dim, 1.0, &r);
    int32_t tokens[64], labels[3];
    for (int i = 0; i < B * sh.n; i++) tokens[i] = (int32_t)rng_below(&r, sh.in_dim);
    for (int b = 0; b < B; b++) labels[b] = (int32_t)rng_below(&r, sh.C);
    ModelCtx c = {&m, patches, sh.tokens_input ? tokens : NULL, labels, B, 0.0};
    Scalar s = {model_fwd, &c, NULL, 0, NULL, &c.loss, 1e-2f, 3e-3};  /* measured up to 4.4e-4 */
    model_zero_grad(&m);
    scalar_value(&s);
    model_backward(&m, c.patches, c.tokens, labels, B);
    for (int t = 0; t < m.num_tensors; t++) {
        const TensorInfo *ti = &m.tensors[t];
        check_tensor(ti->name, m.params + ti->offset, (size_t)ti->rows * ti->cols,
                     m.grads + ti->offset, &s);
    }
    free(patches);
    model_free(&m);
}

static void test_grad_model_images_mlp(void) {
    ModelShape s = {.d = 8, .L = 3, .H = 2, .n = 4, .in_dim = 5, .tokens_input = 0, .C = 3,
                    .M = 6, .beta = 1.3f, .alpha = 0.57735f};
    check_model(s, 1.0f, 0.0f, 71);
}

static void test_grad_model_tokens_no_mlp(void) {
    ModelShape s = {.d = 6, .L = 4, .H = 3, .n = 5, .in_dim = 7, .tokens_input = 1, .C = 4,
                    .M = 0, .beta = 0.7f, .alpha = 1.0f};
    check_model(s, 0.5f, 1.0f, 72);
}

static void test_grad_model_suppressed_noise(void) {
    ModelShape s = {.d = 8, .L = 2, .H = 1, .n = 3, .in_dim = 4, .tokens_input = 0, .C = 2,
                    .M = 0, .beta = 1.0f, .alpha = 0.5f};
    check_model(s, 0.0f, 0.0f, 73);
}

/* Splitting the batch across threads changes only the order of the gradient sums. */
static void test_grad_model_shards_agree(void) {
    ModelShape sh = {.d = 8, .L = 3, .H = 2, .n = 4, .in_dim = 5, .C = 3, .M = 6, .beta = 1.3f, .alpha = 0.57735f};
    int B = 7;
    Rng r; rng_seed(&r, 81);
    float *patches = randn((size_t)B * sh.n * sh.in_dim, 1.0, &r);
    int32_t labels[7] = {0, 1, 2, 0, 1, 2, 1};
    Model one, three;
    model_build(&one, sh, B, 1);
    model_build(&three, sh, B, 3);
    model_init(&one, 5, 1.0f, 0.0f);
    for (size_t i = 0; i < one.num_params; i++) one.params[i] += 0.01f * (float)rng_normal(&r);
    memcpy(three.params, one.params, sizeof(float) * one.num_params);
    model_zero_grad(&one);
    model_zero_grad(&three);
    double l1 = model_forward(&one, patches, NULL, labels, B);
    double l3 = model_forward(&three, patches, NULL, labels, B);
    model_backward(&one, patches, NULL, labels, B);
    model_backward(&three, patches, NULL, labels, B);
    CHECK_CLOSE(l3, l1, 1e-7, 1e-6, "loss with 3 shards");
    /* per tensor, the relative norm of the difference (fp32 sums in another order: ~1e-7) */
    double worst = 0;
    for (int t = 0; t < one.num_tensors; t++) {
        const TensorInfo *ti = &one.tensors[t];
        double diff2 = 0, ref2 = 0;
        for (size_t i = ti->offset; i < ti->offset + (size_t)ti->rows * ti->cols; i++) {
            double g1 = one.grads[i], g3 = three.grads[i];
            diff2 += (g3 - g1) * (g3 - g1);
            ref2 += g1 * g1;
        }
        double rel = sqrt(diff2) / fmax(sqrt(ref2), 1e-30);
        worst = fmax(worst, rel);
        CHECK(rel <= 1e-5, "%s: gradient with 3 shards differs by %.3g (relative norm)", ti->name, rel);
    }
    double ldiff2 = 0, lref2 = 0;
    for (int i = 0; i < B * sh.C; i++) {
        double a = one.a.logits[i], b = three.a.logits[i];
        ldiff2 += (b - a) * (b - a);
        lref2 += a * a;
    }
    double lrel = sqrt(ldiff2) / fmax(sqrt(lref2), 1e-30);
    CHECK(lrel <= 1e-6, "logits of all %d examples with 3 shards differ by %.3g (relative norm)", B, lrel);
    fprintf(stderr, "    3 shards vs 1: gradients %.2e, logits %.2e (worst relative norm of the difference)\n",
            worst, lrel);
    free(patches);
    model_free(&one);
    model_free(&three);
}

/* The layer stack from given states equals the full forward from the same X0. */
static void test_model_forward_states_matches(void) {
    ModelShape sh = {.d = 8, .L = 4, .H = 2, .n = 5, .in_dim = 6, .C = 3, .M = 4, .beta = 1.0f, .alpha = 0.5f};
    int B = 5;
    Rng r; rng_seed(&r, 91);
    float *patches = randn((size_t)B * sh.n * sh.in_dim, 1.0, &r);
    Model m;
    model_build(&m, sh, B, 2);
    model_init(&m, 3, 1.0f, 0.0f);
    model_forward(&m, patches, NULL, NULL, B);
    size_t Nd = (size_t)B * sh.n * sh.d;
    float *x0 = xmalloc(sizeof(float) * Nd), *xL = xmalloc(sizeof(float) * Nd);
    memcpy(x0, model_layer_states(&m, 0), sizeof(float) * Nd);
    memcpy(xL, model_layer_states(&m, sh.L), sizeof(float) * Nd);
    memset(m.a.x, 0, sizeof(float) * Nd * (sh.L + 1));
    model_forward_states(&m, x0, B);
    CHECK(memcmp(model_layer_states(&m, sh.L), xL, sizeof(float) * Nd) == 0,
          "layer L from given X0 equals the full forward");
    free(patches); free(x0); free(xL);
    model_free(&m);
}

/* ---- activation block ------------------------------------------------------------------ */

typedef struct { const float *p; size_t n; } Span;
static int span_cmp(const void *a, const void *b) {
    const float *x = ((const Span *)a)->p, *y = ((const Span *)b)->p;
    return x < y ? -1 : x > y;
}

/* Every array of the activation block (whole-batch view) is present with its size and no
   two overlap; the layers' states are the model's states, and without an MLP xa is out. */
static void check_activation_views(int M) {
    ModelShape sh = {.d = 8, .L = 3, .H = 2, .n = 5, .in_dim = 6, .C = 3, .M = M, .beta = 1.0f, .alpha = 0.5f};
    int B = 3;
    Model m;
    model_build(&m, sh, B, 2);
    const Activations *a = &m.a;
    size_t N = (size_t)B * sh.n, Nd = N * sh.d, NM = N * M, att = (size_t)B * sh.H * sh.n * sh.n;
    Span sp[64];
    int k = 0;
    Span model_arrays[] = {{a->x, Nd * (sh.L + 1)}, {a->rstd0, N}, {a->pooled, (size_t)B * sh.d},
                           {a->logits, (size_t)B * sh.C}, {a->probs, (size_t)B * sh.C}, {a->f, Nd},
                           {a->df, Nd},
                           {a->dx, Nd}, {a->dy, Nd}, {a->dq, Nd}, {a->dk, Nd}, {a->dv, Nd},
                           {a->dS, att}, {a->dg, NM}, {a->dh, NM}, {a->dpooled, (size_t)B * sh.d},
                           {a->dlogits, (size_t)B * sh.C}};
    for (size_t i = 0; i < sizeof model_arrays / sizeof *model_arrays; i++) sp[k++] = model_arrays[i];
    for (int l = 0; l < sh.L; l++) {
        const LayerActs *t = &a->layers[l];
        CHECK(t->x == model_layer_states(&m, l) && t->out == model_layer_states(&m, l + 1),
              "layer %d: x and out are states %d and %d", l, l, l + 1);
        Span layer_arrays[] = {{t->q, Nd}, {t->k, Nd}, {t->v, Nd}, {t->att, att}, {t->rstd_a, N},
                               {t->h, NM}, {t->g, NM}, {t->gate, NM}, {t->rstd_m, M ? N : 0},
                               {M ? t->xa : NULL, M ? Nd : 0}};
        for (size_t i = 0; i < sizeof layer_arrays / sizeof *layer_arrays; i++) sp[k++] = layer_arrays[i];
        if (!M) CHECK(t->xa == t->out, "layer %d: without MLP xa is out", l);
    }
    int present = 0;
    for (int i = 0; i < k; i++) {
        int want = sp[i].n > 0;
        CHECK((sp[i].p != NULL) == want, "array %d: %s", i, want ? "missing" : "present without MLP");
        if (sp[i].p && sp[i].n) sp[present++] = sp[i];
    }
    qsort(sp, present, sizeof *sp, span_cmp);
    for (int i = 0; i + 1 < present; i++)
        CHECK(sp[i].p + sp[i].n <= sp[i + 1].p, "activation arrays overlap at %d", i);
    model_free(&m);
}

static void test_activation_views_mlp(void) { check_activation_views(4); }
static void test_activation_views_no_mlp(void) { check_activation_views(0); }

SUITE(grad_tests) = {
    {"activation_views_mlp", test_activation_views_mlp},
    {"activation_views_no_mlp", test_activation_views_no_mlp},
    {"model_forward_states_matches", test_model_forward_states_matches},
    {"grad_model_shards_agree", test_grad_model_shards_agree},
    {"grad_rmsnorm", test_grad_rmsnorm},
    {"grad_residual_rmsnorm", test_grad_residual_rmsnorm},
    {"grad_linear", test_grad_linear},
    {"grad_linear_bias", test_grad_linear_bias},
    {"grad_attention_one_head", test_grad_attention_one_head},
    {"grad_attention_multi_head_beta", test_grad_attention_multi_head_beta},
    {"grad_gelu", test_grad_gelu},
    {"grad_mlp", test_grad_mlp},
    {"grad_embed_patches", test_grad_embed_patches},
    {"grad_embed_tokens", test_grad_embed_tokens},
    {"grad_head", test_grad_head},
    {"grad_crossentropy", test_grad_crossentropy},
    {"grad_model_images_mlp", test_grad_model_images_mlp},
    {"grad_model_tokens_no_mlp", test_grad_model_tokens_no_mlp},
    {"grad_model_suppressed_noise", test_grad_model_suppressed_noise},
    END_SUITE,
};
