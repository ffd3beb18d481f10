/* The task: from the dataset flags to the dataset, the input part of the model's shape
   and the batch buffers, the one way ./train, ./simulate depth and the parity tool
   (tools/parity.c) do it. */
#ifndef TASK_H
#define TASK_H
#include <stddef.h>
#include <stdint.h>

#include "data.h"
#include "model.h"

/* Loads the dataset named by dataset: fashion-mnist (IDX files in data_dir), folder
   (ROOT/{train,test}/<class>/ in data_dir) or a synthetic task of data.h (train_size and
   test_size examples of seq_len tokens over vocab symbols, drawn from seed). 0, or -1
   with err. */
int task_load(Dataset *train, Dataset *test, const char *dataset, const char *data_dir,
              int train_size, int test_size, int seq_len, int vocab, uint64_t seed, char *err,
              size_t errlen);

/* The input part of the shape (n, in_dim, tokens_input) for the examples of ds: its
   sequences, or its images cut into patch x patch patches. *patch_used is the patch side,
   0 for sequences. 0, or -1 with err when patch does not divide the images or leaves a
   single token. */
int task_input_shape(ModelShape *s, int *patch_used, const Dataset *ds, int patch, char *err,
                     size_t errlen);

/* The inputs and labels of up to max_batch examples, in the form the model takes. */
typedef struct {
    int patch;          /* 0 for token sequences */
    int threads;        /* OpenMP threads that cut the images into patches (1 after alloc) */
    float *patches;     /* (max_batch, n, in_dim) for images, else NULL */
    int32_t *tokens;    /* (max_batch, n) for sequences, else NULL */
    int32_t *labels;    /* (max_batch) */
} TaskBatch;

void task_batch_alloc(TaskBatch *b, const ModelShape *s, int patch, int max_batch);
/* The examples idx[0..B-1] of ds into b. */
void task_batch_fill(TaskBatch *b, const Dataset *ds, const int32_t *idx, int B);
void task_batch_free(TaskBatch *b);
#endif
