/* Optimizers over the flat parameter block: SGD (+momentum), Adam, AdamW; learning-rate
   schedule (linear warmup, cosine or constant); clipping by global gradient norm. */
#ifndef OPTIM_H
#define OPTIM_H
#include <stddef.h>

typedef enum { OPT_SGD = 0, OPT_ADAM = 1, OPT_ADAMW = 2 } OptKind;

typedef struct {
    OptKind kind;
    float momentum;       /* SGD: buf = momentum * buf + g (0 = plain SGD) */
    float beta1, beta2, eps;
    float weight_decay;   /* SGD and Adam: L2 added to the gradient; AdamW: decoupled */
} OptConfig;

/* A part of the parameter block: elements offset .. offset+count-1. */
typedef struct { size_t offset, count; } OptRange;

typedef struct {
    OptConfig c;
    size_t n;        /* parameters it trains (the sum of the ranges' counts) */
    size_t block;    /* size of the whole parameter block */
    OptRange *ranges;/* the trained parts of the block, sorted and disjoint */
    int nranges;
    float *m;        /* (n) SGD momentum buffer or Adam first moment; NULL when unused */
    float *v;        /* (n) Adam second moment; NULL for SGD */
    long t;          /* updates done (Adam bias correction) */
    long frozen;     /* a tag of what is left out (the --freeze mask of freeze.h), saved with
                        the checkpoint and checked when it is loaded; 0 = nothing */
    int threads;     /* OpenMP threads of an update (1 after init); every element is
                        updated on its own, so the numbers do not depend on it */
} Optimizer;

/* Trains the whole block of n parameters. */
void optim_init(Optimizer *o, OptConfig c, size_t n);
/* Moment buffers of n floats that optim_init allocates: 2 (Adam, AdamW), 1 (SGD with
   momentum) or 0 (plain SGD). */
int optim_moments(OptConfig c);
/* Trains only the given ranges of a block of `block` parameters: the others are never
   changed (no update, no weight decay) and get no moments; m and v hold the trained
   elements alone, range after range. */
void optim_init_ranges(Optimizer *o, OptConfig c, size_t block, const OptRange *ranges,
                       int nranges);
void optim_free(Optimizer *o);
/* One update of params (n) from grads (n) with learning rate lr. grads may be modified
   (L2 weight decay is added into it). */
void optim_step(Optimizer *o, float *params, float *grads, float lr);
/* Zeroes the gradient of every element it does not train, so that the global gradient
   norm and clipping see the trained parameters alone. */
void optim_mask_grads(const Optimizer *o, float *grads);

/* Global L2 norm of a gradient block, accumulated in double: a sum per block of
   GRAD_NORM_BLOCK elements, in order, then the blocks' sums in order, so the result is the
   same with any number of threads. */
enum { GRAD_NORM_BLOCK = 4096 };
double grad_norm(const float *g, size_t n, int threads);
/* If norm > max_norm > 0, scales g by max_norm / norm. Returns the scale applied. */
float clip_grad_norm(float *g, size_t n, double norm, float max_norm, int threads);

typedef enum { SCHED_COSINE = 0, SCHED_CONSTANT = 1 } Schedule;
/* Learning rate for update number step (0-based) of total: linear warmup from base/warmup
   to base over `warmup` updates, then cosine decay to min_lr at the end (or constant). */
float lr_at(long step, long total, float base, long warmup, float min_lr, Schedule s);
#endif
