/* Datasets: IDX files (optionally gzipped), image folders via stb_image, synthetic sequence
   tasks, and the gathers that turn examples into model inputs.

   Gzip is handled here rather than through zlib: the member header (RFC 1952) is parsed by
   hand, stb_image inflates the raw deflate payload, and the CRC32 and length in the trailer
   are checked so that a damaged download is reported instead of silently trained on.
   Only single-member gzip files are supported (what gzip and the dataset mirrors produce). */
#define _POSIX_C_SOURCE 200809L
#include "data.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <stb_image.h>

#include "rng.h"
#include "util.h"

const char *const DATA_SYNTHETIC_TASKS[] = {"majority", "repeat", NULL};

/* Fashion-MNIST label names, in label order (from the dataset's documentation). */
static const char *const FASHION_NAMES[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

/* Independent rng streams for the synthetic splits, so test never repeats train. */
#define SYNTH_STREAM_TRAIN 0x73796e7472616e31ull
#define SYNTH_STREAM_TEST 0x73796e7474657332ull
/* A majority-task sequence must have a unique most frequent symbol; give up (with an error
   instead of spinning forever) when seq_len is far too short for the vocabulary. */
#define MAJORITY_MAX_DRAWS 1000000
/* MNIST and Fashion-MNIST have 10 classes: a label byte above 9 is a damaged file, not a
   new class (it would silently widen the model's head). */
#define IDX_CLASSES 10

/* Write a one-line message into err and return -1, so error paths are one statement. */
static int fail(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static char *dup_string(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = xmalloc(n);
    memcpy(d, s, n);
    return d;
}

/* "a/b", malloc'd. */
static char *path_join(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

/* ---------------------------------------------------------------- CRC32 and gzip */

/* CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum in the gzip trailer.
   The table is rebuilt per call (2K operations) to keep the module free of global state. */
static uint32_t crc32_bytes(const uint8_t *p, size_t n) {
    uint32_t table[256];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

static uint32_t le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t le32(const uint8_t *p) { return le16(p) | le16(p + 2) << 16; }
static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

enum { GZ_FHCRC = 2, GZ_FEXTRA = 4, GZ_FNAME = 8, GZ_FCOMMENT = 16, GZ_RESERVED = 0xE0 };

/* Skip a zero-terminated header field starting at *pos; 0 if it runs past the end. */
static int skip_cstring(const uint8_t *in, size_t len, size_t *pos) {
    const uint8_t *nul = *pos < len ? memchr(in + *pos, 0, len - *pos) : NULL;
    if (!nul) return 0;
    *pos = (size_t)(nul - in) + 1;
    return 1;
}

/* Parse the gzip member header; on success *start is the offset of the deflate data. */
static int gzip_header(const uint8_t *in, size_t len, size_t *start, const char *path,
                       char *err, size_t errlen) {
    if (len < 18) return fail(err, errlen, "%s: truncated gzip file (%zu bytes)", path, len);
    if (in[2] != 8) return fail(err, errlen, "%s: unsupported gzip method %d (want 8, deflate)", path, in[2]);
    int flags = in[3];
    if (flags & GZ_RESERVED)
        return fail(err, errlen, "%s: corrupt gzip header (reserved flags 0x%02x)", path, flags);
    size_t pos = 10;
    if (flags & GZ_FEXTRA) pos = pos + 2 <= len ? pos + 2 + le16(in + pos) : len + 1;
    if ((flags & GZ_FNAME) && !skip_cstring(in, len, &pos)) pos = len + 1;
    if ((flags & GZ_FCOMMENT) && !skip_cstring(in, len, &pos)) pos = len + 1;
    if ((flags & GZ_FHCRC) && pos + 2 <= len) {
        if ((crc32_bytes(in, pos) & 0xFFFF) != le16(in + pos))
            return fail(err, errlen, "%s: corrupt gzip header (header CRC mismatch)", path);
        pos += 2;
    }
    if (pos + 8 > len) return fail(err, errlen, "%s: truncated gzip file (header runs past the end)", path);
    *start = pos;
    return 0;
}

/* Inflate a single-member gzip file; returns a malloc'd buffer or NULL with err set. */
static uint8_t *gunzip(const uint8_t *in, size_t len, size_t *outlen, const char *path,
                       char *err, size_t errlen) {
    size_t start = 0;
    if (gzip_header(in, len, &start, path, err, errlen)) return NULL;
    /* The 8-byte trailer is handed to the decoder too, as lookahead: stb_image 2.27 reports
       "bad huffman code" when its input runs out while the last codes are still buffered
       (in PNG the Adler-32 trailer hides this). Inflate stops at the final block anyway. */
    size_t avail = len - start;
    if (avail > INT_MAX) {
        fail(err, errlen, "%s: gzip file too large (%zu bytes)", path, len);
        return NULL;
    }
    int n = 0;
    uint8_t *out = (uint8_t *)stbi_zlib_decode_noheader_malloc((const char *)in + start, (int)avail, &n);
    if (!out) {
        fail(err, errlen, "%s: corrupt gzip data (inflate failed: %s)", path, stbi_failure_reason());
        return NULL;
    }
    uint32_t want_crc = le32(in + len - 8), want_size = le32(in + len - 4);
    uint32_t crc = crc32_bytes(out, (size_t)n);
    if ((uint32_t)n != want_size || crc != want_crc) {
        fail(err, errlen, "%s: corrupt gzip data (inflated %d bytes with CRC32 0x%08x, trailer says "
             "%u bytes with CRC32 0x%08x)", path, n, crc, want_size, want_crc);
        free(out);
        return NULL;
    }
    *outlen = (size_t)n;
    return out;
}

/* Read a file, inflating it if it starts with the gzip magic 1f 8b. */
static uint8_t *read_maybe_gz(const char *path, size_t *len, int *was_gz, char *err, size_t errlen) {
    uint8_t *raw = read_whole_file(path, len, err, errlen);
    *was_gz = raw && *len >= 2 && raw[0] == 0x1f && raw[1] == 0x8b;
    if (!*was_gz) return raw;
    uint8_t *out = gunzip(raw, *len, len, path, err, errlen);
    free(raw);
    return out;
}

/* ---------------------------------------------------------------- IDX */

/* Check an unsigned-byte IDX file with ndims dimensions (3 = images, 1 = labels): magic,
   non-zero dims, and a length exactly equal to header + data. Fills dims[0..ndims). */
static int idx_check(const uint8_t *buf, size_t len, int was_gz, int ndims, uint32_t *dims,
                     const char *path, char *err, size_t errlen) {
    const char *what = ndims == 3 ? "images" : "labels";
    const char *has = was_gz ? "decompressed data has" : "file has";
    uint32_t want = 0x800u | (uint32_t)ndims;
    if (len < 4) return fail(err, errlen, "%s: truncated: %s only %zu bytes", path, has, len);
    uint32_t magic = be32(buf);
    if ((magic >> 16) == 0 && magic != want)   /* an IDX file, but not of the kind wanted */
        return fail(err, errlen, "%s: wrong IDX magic 0x%08x (want 0x%08x for unsigned-byte %s)",
                    path, magic, want, what);
    if (magic != want)
        return fail(err, errlen, "%s: %s (bad magic 0x%08x)", path,
                    was_gz ? "gzip content is not an IDX file" : "not a gzip or IDX file", magic);
    size_t header = 4 + 4 * (size_t)ndims;
    if (len < header) return fail(err, errlen, "%s: truncated: %s only %zu bytes", path, has, len);
    uint64_t items = 1;   /* saturates instead of overflowing; then it exceeds any length */
    for (int i = 0; i < ndims; i++) {
        dims[i] = be32(buf + 4 + 4 * i);
        if (dims[i] == 0 || dims[i] > INT_MAX)
            return fail(err, errlen, "%s: bad IDX dimension %u", path, dims[i]);
        items = items > (UINT64_MAX - header) / dims[i] ? UINT64_MAX - header : items * dims[i];
    }
    uint64_t expect = header + items;
    char desc[96];
    if (ndims == 3) snprintf(desc, sizeof desc, "%u images of %ux%u", dims[0], dims[1], dims[2]);
    else snprintf(desc, sizeof desc, "%u labels", dims[0]);
    if (expect != len)
        return fail(err, errlen, "%s: %s: header says %s (%llu bytes) but %s %zu bytes", path,
                    expect > len ? "truncated" : "size mismatch", desc, (unsigned long long)expect, has, len);
    return 0;
}

/* Load one IDX file of ndims dimensions; returns the whole (inflated) file, data at +header. */
static uint8_t *idx_load(const char *path, int ndims, uint32_t *dims, char *err, size_t errlen) {
    size_t len;
    int was_gz;
    uint8_t *buf = read_maybe_gz(path, &len, &was_gz, err, errlen);
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
        rc = fail(err, errlen, "%s: has %u labels but %s has %u images", labels_path, r->ldims[0],
                  images_path, r->idims[0]);
    for (uint32_t i = 0; rc == 0 && i < r->ldims[0]; i++)
        if (r->labels[8 + i] >= classes)
            rc = fail(err, errlen, "%s: label %d of item %u is out of range 0..%d (the dataset has "
                      "%d classes)", labels_path, r->labels[8 + i], i, classes - 1, classes);
    if (rc) idx_raw_free(r);
    return rc;
}

/* The test images must have the train images' size: the model's tokens come from it. */
static int idx_same_size(const IdxRaw *train, const IdxRaw *test, char *err, size_t errlen) {
    if (test->idims[1] == train->idims[1] && test->idims[2] == train->idims[2]) return 0;
    return fail(err, errlen, "%s: images are %ux%u but the training images in %s are %ux%u "
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

static char **copy_names(const char *const *names, int n) {
    char **out = xmalloc((size_t)n * sizeof *out);
    for (int i = 0; i < n; i++) out[i] = dup_string(names[i]);
    return out;
}

/* Prefer NAME.gz; fall back to NAME only if the .gz is absent and NAME exists, so that a
   missing file is reported under its usual (.gz) name. */
static char *idx_path(const char *dir, const char *name) {
    char gz[512];
    snprintf(gz, sizeof gz, "%s.gz", name);
    char *pgz = path_join(dir, gz), *plain = path_join(dir, name);
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
        train->class_names = copy_names(FASHION_NAMES, 10);
        test->class_names = copy_names(FASHION_NAMES, 10);
    }
    return 0;
}

/* ---------------------------------------------------------------- image folders */

typedef struct { char **items; int n, cap; } NameList;

static void names_push(NameList *l, const char *s) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->items = realloc(l->items, (size_t)l->cap * sizeof *l->items);
        if (!l->items) FATAL("out of memory");
    }
    l->items[l->n++] = dup_string(s);
}

static void names_free(NameList *l) {
    for (int i = 0; i < l->n; i++) free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_image_ext(const char *name) {
    static const char *const exts[] = {".png", ".jpg", ".jpeg", ".bmp"};
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof exts / sizeof *exts; i++)
        if (strcasecmp(dot, exts[i]) == 0) return 1;
    return 0;
}

/* Sorted entries of dir: subdirectories (want_dirs) or image files. Hidden entries and files
   with other extensions (README, .DS_Store...) are ignored. stat() follows symlinks. */
static int list_dir(NameList *out, const char *dir, int want_dirs, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d) return fail(err, errlen, "%s: cannot open directory: %s", dir, strerror(errno));
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char *p = path_join(dir, e->d_name);
        struct stat st;
        int ok = stat(p, &st) == 0;
        free(p);
        if (ok && (want_dirs ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode) && has_image_ext(e->d_name)))
            names_push(out, e->d_name);
    }
    closedir(d);
    if (out->n) qsort(out->items, (size_t)out->n, sizeof *out->items, cmp_names);
    return 0;
}

