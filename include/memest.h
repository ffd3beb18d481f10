/* The memory a training run will need, estimated from its shape before anything is
   allocated, so that sizes that cannot fit are refused with a clear message instead of
   failing (or swapping) in the middle of model_build. */
#ifndef MEMEST_H
#define MEMEST_H
#include <stdint.h>
#include <stdio.h>

#include "data.h"
#include "model.h"

/* Bytes of each part; MEMEST_OVERFLOW where the size does not fit in 64 bits. */
typedef struct {
    uint64_t params;       /* the parameter block */
    uint64_t grads;        /* gradients: one block per thread shard */
    uint64_t optimizer;    /* optimizer moments (0, 1 or 2 blocks) */
    uint64_t activations;  /* forward caches and backward scratch for max_batch examples */
    uint64_t batch;        /* the input batch buffers and the epoch permutation */
    uint64_t data;         /* the loaded train and test examples and labels */
    uint64_t total;
} MemEstimate;

#define MEMEST_OVERFLOW UINT64_MAX

/* Fills e for model_build(s, max_batch, shards) + an optimizer with `moments` state blocks
   and the two datasets. Uses the same sizes as the allocations in model.c, optim.c, train.c. */
void memest_compute(MemEstimate *e, const ModelShape *s, int max_batch, int shards, int moments,
                    const Dataset *train, const Dataset *test);

/* Fills e with the synthetic data alone (train and test tokens and labels), which is
   generated before the model's shape is known; the other parts are 0. */
void memest_synthetic(MemEstimate *e, int train_count, int test_count, int seq_len);

/* Physical memory of this machine in bytes (sysconf), or 0 if unknown. */
uint64_t memest_physical(void);

/* 0 if e->total fits into limit bytes (limit 0 = unknown: only overflow is refused);
   else -1 with a one-line message in err that gives the estimate per part. */
int memest_check(const MemEstimate *e, uint64_t limit, char *err, size_t errlen);

/* "memory_estimate_mb": ... line (ending ",\n") for config.json. */
void memest_write_json(const MemEstimate *e, FILE *out);
#endif
