/* Forward and backward of every layer of MODEL.md. Every dense product X W is a
   linear_forward/linear_backward (cblas_sgemm); attention's small per-head products go
   through smallmm (register-blocked FMA chains whose numbers the code defines, without
   OpenBLAS's per-call cost; see smallmm.h). The loops are the element-wise parts.
   Reductions over a row use double. */
#include "ops.h"

#include "expf_batch.h"
#include "smallmm.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* C (m, n) = alpha * op(A) op(B) + beta * C, row-major, with explicit leading dimensions. */
static void gemm(int transA, int transB, int m, int n, int k, float alpha, const float *A,
                 int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* ---- RMSNorm without gain ------------------------------------------------------------ */

/* <a, b> in double with 8 independent partial sums: a fixed summation order (so results
   are reproducible) that the compiler can still vectorize. */
static double dot_double(const float *a, const float *b, int d) {
    double acc[8] = {0};
    int j = 0;
    for (; j + 8 <= d; j += 8)
        for (int u = 0; u < 8; u++) acc[u] += (double)a[j + u] * b[j + u];
    double s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; j < d; j++) s += (double)a[j] * b[j];
    return s;
}

/* One row: out = inp r, r = (mean(inp^2) + eps)^(-1/2); returns r. out may alias inp. */
static float rmsnorm_row(float *out, const float *inp, int d) {
    double ss = dot_double(inp, inp, d);
    float r = (float)(1.0 / sqrt(ss / d + 1e-6));
    for (int j = 0; j < d; j++) out[j] = inp[j] * r;
    return r;
}

void rmsnorm_forward(float *out, float *rstd, const float *inp, int N, int d) {
    for (int i = 0; i < N; i++) rstd[i] = rmsnorm_row(out + (size_t)i * d, inp + (size_t)i * d, d);
}

/* One pass per row: the sum, then its norm while the row is in L1. */
void residual_rmsnorm_forward(float *out, float *rstd, const float *x, const float *f, float alpha,
                              int N, int d) {
    for (int i = 0; i < N; i++) {
        float *o = out + (size_t)i * d;
        const float *xi = x + (size_t)i * d, *fi = f + (size_t)i * d;
        for (int j = 0; j < d; j++) o[j] = xi[j] + alpha * fi[j];
        rstd[i] = rmsnorm_row(o, o, d);
    }
}

/* out = inp r with r = (mean(inp^2) + eps)^(-1/2), so dr/dinp_j = -r^3 inp_j / d and
   dinp_j = r dout_j - r^3 inp_j <dout, inp> / d = r (dout_j - out_j <dout, out> / d). */
static void rmsnorm_backward_row(float *dinp, const float *dout, const float *out, float r, int d) {
    float c = (float)(dot_double(dout, out, d) / d);
    for (int j = 0; j < d; j++) dinp[j] = r * (dout[j] - out[j] * c);
}

void rmsnorm_backward(float *dinp, const float *dout, const float *out, const float *rstd, int N,
                      int d) {
    for (int i = 0; i < N; i++)
        rmsnorm_backward_row(dinp + (size_t)i * d, dout + (size_t)i * d, out + (size_t)i * d,
                             rstd[i], d);
}

/* out = rmsnorm(x + alpha f): dx = dy (the identity path), df = alpha dy. */
void residual_rmsnorm_backward(float *dx, float *df, const float *out, const float *rstd,
                               float alpha, int N, int d) {
    for (int i = 0; i < N; i++) {
        float *dxi = dx + (size_t)i * d, *dfi = df + (size_t)i * d;
        rmsnorm_backward_row(dxi, dxi, out + (size_t)i * d, rstd[i], d);
        for (int j = 0; j < d; j++) dfi[j] = alpha * dxi[j];
    }
}

/* ---- Linear layer --------------------------------------------------------------------- */

void linear_forward(float *Y, const float *X, const float *W, const float *b, int N, int in,
                    int out) {
    /* With a bias the rows start as b and the product is added (beta 1), else written. */
    if (b)
        for (int r = 0; r < N; r++) memcpy(Y + (size_t)r * out, b, sizeof(float) * out);
    gemm(0, 0, N, out, in, 1.0f, X, in, W, out, b ? 1.0f : 0.0f, Y, out);    /* Y = X W */
}

/* Y = X W + b gives dW = X^T dY, db = sum over rows of dY, dX = dY W^T. */
void linear_backward(float *dX, float *dW, float *db, const float *dY, const float *X,
                     const float *W, int N, int in, int out, LinearDx mode) {
    gemm(1, 0, in, out, N, 1.0f, X, in, dY, out, 1.0f, dW, out);             /* dW += X^T dY */
    if (db)
        for (int r = 0; r < N; r++)
            for (int c = 0; c < out; c++) db[c] += dY[(size_t)r * out + c];
    if (dX)                                                                    /* dX (+)= dY W^T */
        gemm(0, 1, N, in, out, 1.0f, dY, out, W, out, mode == LINEAR_DX_ADD ? 1.0f : 0.0f, dX, in);
}