/* The class folders of a split, sorted; an error if there are none. */
static int list_classes(NameList *out, const char *split_dir, char *err, size_t errlen) {
    if (list_dir(out, split_dir, 1, err, errlen)) return -1;
    if (out->n == 0) return fail(err, errlen, "%s: no class subdirectories", split_dir);
    return 0;
}

/* Test must hold exactly the train classes; name the first class found in only one. */
static int same_classes(const NameList *a, const NameList *b, const char *adir, const char *bdir,
                        char *err, size_t errlen) {
    int i = 0, j = 0;
    while (i < a->n && j < b->n && strcmp(a->items[i], b->items[j]) == 0) i++, j++;
    if (i == a->n && j == b->n) return 0;
    int in_a = j == b->n || (i < a->n && strcmp(a->items[i], b->items[j]) < 0);
    return fail(err, errlen, "%s: class folders differ from %s: '%s' is only in %s", bdir, adir,
                in_a ? a->items[i] : b->items[j], in_a ? adir : bdir);
}

/* The shape every image must have: set by the first train image. */
typedef struct { int h, w, c; char *first; } Shape;

/* Gray+alpha is stored as gray and RGBA as RGB: the alpha channel is dropped, since the
   model takes 1 or 3 channels and dataset images are opaque in practice. */
