/* Datasets -> model inputs: the batch gathers (patches, tokens, labels), and data_free.
   The formats are read in files of their own: idx.c (with gzip.c), folder.c, synthetic.c. */
#include "data.h"

#include <stdlib.h>
#include <string.h>

void data_patches(float *out, const Dataset *ds, const int32_t *idx, int B, int patch,
                  int threads) {
    int p = patch, W = ds->width, C = ds->channels;
    int nh = ds->height / p, nw = W / p;
    size_t P = (size_t)p * p * C, image = (size_t)ds->height * W * C;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
    for (int b = 0; b < B; b++) {
        const uint8_t *im = ds->pixels + (size_t)idx[b] * image;
        for (int pr = 0; pr < nh; pr++) {
            for (int pc = 0; pc < nw; pc++) {
                float *o = out + (((size_t)b * nh + pr) * nw + pc) * P;
                /* one patch row is p*C contiguous bytes, already in (col, channel) order */
                for (int r = 0; r < p; r++) {
                    const uint8_t *src = im + ((size_t)(pr * p + r) * W + (size_t)pc * p) * C;
                    for (int k = 0; k < p * C; k++) *o++ = src[k] / 255.0f;
                }
            }
        }
    }
}

void data_tokens(int32_t *out, const Dataset *ds, const int32_t *idx, int B) {
    size_t T = (size_t)ds->seq_len;
    for (int b = 0; b < B; b++) memcpy(out + b * T, ds->tokens + (size_t)idx[b] * T, T * sizeof *out);
}

void data_labels(int32_t *out, const Dataset *ds, const int32_t *idx, int B) {
    for (int b = 0; b < B; b++) out[b] = ds->labels[idx[b]];
}

void data_free(Dataset *ds) {
    if (ds->class_names)
        for (int i = 0; i < ds->num_classes; i++) free(ds->class_names[i]);
    free(ds->class_names);
    free(ds->labels);
    free(ds->pixels);
    free(ds->tokens);
    memset(ds, 0, sizeof *ds);
}