/* ---- Attention core ------------------------------------------------------------------- */

static void softmax_rows(float *S, int rows, int cols) {
    for (int i = 0; i < rows; i++) {
        float *s = S + (size_t)i * cols;
        float mx = s[0];
        for (int j = 1; j < cols; j++) mx = s[j] > mx ? s[j] : mx;
        for (int j = 0; j < cols; j++) s[j] -= mx;
        expf_batch(s, s, cols);
        double sum = 0.0;
        for (int j = 0; j < cols; j++) sum += s[j];
        float inv = (float)(1.0 / sum);
        for (int j = 0; j < cols; j++) s[j] *= inv;
    }
}

/* Head h of example b is the (n, dh) block at row b*n, column h*dh of a (B*n, d) array:
   the heads are read in place with leading dimension d, never copied. */
static size_t head_offset(int b, int h, int n, int d, int dh) {
    return (size_t)b * n * d + (size_t)h * dh;
}

/* The (n, n) attention matrix of example b, head h in an array of B*H of them. */
static size_t scores_offset(int b, int h, int H, int n) {
    return ((size_t)b * H + h) * n * n;
}

void attention_forward(float *out, float *att, const float *q, const float *k, const float *v,
                       int B, int n, int d, int H, float beta) {
    int dh = d / H;
    float scale = beta / sqrtf((float)dh);
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < H; h++) {
            size_t off = head_offset(b, h, n, d, dh);
            float *A = att + scores_offset(b, h, H, n);                        /* (n, n) */
            smallmm_nt(A, n, q + off, d, k + off, d, n, n, dh, scale);          /* S = s q k^T */
            softmax_rows(A, n, n);                                              /* A = softmax(S) */
            smallmm_nn(out + off, d, A, n, 1, v + off, d, n, dh, n, 1.0f);      /* O = A v */
        }
    }
}

/* Per head, with O = A v, A = softmax(S) row-wise, S = s q k^T, s = beta / sqrt(dh):
     dA = dO v^T                 dv = A^T dO
     dS = A * (dA - rowsum(dA * A))          (softmax backward; * element-wise)
     dq = s dS k                 dk = s dS^T q                                             */
void attention_backward(float *dq, float *dk, float *dv, float *dS, const float *dout,
                        const float *q, const float *k, const float *v, const float *att,
                        int B, int n, int d, int H, float beta) {
    int dh = d / H;
    float scale = beta / sqrtf((float)dh);
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < H; h++) {
            size_t off = head_offset(b, h, n, d, dh);
            const float *A = att + scores_offset(b, h, H, n);                 /* (n, n) */
            float *G = dS + scores_offset(b, h, H, n);                        /* (n, n) */
            smallmm_nt(G, n, dout + off, d, v + off, d, n, n, dh, 1.0f);        /* G = dA */
            smallmm_nn(dv + off, d, A, 1, n, dout + off, d, n, dh, n, 1.0f);    /* dv */
            for (int i = 0; i < n; i++) {                                       /* G = dS */
                float *g = G + (size_t)i * n;
                const float *a = A + (size_t)i * n;
                double dot = 0.0;
                for (int j = 0; j < n; j++) dot += (double)g[j] * a[j];
                for (int j = 0; j < n; j++) g[j] = a[j] * (g[j] - (float)dot);
            }
            smallmm_nn(dq + off, d, G, n, 1, k + off, d, n, dh, n, scale);      /* dq */
            smallmm_nn(dk + off, d, G, 1, n, q + off, d, n, dh, n, scale);      /* dk */
        }
    }
}

/* ---- tanh-GELU (the MLP's activation; the MLP is linear, gelu, linear in model.c) ----
   gelu(x) = 0.5 x (1 + tanh(u)), u = c (x + 0.044715 x^3), c = sqrt(2/pi). With the exact
   identity 0.5 (1 + tanh u) = sigmoid(2u) = s this is x s: one expf per element, and s
   is cached so that the backward pass needs no transcendental function at all:
   gelu'(x) = s + x * 2 s (1 - s) * c (1 + 3 * 0.044715 x^2)   [0.5 (1 - tanh^2 u) = 2 s (1 - s)] */

#define GELU_C 0.7978845608028654f   /* sqrt(2/pi) */
#define GELU_A 0.044715f

