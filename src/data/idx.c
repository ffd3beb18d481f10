/* IDX files (MNIST, Fashion-MNIST), optionally gzipped: each file is checked against its
   header, and a split's two files against each other, before a Dataset is allocated. */
#define _POSIX_C_SOURCE 200809L
#include "data.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data_internal.h"
#include "util.h"

/* Fashion-MNIST label names, in label order (from the dataset's documentation). */
static const char *const FASHION_NAMES[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

/* MNIST and Fashion-MNIST have 10 classes: a label byte above 9 is a damaged file, not a
   new class (it would silently widen the model's head). */
#define IDX_CLASSES 10

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Check an unsigned-byte IDX file with ndims dimensions (3 = images, 1 = labels): magic,
   non-zero dims, and a length exactly equal to header + data. Fills dims[0..ndims). */
static int idx_check(const uint8_t *buf, size_t len, int was_gz, int ndims, uint32_t *dims,
                     const char *path, char *err, size_t errlen) {
    const char *what = ndims == 3 ? "images" : "labels";
    const char *has = was_gz ? "decompressed data has" : "file has";
    uint32_t want = 0x800u | (uint32_t)ndims;
    if (len < 4) return data_fail(err, errlen, "%s: truncated: %s only %zu bytes", path, has, len);
    uint32_t magic = be32(buf);
    if ((magic >> 16) == 0 && magic != want)   /* an IDX file, but not of the kind wanted */
        return data_fail(err, errlen, "%s: wrong IDX magic 0x%08x (want 0x%08x for unsigned-byte %s)",
                         path, magic, want, what);
    if (magic != want)
        return data_fail(err, errlen, "%s: %s (bad magic 0x%08x)", path,
                         was_gz ? "gzip content is not an IDX file" : "not a gzip or IDX file", magic);
    size_t header = 4 + 4 * (size_t)ndims;
    if (len < header) return data_fail(err, errlen, "%s: truncated: %s only %zu bytes", path, has, len);
    uint64_t items = 1;   /* saturates instead of overflowing; then it exceeds any length */
    for (int i = 0; i < ndims; i++) {
        dims[i] = be32(buf + 4 + 4 * i);
        if (dims[i] == 0 || dims[i] > INT_MAX)
            return data_fail(err, errlen, "%s: bad IDX dimension %u", path, dims[i]);
        items = items > (UINT64_MAX - header) / dims[i] ? UINT64_MAX - header : items * dims[i];
    }
    uint64_t expect = header + items;
    char desc[96];
    if (ndims == 3) snprintf(desc, sizeof desc, "%u images of %ux%u", dims[0], dims[1], dims[2]);
    else snprintf(desc, sizeof desc, "%u labels", dims[0]);
    if (expect != len)
        return data_fail(err, errlen, "%s: %s: header says %s (%llu bytes) but %s %zu bytes", path,
                         expect > len ? "truncated" : "size mismatch", desc, (unsigned long long)expect, has, len);
    return 0;
}

/* Load one IDX file of ndims dimensions; returns the whole (inflated) file, data at +header. */
static uint8_t *idx_load(const char *path, int ndims, uint32_t *dims, char *err, size_t errlen) {
    size_t len;
    int was_gz;
    uint8_t *buf = data_read_maybe_gz(path, &len, &was_gz, err, errlen);
    if (buf && idx_check(buf, len, was_gz, ndims, dims, path, err, errlen)) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* An IDX split as read from disk, checked but not yet copied into a Dataset. */
typedef struct {
    uint8_t *images, *labels;   /* whole (inflated) files: data at +16 and +8 */
    uint32_t idims[3], ldims[1];
    const char *images_path, *labels_path;
} IdxRaw;

static void idx_raw_free(IdxRaw *r) {
    free(r->images);
    free(r->labels);
    r->images = r->labels = NULL;
}

/* Both files of a split, with matching counts and every label below classes. */
static int idx_raw_load(IdxRaw *r, const char *images_path, const char *labels_path, int classes,
                        char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    r->images_path = images_path;
    r->labels_path = labels_path;
    r->images = idx_load(images_path, 3, r->idims, err, errlen);
    r->labels = r->images ? idx_load(labels_path, 1, r->ldims, err, errlen) : NULL;
    int rc = r->labels ? 0 : -1;
    if (rc == 0 && r->ldims[0] != r->idims[0])
        rc = data_fail(err, errlen, "%s: has %u labels but %s has %u images", labels_path, r->ldims[0],
                       images_path, r->idims[0]);
    for (uint32_t i = 0; rc == 0 && i < r->ldims[0]; i++)
        if (r->labels[8 + i] >= classes)
            rc = data_fail(err, errlen, "%s: label %d of item %u is out of range 0..%d (the dataset has "
                           "%d classes)", labels_path, r->labels[8 + i], i, classes - 1, classes);
    if (rc) idx_raw_free(r);
    return rc;
}

/* The test images must have the train images' size: the model's tokens come from it. */
static int idx_same_size(const IdxRaw *train, const IdxRaw *test, char *err, size_t errlen) {
    if (test->idims[1] == train->idims[1] && test->idims[2] == train->idims[2]) return 0;
    return data_fail(err, errlen, "%s: images are %ux%u but the training images in %s are %ux%u "
                     "(train and test must have one size)", test->images_path, test->idims[1],
                     test->idims[2], train->images_path, train->idims[1], train->idims[2]);
}

/* Copy a checked split into out; num_classes = largest label + 1. */
static void idx_to_dataset(Dataset *out, const IdxRaw *r) {
    memset(out, 0, sizeof *out);
    out->kind = DATA_IMAGES;
    out->count = (int)r->idims[0];
    out->height = (int)r->idims[1];
    out->width = (int)r->idims[2];
    out->channels = 1;
    size_t npix = (size_t)out->count * out->height * out->width;
    out->pixels = xmalloc(npix);
    memcpy(out->pixels, r->images + 16, npix);
    out->labels = xmalloc((size_t)out->count * sizeof *out->labels);
    int max_label = 0;
    for (int i = 0; i < out->count; i++) {
        out->labels[i] = r->labels[8 + i];
        if (r->labels[8 + i] > max_label) max_label = r->labels[8 + i];
    }
    out->num_classes = max_label + 1;
}

int data_load_idx_pair(Dataset *out, const char *images_path, const char *labels_path,
                       char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    IdxRaw r;
    if (idx_raw_load(&r, images_path, labels_path, 256, err, errlen)) return -1;   /* any byte */
    idx_to_dataset(out, &r);
    idx_raw_free(&r);
    return 0;
}

static int contains_nocase(const char *s, const char *word) {
    for (size_t n = strlen(word); *s; s++)
        if (strncasecmp(s, word, n) == 0) return 1;
    return 0;
}

/* Prefer NAME.gz; fall back to NAME only if the .gz is absent and NAME exists, so that a
   missing file is reported under its usual (.gz) name. */
static char *idx_path(const char *dir, const char *name) {
    char gz[512];
    snprintf(gz, sizeof gz, "%s.gz", name);
    char *pgz = data_path_join(dir, gz), *plain = data_path_join(dir, name);
    int use_plain = !file_exists(pgz) && file_exists(plain);
    free(use_plain ? pgz : plain);
    return use_plain ? plain : pgz;
}

/* The IDX file paths of a split ("train" or "t10k") in dir; malloc'd. */
static void idx_split_paths(const char *dir, const char *prefix, char **images, char **labels) {
    char name[256];
    snprintf(name, sizeof name, "%s-images-idx3-ubyte", prefix);
    *images = idx_path(dir, name);
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte", prefix);
    *labels = idx_path(dir, name);
}

/* Both splits are read and checked (labels 0..9, counts, one image size) before any Dataset is
   allocated from their headers. Both get num_classes = the larger of the two, so every label
   is valid in both. Class names: the Fashion-MNIST names when the directory name says
   "fashion" and there are 10 classes (plain MNIST has the same files and 10 digit classes);
   otherwise NULL. */
int data_load_idx(Dataset *train, Dataset *test, const char *dir, char *err, size_t errlen) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    char *paths[4];
    idx_split_paths(dir, "train", &paths[0], &paths[1]);
    idx_split_paths(dir, "t10k", &paths[2], &paths[3]);
    IdxRaw tr = {0}, te = {0};
    int rc = idx_raw_load(&tr, paths[0], paths[1], IDX_CLASSES, err, errlen);
    if (rc == 0) rc = idx_raw_load(&te, paths[2], paths[3], IDX_CLASSES, err, errlen);
    if (rc == 0) rc = idx_same_size(&tr, &te, err, errlen);
    if (rc == 0) {
        idx_to_dataset(train, &tr);
        idx_to_dataset(test, &te);
    }
    idx_raw_free(&tr);
    idx_raw_free(&te);
    for (int i = 0; i < 4; i++) free(paths[i]);
    if (rc) return -1;
    int classes = train->num_classes > test->num_classes ? train->num_classes : test->num_classes;
    train->num_classes = test->num_classes = classes;
    if (classes == 10 && contains_nocase(dir, "fashion")) {
        train->class_names = data_copy_names(FASHION_NAMES, 10);
        test->class_names = data_copy_names(FASHION_NAMES, 10);
    }
    return 0;
}
