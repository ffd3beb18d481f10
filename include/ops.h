/* Layer operations, each a forward/backward pair on raw float arrays.
   Argument order: outputs, inputs, cached values, sizes. Backward functions accumulate
   (+=) into parameter gradients and write (=) input gradients unless noted. */
#ifndef OPS_H
#define OPS_H
#include <stddef.h>
#include <stdint.h>

/* out = inp / sqrt(mean(inp^2) + 1e-6) per row. inp, out: (N, d); rstd (N) caches the
   1/rms of each row. out may alias inp. */
void rmsnorm_forward(float *out, float *rstd, const float *inp, int N, int d);
/* dinp = rstd * (dout - out * <dout, out> / d), from the forward's out and rstd. dinp may
   alias dout. */
void rmsnorm_backward(float *dinp, const float *dout, const float *out, const float *rstd, int N,
                      int d);
/* The residual step of every layer: out = rmsnorm(x + alpha f), x, f, out (N, d), in one
   pass per row. Backward: on entry dx = dL/dout; leaves dx = dL/d(x + alpha f), the
   identity path's gradient, and df = alpha dx, the gradient into f. */
void residual_rmsnorm_forward(float *out, float *rstd, const float *x, const float *f, float alpha,
                              int N, int d);
void residual_rmsnorm_backward(float *dx, float *df, const float *out, const float *rstd,
                               float alpha, int N, int d);

/* Linear layer Y (N, out) = X (N, in) W (in, out) [+ b (out) on every row]; W is stored
   (in, out), row-major. Every dense product of the model is one: embedding, q, k, v, MLP, head. */
void linear_forward(float *Y, const float *X, const float *W, const float *b, int N, int in,
                    int out);
/* What linear_backward does with dX: add (dX also collects other paths, e.g. a residual)
   or overwrite (dX is scratch). */
typedef enum { LINEAR_DX_SET, LINEAR_DX_ADD } LinearDx;
/* dW (in, out) += X^T dY; db (out) += column sums of dY (db may be NULL);
   dX (N, in) += or = dY W^T as mode says (dX NULL: not needed, W unused). */
void linear_backward(float *dX, float *dW, float *db, const float *dY, const float *X,
                     const float *W, int N, int in, int out, LinearDx mode);

/* Multi-head attention core, for B examples of n tokens, H heads of width dh = d / H:
   per head, out_h (n, dh) = softmax(beta q_h k_h^T / sqrt(dh)) v_h, where head h is
   columns h*dh..(h+1)*dh-1 of q, k, v (B*n, d). out (B*n, d) = concat_h out_h.
   att (B, H, n, n) caches the softmax weights. (q = X Wq etc. are linear layers.) */
void attention_forward(float *out, float *att, const float *q, const float *k, const float *v,
                       int B, int n, int d, int H, float beta);
/* Writes (=) dq, dk, dv (B*n, d) from dout (B*n, d), the output gradient, and the cached
   q, k, v, att of the forward. dS (B, H, n, n) is scratch. */
void attention_backward(float *dq, float *dk, float *dv, float *dS, const float *dout,
                        const float *q, const float *k, const float *v, const float *att,
                        int B, int n, int d, int H, float beta);

/* tanh-GELU, element by element over count values (the MLP is linear, gelu, linear):
   g = gelu(h) = 0.5 h (1 + tanh(sqrt(2/pi) (h + 0.044715 h^3))) = h * gate; gate (count)
   caches 0.5 (1 + tanh(...)) for the backward pass. h, g, gate: (count). */
void gelu_forward(float *g, float *gate, const float *h, size_t count);
/* dh = dg * gelu'(h) from h and the cached gate; writes (=) dh. dh may alias dg. */
void gelu_backward(float *dh, const float *dg, const float *h, const float *gate, size_t count);

/* Embedding plus positions (before the norm). images: e = patches (B*n, P) @ We (P, d);
   sequences: e = E[token]. out (B*n, d) = e + pos[i]. */
void embed_forward(float *out, const float *patches, const int32_t *tokens, const float *We,
                   const float *pos, int B, int n, int in_dim, int d);
void embed_backward(float *dWe, float *dpos, const float *dout, const float *patches,
                    const int32_t *tokens, int B, int n, int in_dim, int d);

/* Mean pooling and linear head: pooled (B, d) = mean_i X_i; logits = pooled Wc + bc. */
void head_forward(float *logits, float *pooled, const float *X, const float *Wc,
                  const float *bc, int B, int n, int d, int C);
/* dX (B*n, d) written; accumulates dWc, dbc. dpooled (B, d) scratch. */
void head_backward(float *dX, float *dWc, float *dbc, float *dpooled, const float *dlogits,
                   const float *pooled, const float *Wc, int B, int n, int d, int C);

/* Mean cross-entropy over the batch (double accumulation); probs (B, C) cached. */
double crossentropy_forward(float *probs, const float *logits, const int32_t *labels, int B, int C);
/* dlogits = (probs - onehot) / B_total for B rows of a batch of B_total (the loss is the
   mean over the whole batch). */
void crossentropy_backward(float *dlogits, const float *probs, const int32_t *labels, int B,
                           int C, int B_total);
#endif
