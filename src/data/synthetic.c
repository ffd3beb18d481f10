/* The built-in synthetic sequence tasks ("majority", "repeat"), generated from the seed:
   a task with a known rule, to train on without a dataset on disk. */
#include "data.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"
#include "rng.h"
#include "util.h"

const char *const DATA_SYNTHETIC_TASKS[] = {"majority", "repeat", NULL};

/* Independent rng streams for the synthetic splits, so test never repeats train. */
#define SYNTH_STREAM_TRAIN 0x73796e7472616e31ull
#define SYNTH_STREAM_TEST 0x73796e7474657332ull
/* A majority-task sequence must have a unique most frequent symbol; give up (with an error
   instead of spinning forever) when seq_len is far too short for the vocabulary. */
#define MAJORITY_MAX_DRAWS 1000000

/* One "majority" sequence with a unique most frequent symbol; returns it or -1 if none was
   drawn within MAJORITY_MAX_DRAWS. counts (vocab) is all zero on entry and on return. */
static int majority_sequence(int32_t *tok, int T, int V, int *counts, Rng *r) {
    for (int draw = 0; draw < MAJORITY_MAX_DRAWS; draw++) {
        int best = 0, label = -1, tie = 0;
        for (int t = 0; t < T; t++) {
            tok[t] = (int32_t)rng_below(r, (uint32_t)V);
            counts[tok[t]]++;
        }
        for (int t = 0; t < T; t++)
            if (counts[tok[t]] > best) best = counts[tok[t]], label = tok[t];
        for (int t = 0; t < T; t++) {
            if (counts[tok[t]] == best && tok[t] != label) tie = 1;
        }
        for (int t = 0; t < T; t++) counts[tok[t]] = 0;
        if (!tie) return label;
    }
    return -1;
}

/* One "repeat" sequence: the label is drawn first (balanced), then a sequence with it. */
static int repeat_sequence(int32_t *tok, int T, int V, Rng *r) {
    int label = (int)rng_below(r, 2);
    tok[0] = (int32_t)rng_below(r, (uint32_t)V);
    for (int t = 1; t < T; t++) {
        if (label) {
            tok[t] = (int32_t)rng_below(r, (uint32_t)V);
        } else {   /* uniform over the vocabulary minus tok[0] */
            int32_t x = (int32_t)rng_below(r, (uint32_t)V - 1);
            tok[t] = x >= tok[0] ? x + 1 : x;
        }
    }
    if (label) tok[1 + rng_below(r, (uint32_t)T - 1)] = tok[0];
    return label;
}

static int synth_split(Dataset *ds, int is_majority, int count, int T, int V, Rng *r,
                       char *err, size_t errlen) {
    memset(ds, 0, sizeof *ds);
    ds->kind = DATA_SEQUENCES;
    ds->count = count;
    ds->seq_len = T;
    ds->vocab = V;
    ds->num_classes = is_majority ? V : 2;
    ds->tokens = xmalloc((size_t)count * T * sizeof *ds->tokens);
    ds->labels = xmalloc((size_t)count * sizeof *ds->labels);
    int *counts = is_majority ? xcalloc((size_t)V, sizeof *counts) : NULL;
    for (int i = 0; i < count; i++) {
        int32_t *tok = ds->tokens + (size_t)i * T;
        ds->labels[i] = is_majority ? majority_sequence(tok, T, V, counts, r) : repeat_sequence(tok, T, V, r);
        if (ds->labels[i] < 0) {
            free(counts);
            data_free(ds);
            return data_fail(err, errlen, "synthetic:majority: no sequence with a unique most frequent "
                             "symbol in %d draws; seq_len %d is too short for vocab %d", MAJORITY_MAX_DRAWS, T, V);
        }
    }
    free(counts);
    return 0;
}

static int synth_check(const char *task, int train_count, int test_count, int seq_len, int vocab,
                       char *err, size_t errlen) {
    int known = 0;
    char list[128] = "";
    for (int i = 0; DATA_SYNTHETIC_TASKS[i]; i++) {
        known |= task && strcmp(task, DATA_SYNTHETIC_TASKS[i]) == 0;
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", DATA_SYNTHETIC_TASKS[i]);
    }
    if (!known)
        return data_fail(err, errlen, "synthetic:%s: unknown task (known tasks: %s)",
                         task ? task : "(null)", list);
    if (seq_len < 2) return data_fail(err, errlen, "synthetic:%s: seq_len must be >= 2 (got %d)", task, seq_len);
    if (vocab < 2) return data_fail(err, errlen, "synthetic:%s: vocab must be >= 2 (got %d)", task, vocab);
    if (train_count < 1 || test_count < 1)
        return data_fail(err, errlen, "synthetic:%s: train and test counts must be >= 1 (got %d and %d)",
                         task, train_count, test_count);
    int most = train_count > test_count ? train_count : test_count;
    if ((size_t)seq_len > SIZE_MAX / sizeof(int32_t) / (size_t)most)
        return data_fail(err, errlen, "synthetic:%s: %d examples of length %d are too many", task, most, seq_len);
    return 0;
}

int data_synthetic(Dataset *train, Dataset *test, const char *task, int train_count,
                   int test_count, int seq_len, int vocab, uint64_t seed,
                   char *err, size_t errlen) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (synth_check(task, train_count, test_count, seq_len, vocab, err, errlen)) return -1;
    int is_majority = strcmp(task, "majority") == 0;
    Rng r;
    rng_seed_stream(&r, seed, SYNTH_STREAM_TRAIN);
    if (synth_split(train, is_majority, train_count, seq_len, vocab, &r, err, errlen)) return -1;
    rng_seed_stream(&r, seed, SYNTH_STREAM_TEST);
    if (synth_split(test, is_majority, test_count, seq_len, vocab, &r, err, errlen)) {
        data_free(train);
        return -1;
    }
    return 0;
}
