/* The model of MODEL.md: parameters in one block, activations cached for backward.
   Token matrices are row-major (B*n, d); `x @ W` with W stored (in, out). */
#ifndef MODEL_H
#define MODEL_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int d, L, H, n;     /* width, layers, heads, tokens per example */
    int in_dim;         /* images: P = patch*patch*channels; sequences: vocab */
    int tokens_input;   /* 1: sequences (embed is a lookup table); 0: image patches */
    int C, M;           /* classes, MLP width (0 = no MLP) */
    float beta, alpha;  /* attention inverse temperature; residual scale */
} ModelShape;

typedef struct { float *wq, *wk, *wv, *w1, *w2; } LayerParams;

/* Pointers into one contiguous block (parameters, gradients and optimizer moments share it). */
typedef struct {
    float *embed;          /* (in_dim, d) */
    float *pos;            /* (n, d) */
    LayerParams *layers;   /* [L]: wq, wk, wv (d, d), named layers.l.q, .k, .v in files;
                              w1 (d, M); w2 (M, d) */
    float *head_w;         /* (d, C) */
    float *head_b;         /* (C) */
} Params;

/* One named tensor of the block, for checkpoints, tests and the optimizer. */
typedef struct { char name[32]; size_t offset; int rows, cols; } TensorInfo;

/* The activations of layer l for the rows of a view (N = B*n rows, B examples): pointers
   into the activation block, like LayerParams into the parameter block. */
typedef struct {
    float *x;          /* (N, d) input state: X0 for layer 0, else the out of layer l-1 */
    float *q, *k, *v;  /* (N, d) q = x Wq, k = x Wk, v = x Wv */
    float *att;        /* (B, H, n, n) softmax weights */
    float *xa;         /* (N, d) state after the attention sublayer; == out without MLP */
    float *rstd_a;     /* (N) 1/rms of its norm */
    float *h, *g;      /* (N, M) MLP pre-activation and gelu(h); NULL without MLP */
    float *gate;       /* (N, M) gelu(h) = h * gate, cached for backward; NULL without MLP */
    float *rstd_m;     /* (N) 1/rms of the MLP sublayer's norm; NULL without MLP */
    float *out;        /* (N, d) output state */
} LayerActs;

/* Forward caches exactly what backward needs; one block sized for max_batch examples, cut
   by a table of per-example sizes (model.c). A view (the whole batch, m->a, or a thread's
   shard) has every pointer at its first example. */
typedef struct {
    float *x;        /* (L+1, N, d) normalized token states, contiguous: x[0] = X0, x[l+1] =
                        output of layer l (the layers' x and out point into it) */
    float *rstd0;    /* (N) 1/rms of e + pos */
    LayerActs *layers; /* [L] */
    float *pooled;   /* (B, d) */
    float *logits;   /* (B, C) */
    float *probs;    /* (B, C) */
    /* scratch */
    float *f;                /* (N, d) forward: a sublayer's output f (attention, then MLP) */
    float *df;               /* (N, d) backward: dL/df, the gradient into that output */
    float *dx, *dy;          /* (N, d) gradient w.r.t. the current state, and before its norm */
    float *dq, *dk, *dv;     /* (N, d) */
    float *dS;               /* (B, H, n, n) */
    float *dg, *dh;          /* (N, M); NULL without MLP */
    float *dpooled, *dlogits;/* (B, d), (B, C) */
} Activations;

#define MODEL_MAX_SHARDS 64

typedef struct {
    ModelShape s;
    size_t num_params;
    float *params, *grads;
    Params w, g;           /* views of params and grads */
    int num_tensors;
    TensorInfo *tensors;   /* names of MODEL.md, in block order */
    int max_batch;
    float *acts;           /* the activation block */
    Activations a;         /* view of the whole block */
    int shards;            /* the batch is split into this many parts, one thread each */
    float *shard_grads[MODEL_MAX_SHARDS - 1];  /* weight gradients of shards 1.. (shard 0: grads) */
    Params gs[MODEL_MAX_SHARDS];               /* views: gs[0] = g, gs[k] into shard_grads[k-1] */
    LayerActs *shard_layers;                   /* [shards][L]: the layers of each shard's view */
} Model;

/* alpha of MODEL.md for a residual scale: "sqrt" 1/sqrt(L), "linear" 1/L, "one" 1. */
float model_residual_alpha(const char *scale, int L);
/* The same with the horizon T of the depth limit: "sqrt" gives sqrt(T/L) (T = 1: the above). */
float model_alpha(const char *scale, int L, double horizon);

/* Builds the layout and allocates parameters, gradients and activations (zeroed).
   shards: threads that split each batch (OpenBLAS should then run single-threaded). */
void model_build(Model *m, ModelShape s, int max_batch, int shards);
void model_free(Model *m);

/* Initialization of MODEL.md, every draw from one seed. */
void model_init(Model *m, uint64_t seed, float noise_scale, float value_mean);
/* --qk identity: Q_l = K_l = I in every layer (the theory's attention, MODEL.md). */
void model_set_qk_identity(Model *m);

/* Forward for B <= max_batch examples. input: patches (B, n, in_dim) floats, or tokens
   (B, n) as int32 (pass the other as NULL). labels may be NULL (no loss).
   Returns the mean cross-entropy (0 without labels); logits in m->a.logits (B, C). */
double model_forward(Model *m, const float *patches, const int32_t *tokens,
                    const int32_t *labels, int B);
/* The residual stack alone, from given token states X0 (B, n, d) (e.g. points on the
   sphere of radius sqrt(d)); layer states then in model_layer_states. No head, no loss. */
void model_forward_states(Model *m, const float *X0, int B);
/* Accumulates d(mean loss)/d(params) into m->grads for the last forward (labels required). */
void model_backward(Model *m, const float *patches, const int32_t *tokens,
                    const int32_t *labels, int B);
void model_zero_grad(Model *m);

/* Token states of layer l (0..L) of the last forward: (B, n, d). */
const float *model_layer_states(const Model *m, int l);
const TensorInfo *model_find_tensor(const Model *m, const char *name);
#endif