static int stored_channels(int c) { return c == 2 ? 1 : c == 4 ? 3 : c; }

/* The size an image's header declares, checked against (or setting) shape, before a pixel
   is decoded: a small file may declare an image of gigabytes. */
static int image_header(Shape *shape, const char *path, char *err, size_t errlen) {
    int w, h, c;
    if (!stbi_info(path, &w, &h, &c))
        return fail(err, errlen, "%s: cannot read image: %s", path, stbi_failure_reason());
    int sc = stored_channels(c);
    if (!shape->first) *shape = (Shape){h, w, sc, dup_string(path)};
    if (h != shape->h || w != shape->w || sc != shape->c)
        return fail(err, errlen, "%s: image is %dx%dx%d but %s is %dx%dx%d (HxWxC; all images must match)",
                    path, h, w, sc, shape->first, shape->h, shape->w, shape->c);
    return 0;
}

/* Load one image into dst (h*w*shape->c bytes), checking it against (or setting) shape. */
static int load_image(uint8_t **dst, Dataset *ds, int index, Shape *shape, const char *path,
                      char *err, size_t errlen) {
    int w, h, c;
    uint8_t *img = stbi_load(path, &w, &h, &c, 0);
    if (!img) return fail(err, errlen, "%s: cannot read image: %s", path, stbi_failure_reason());
    int sc = stored_channels(c);
    if (!shape->first) *shape = (Shape){h, w, sc, dup_string(path)};
    if (h != shape->h || w != shape->w || sc != shape->c) {
        stbi_image_free(img);
        return fail(err, errlen, "%s: image is %dx%dx%d but %s is %dx%dx%d (HxWxC; all images must match)",
                    path, h, w, sc, shape->first, shape->h, shape->w, shape->c);
    }
    if (!*dst) *dst = xmalloc((size_t)ds->count * h * w * sc);
    uint8_t *out = *dst + (size_t)index * h * w * sc;
    for (size_t p = 0; p < (size_t)h * w; p++)
        for (int k = 0; k < sc; k++) out[p * sc + k] = img[p * c + k];
    stbi_image_free(img);
    return 0;
}

