/* Forward and backward of every layer of MODEL.md. Every matrix product is a cblas_sgemm;
   the loops here are the element-wise parts. Reductions over a row use double. */
#include "ops.h"

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

void rmsnorm_forward(float *x, float *rstd, const float *y, int N, int d) {
    for (int i = 0; i < N; i++) {
        const float *yi = y + (size_t)i * d;
        double ss = dot_double(yi, yi, d);
        float r = (float)(1.0 / sqrt(ss / d + 1e-6));
        rstd[i] = r;
        float *xi = x + (size_t)i * d;
        for (int j = 0; j < d; j++) xi[j] = yi[j] * r;
    }
}

/* x = y r with r = (mean(y^2) + eps)^(-1/2), so dr/dy_j = -r^3 y_j / d and
   dy_j = r dx_j - r^3 y_j <dx, y> / d = r (dx_j - x_j <dx, x> / d). */
void rmsnorm_backward(float *dy, const float *dx, const float *x, const float *rstd, int N, int d) {
    for (int i = 0; i < N; i++) {
        const float *dxi = dx + (size_t)i * d, *xi = x + (size_t)i * d;
        float c = (float)(dot_double(dxi, xi, d) / d), r = rstd[i];
        float *dyi = dy + (size_t)i * d;
        for (int j = 0; j < d; j++) dyi[j] = r * (dxi[j] - xi[j] * c);
    }
}

/* ---- Attention ----------------------------------------------------------------------- */

static void softmax_rows(float *S, int rows, int cols) {
    for (int i = 0; i < rows; i++) {
        float *s = S + (size_t)i * cols;
        float mx = s[0];
        for (int j = 1; j < cols; j++) mx = s[j] > mx ? s[j] : mx;
        double sum = 0.0;
        for (int j = 0; j < cols; j++) {
            s[j] = expf(s[j] - mx);
            sum += s[j];
        }
        float inv = (float)(1.0 / sum);
        for (int j = 0; j < cols; j++) s[j] *= inv;
    }
}

void attention_forward(float *out, float *q, float *k, float *v, float *att,
                       const float *X, const float *Wq, const float *Wk, const float *Wv,
                       int B, int n, int d, int H, float beta) {
    int N = B * n, dh = d / H;
    float scale = beta / sqrtf((float)dh);
    gemm(0, 0, N, d, d, 1.0f, X, d, Wq, d, 0.0f, q, d);   /* q = X Wq  (N, d) */
    gemm(0, 0, N, d, d, 1.0f, X, d, Wk, d, 0.0f, k, d);
    gemm(0, 0, N, d, d, 1.0f, X, d, Wv, d, 0.0f, v, d);
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < H; h++) {
            size_t off = (size_t)b * n * d + (size_t)h * dh;   /* head h of example b */
            float *A = att + ((size_t)b * H + h) * n * n;          /* (n, n) */
            gemm(0, 1, n, n, dh, scale, q + off, d, k + off, d, 0.0f, A, n); /* S = s q k^T */
            softmax_rows(A, n, n);
            gemm(0, 0, n, dh, n, 1.0f, A, n, v + off, d, 0.0f, out + off, d); /* O = A v */
        }
    }
}

/* With O = A v, A = softmax(S), S = s q k^T:
   dA = dO v^T, dv = A^T dO, dS = A * (dA - rowsum(dA * A)), dq = s dS k, dk = s dS^T q;
   then q = X Wq etc. give dWq = X^T dq and dX = dq Wq^T + dk Wk^T + dv Wv^T. */
void attention_backward(float *dX, float *dWq, float *dWk, float *dWv,
                        float *dq, float *dk, float *dv, float *dS,
                        const float *dO, const float *X, const float *Wq, const float *Wk,
                        const float *Wv, const float *q, const float *k, const float *v,
                        const float *att, int B, int n, int d, int H, float beta) {
    int N = B * n, dh = d / H;
    float scale = beta / sqrtf((float)dh);
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < H; h++) {
            size_t off = (size_t)b * n * d + (size_t)h * dh;
            const float *A = att + ((size_t)b * H + h) * n * n;
            float *G = dS + ((size_t)b * H + h) * n * n;
            gemm(0, 1, n, n, dh, 1.0f, dO + off, d, v + off, d, 0.0f, G, n);    /* dA */
            gemm(1, 0, n, dh, n, 1.0f, A, n, dO + off, d, 0.0f, dv + off, d);  /* dv */
            for (int i = 0; i < n; i++) {            /* softmax backward, row by row */
                float *g = G + (size_t)i * n;
                const float *a = A + (size_t)i * n;
                double dot = 0.0;
                for (int j = 0; j < n; j++) dot += (double)g[j] * a[j];
                for (int j = 0; j < n; j++) g[j] = a[j] * (g[j] - (float)dot);
            }
            gemm(0, 0, n, dh, n, scale, G, n, k + off, d, 0.0f, dq + off, d);  /* dq */
            gemm(1, 0, n, dh, n, scale, G, n, q + off, d, 0.0f, dk + off, d);  /* dk */
        }
    }
    gemm(1, 0, d, d, N, 1.0f, X, d, dq, d, 1.0f, dWq, d);
    gemm(1, 0, d, d, N, 1.0f, X, d, dk, d, 1.0f, dWk, d);
    gemm(1, 0, d, d, N, 1.0f, X, d, dv, d, 1.0f, dWv, d);
    gemm(0, 1, N, d, d, 1.0f, dq, d, Wq, d, 1.0f, dX, d);
    gemm(0, 1, N, d, d, 1.0f, dk, d, Wk, d, 1.0f, dX, d);
    gemm(0, 1, N, d, d, 1.0f, dv, d, Wv, d, 1.0f, dX, d);
}