void gelu_forward(float *g, float *gate, const float *h, size_t count) {
    float *s = gate;                                            /* s of the formulas above */
    enum { PIECE = 2048 };                                      /* three passes while in L1 */
    for (size_t i0 = 0; i0 < count; i0 += PIECE) {
        size_t i1 = count - i0 < PIECE ? count : i0 + PIECE;
        for (size_t i = i0; i < i1; i++) {                      /* s = -2u */
            float x = h[i];
            s[i] = -2.0f * (GELU_C * (x + GELU_A * x * x * x));
        }
        expf_batch(s + i0, s + i0, i1 - i0);                    /* s = e^(-2u) */
        for (size_t i = i0; i < i1; i++) {                      /* s = sigmoid(2u), g = x s */
            s[i] = 1.0f / (1.0f + s[i]);
            g[i] = h[i] * s[i];
        }
    }
}

void gelu_backward(float *dh, const float *dg, const float *h, const float *gate, size_t count) {
    for (size_t i = 0; i < count; i++) {
        float x = h[i], si = gate[i];
        float grad = si + x * 2.0f * si * (1.0f - si) * GELU_C * (1.0f + 3.0f * GELU_A * x * x);
        dh[i] = dg[i] * grad;
    }
}

/* ---- Embedding, pooling, head, loss -------------------------------------------------- */

void embed_forward(float *out, const float *patches, const int32_t *tokens, const float *We,
                   const float *pos, int B, int n, int in_dim, int d) {
    if (patches) {
        linear_forward(out, patches, We, NULL, B * n, in_dim, d);
    } else {
        for (int t = 0; t < B * n; t++)
            memcpy(out + (size_t)t * d, We + (size_t)tokens[t] * d, sizeof(float) * d);
    }
    for (int b = 0; b < B; b++)
        for (int i = 0; i < n; i++) {
            float *o = out + ((size_t)b * n + i) * d;
            const float *p = pos + (size_t)i * d;
            for (int j = 0; j < d; j++) o[j] += p[j];
        }
}

void embed_backward(float *dWe, float *dpos, const float *dout, const float *patches,
                    const int32_t *tokens, int B, int n, int in_dim, int d) {
    if (patches) {   /* the patches are data: no input gradient */
        linear_backward(NULL, dWe, NULL, dout, patches, NULL, B * n, in_dim, d, LINEAR_DX_SET);
    } else {
        for (int t = 0; t < B * n; t++) {
            float *row = dWe + (size_t)tokens[t] * d;
            const float *g = dout + (size_t)t * d;
            for (int j = 0; j < d; j++) row[j] += g[j];
        }
    }
    for (int b = 0; b < B; b++)
        for (int i = 0; i < n; i++) {
            const float *g = dout + ((size_t)b * n + i) * d;
            float *p = dpos + (size_t)i * d;
            for (int j = 0; j < d; j++) p[j] += g[j];
        }
}

void head_forward(float *logits, float *pooled, const float *X, const float *Wc,
                  const float *bc, int B, int n, int d, int C) {
    for (int b = 0; b < B; b++)
        for (int j = 0; j < d; j++) {
            double s = 0.0;
            for (int i = 0; i < n; i++) s += X[((size_t)b * n + i) * d + j];
            pooled[(size_t)b * d + j] = (float)(s / n);
        }
    linear_forward(logits, pooled, Wc, bc, B, d, C);
}

void head_backward(float *dX, float *dWc, float *dbc, float *dpooled, const float *dlogits,
                   const float *pooled, const float *Wc, int B, int n, int d, int C) {
    linear_backward(dpooled, dWc, dbc, dlogits, pooled, Wc, B, d, C, LINEAR_DX_SET);
    for (int b = 0; b < B; b++)
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++)
                dX[((size_t)b * n + i) * d + j] = dpooled[(size_t)b * d + j] / n;
}

double crossentropy_forward(float *probs, const float *logits, const int32_t *labels, int B, int C) {
    double loss = 0.0;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * C;
        float *p = probs + (size_t)b * C;
        float mx = z[0];
        for (int c = 1; c < C; c++) mx = z[c] > mx ? z[c] : mx;
        double sum = 0.0;
        for (int c = 0; c < C; c++) sum += exp((double)z[c] - mx);
        for (int c = 0; c < C; c++) p[c] = (float)(exp((double)z[c] - mx) / sum);
        if (labels) loss += log(sum) - ((double)z[labels[b]] - mx);
    }
    return loss / B;
}

void crossentropy_backward(float *dlogits, const float *probs, const int32_t *labels, int B,
                           int C, int B_total) {
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
            dlogits[(size_t)b * C + c] = (probs[(size_t)b * C + c] - (c == labels[b])) / B_total;
}