/* Full paths of the image files of one class folder, sorted; an error if there are none. */
static int list_class_files(NameList *out, const char *split_dir, const char *cls, char *err, size_t errlen) {
    char *cdir = path_join(split_dir, cls);
    NameList files;
    int rc = list_dir(&files, cdir, 0, err, errlen);
    if (rc == 0 && files.n == 0)
        rc = fail(err, errlen, "%s: empty class: no .png/.jpg/.jpeg/.bmp files", cdir);
    memset(out, 0, sizeof *out);
    for (int i = 0; rc == 0 && i < files.n; i++) {
        char *p = path_join(cdir, files.items[i]);
        names_push(out, p);
        free(p);
    }
    names_free(&files);
    free(cdir);
    return rc;
}

/* Read every image of ROOT/split into ds; labels are class indices in class order. With
   header_only, only the images' sizes are read and checked (ds gets no pixels or labels). */
static int read_split_images(Dataset *ds, const NameList *files, Shape *shape, int header_only,
                             char *err, size_t errlen) {
    int index = 0;
    for (int k = 0; k < ds->num_classes; k++) {
        for (int i = 0; header_only && i < files[k].n; i++)
            if (image_header(shape, files[k].items[i], err, errlen)) return -1;
        if (header_only) continue;
        for (int i = 0; i < files[k].n; i++, index++) {
            ds->labels[index] = k;
            if (load_image(&ds->pixels, ds, index, shape, files[k].items[i], err, errlen)) return -1;
        }
    }
    return 0;
}