/* ---- MLP with tanh-GELU --------------------------------------------------------------
   gelu(x) = 0.5 x (1 + tanh(u)), u = c (x + 0.044715 x^3), c = sqrt(2/pi). With the exact
   identity 0.5 (1 + tanh u) = sigmoid(2u) = s this is x s: one expf per element, and s
   is cached so that the backward pass needs no transcendental function at all:
   gelu'(x) = s + x * 2 s (1 - s) * c (1 + 3 * 0.044715 x^2)   [0.5 (1 - tanh^2 u) = 2 s (1 - s)] */

#define GELU_C 0.7978845608028654f   /* sqrt(2/pi) */
#define GELU_A 0.044715f

void mlp_forward(float *out, float *h, float *g, float *s, const float *X, const float *W1,
                 const float *W2, int N, int d, int M) {
    gemm(0, 0, N, M, d, 1.0f, X, d, W1, M, 0.0f, h, M);        /* h = X W1 (N, M) */
    for (size_t i = 0; i < (size_t)N * M; i++) {
        float x = h[i], u = GELU_C * (x + GELU_A * x * x * x);
        s[i] = 1.0f / (1.0f + expf(-2.0f * u));
        g[i] = x * s[i];
    }
    gemm(0, 0, N, d, M, 1.0f, g, M, W2, d, 0.0f, out, d);      /* out = g W2 (N, d) */
}

void mlp_backward(float *dX, float *dW1, float *dW2, float *dg, float *dh,
                  const float *dout, const float *X, const float *h, const float *g,
                  const float *s, const float *W1, const float *W2, int N, int d, int M) {
    gemm(1, 0, M, d, N, 1.0f, g, M, dout, d, 1.0f, dW2, d);    /* dW2 += g^T dout */
    gemm(0, 1, N, M, d, 1.0f, dout, d, W2, d, 0.0f, dg, M);    /* dg = dout W2^T */
    for (size_t i = 0; i < (size_t)N * M; i++) {
        float x = h[i], si = s[i];
        float grad = si + x * 2.0f * si * (1.0f - si) * GELU_C * (1.0f + 3.0f * GELU_A * x * x);
        dh[i] = dg[i] * grad;
    }
    gemm(1, 0, d, M, N, 1.0f, X, d, dh, M, 1.0f, dW1, M);      /* dW1 += X^T dh */
    gemm(0, 1, N, d, M, 1.0f, dh, M, W1, M, 1.0f, dX, d);      /* dX += dh W1^T */
}

/* ---- Embedding, pooling, head, loss -------------------------------------------------- */

void embed_forward(float *out, const float *patches, const int32_t *tokens, const float *We,
                   const float *pos, int B, int n, int in_dim, int d) {
    if (patches) {
        gemm(0, 0, B * n, d, in_dim, 1.0f, patches, in_dim, We, d, 0.0f, out, d);
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
    if (patches) {
        gemm(1, 0, in_dim, d, B * n, 1.0f, patches, in_dim, dout, d, 1.0f, dWe, d);
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
    for (int b = 0; b < B; b++) memcpy(logits + (size_t)b * C, bc, sizeof(float) * C);
    gemm(0, 0, B, C, d, 1.0f, pooled, d, Wc, C, 1.0f, logits, C);
}

void head_backward(float *dX, float *dWc, float *dbc, float *dpooled, const float *dlogits,
                   const float *pooled, const float *Wc, int B, int n, int d, int C) {
    gemm(1, 0, d, C, B, 1.0f, pooled, d, dlogits, C, 1.0f, dWc, C);
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) dbc[c] += dlogits[(size_t)b * C + c];
    gemm(0, 1, B, d, C, 1.0f, dlogits, C, Wc, C, 0.0f, dpooled, d);
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
