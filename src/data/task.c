/* The dataset flags -> dataset, input shape and batch buffers (task.h). */
#include "task.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* A missing Fashion-MNIST file is most often a machine without the dataset package, so the
   message says where the files come from and how to point at others. One line still: the
   loader's own "path: cannot open: No such file or directory" comes first. */
static void missing_dataset_hint(char *err, size_t errlen) {
    size_t used = strlen(err);
    if (!strstr(err, strerror(ENOENT)) || used + 1 >= errlen) return;
    snprintf(err + used, errlen - used,
             " (Fashion-MNIST is Debian's package dataset-fashion-mnist, which `make deps-run`"
             " installs into /usr/share/datasets/fashion-mnist; or give --data-dir DIR with"
             " train-images-idx3-ubyte.gz and the three other IDX files)");
}

int task_load(Dataset *train, Dataset *test, const char *dataset, const char *data_dir,
              int train_size, int test_size, int seq_len, int vocab, uint64_t seed, char *err,
              size_t errlen) {
    if (strcmp(dataset, "fashion-mnist") == 0) {
        int rc = data_load_idx(train, test, data_dir, err, errlen);
        if (rc) missing_dataset_hint(err, errlen);
        return rc;
    }
    if (strcmp(dataset, "folder") == 0) return data_load_folder(train, test, data_dir, err, errlen);
    return data_synthetic(train, test, dataset, train_size, test_size, seq_len, vocab, seed,
                          err, errlen);
}

int task_input_shape(ModelShape *s, int *patch_used, const Dataset *ds, int patch, char *err,
                     size_t errlen) {
    *patch_used = 0;
    if (ds->kind == DATA_SEQUENCES) {
        s->tokens_input = 1;
        s->n = ds->seq_len;
        s->in_dim = ds->vocab;
        return 0;
    }
    if (ds->height % patch || ds->width % patch)
        return snprintf(err, errlen, "--patch %d does not divide the %dx%d images", patch,
                        ds->height, ds->width), -1;
    *patch_used = patch;
    s->tokens_input = 0;
    s->n = (ds->height / patch) * (ds->width / patch);
    s->in_dim = patch * patch * ds->channels;
    if (s->n < 2)
        return snprintf(err, errlen, "--patch %d leaves a single token; the metrics need n >= 2",
                        patch), -1;
    return 0;
}

void task_batch_alloc(TaskBatch *b, const ModelShape *s, int patch, int max_batch) {
    size_t B = (size_t)max_batch;
    b->patch = patch;
    b->threads = 1;
    b->patches = patch ? xmalloc(sizeof(float) * B * s->n * s->in_dim) : NULL;
    b->tokens = patch ? NULL : xmalloc(sizeof(int32_t) * B * s->n);
    b->labels = xmalloc(sizeof(int32_t) * B);
}

void task_batch_fill(TaskBatch *b, const Dataset *ds, const int32_t *idx, int B) {
    if (b->patch) data_patches(b->patches, ds, idx, B, b->patch, b->threads);
    else data_tokens(b->tokens, ds, idx, B);
    data_labels(b->labels, ds, idx, B);
}

void task_batch_free(TaskBatch *b) {
    free(b->patches);
    free(b->tokens);
    free(b->labels);
    memset(b, 0, sizeof *b);
}