static int load_split(Dataset *ds, const char *root, const char *split, const NameList *classes,
                      Shape *shape, int header_only, char *err, size_t errlen) {
    memset(ds, 0, sizeof *ds);
    char *dir = path_join(root, split);
    NameList *files = xcalloc((size_t)classes->n, sizeof *files);
    int rc = 0;
    for (int k = 0; rc == 0 && k < classes->n; k++) {
        rc = list_class_files(&files[k], dir, classes->items[k], err, errlen);
        ds->count += files[k].n;
    }
    ds->kind = DATA_IMAGES;
    ds->num_classes = classes->n;
    if (rc == 0) {
        if (!header_only) ds->labels = xmalloc((size_t)ds->count * sizeof *ds->labels);
        rc = read_split_images(ds, files, shape, header_only, err, errlen);
    }
    for (int k = 0; k < classes->n; k++) names_free(&files[k]);
    free(files);
    free(dir);
    if (rc) {
        data_free(ds);
        return -1;
    }
    ds->height = shape->h;
    ds->width = shape->w;
    ds->channels = shape->c;
    ds->class_names = copy_names((const char *const *)classes->items, classes->n);
    return 0;
}

static int load_folder_splits(Dataset *train, Dataset *test, const char *root,
                              const NameList *classes, int header_only, char *err, size_t errlen) {
    Shape shape = {0, 0, 0, NULL};
    int rc = load_split(train, root, "train", classes, &shape, header_only, err, errlen);
    if (rc == 0) rc = load_split(test, root, "test", classes, &shape, header_only, err, errlen);
    free(shape.first);
    if (rc) {
        data_free(train);
        data_free(test);
    }
    return rc;
}

static int folder(Dataset *train, Dataset *test, const char *root, int header_only, char *err,
                  size_t errlen) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    char *train_dir = path_join(root, "train"), *test_dir = path_join(root, "test");
    NameList tr = {0}, te = {0};
    int rc = list_classes(&tr, train_dir, err, errlen);
    if (rc == 0) rc = list_classes(&te, test_dir, err, errlen);
    if (rc == 0) rc = same_classes(&tr, &te, train_dir, test_dir, err, errlen);
    if (rc == 0) rc = load_folder_splits(train, test, root, &tr, header_only, err, errlen);
    names_free(&tr);
    names_free(&te);
    free(train_dir);
    free(test_dir);
    return rc;
}

int data_load_folder(Dataset *train, Dataset *test, const char *root, char *err, size_t errlen) {
    return folder(train, test, root, 0, err, errlen);
}

int data_folder_sizes(Dataset *train, Dataset *test, const char *root, char *err, size_t errlen) {
    return folder(train, test, root, 1, err, errlen);
}

/* ---------------------------------------------------------------- synthetic tasks */

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
            return fail(err, errlen, "synthetic:majority: no sequence with a unique most frequent "
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
        return fail(err, errlen, "synthetic:%s: unknown task (known tasks: %s)",
                    task ? task : "(null)", list);
    if (seq_len < 2) return fail(err, errlen, "synthetic:%s: seq_len must be >= 2 (got %d)", task, seq_len);
    if (vocab < 2) return fail(err, errlen, "synthetic:%s: vocab must be >= 2 (got %d)", task, vocab);
    if (train_count < 1 || test_count < 1)
        return fail(err, errlen, "synthetic:%s: train and test counts must be >= 1 (got %d and %d)",
                    task, train_count, test_count);
    int most = train_count > test_count ? train_count : test_count;
    if ((size_t)seq_len > SIZE_MAX / sizeof(int32_t) / (size_t)most)
        return fail(err, errlen, "synthetic:%s: %d examples of length %d are too many", task, most, seq_len);
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

/* ---------------------------------------------------------------- batches */

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
