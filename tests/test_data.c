/* Tests for the dataset loaders: IDX (raw and gzip), image folders, synthetic tasks, and the
   patch/token/label gathers. Files are written into fresh mkdtemp directories under /tmp. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb_image_write.h>

#include "check.h"
#include "data.h"
#include "proc.h"
#include "task.h"
#include "util.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

/* ---------------------------------------------------------------- file helpers */

static void make_tmpdir(char *dir, size_t n) {
    snprintf(dir, n, "/tmp/test_data_XXXXXX");
    if (!mkdtemp(dir)) FATAL("mkdtemp failed");
}

static void remove_tree(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "    warning: could not remove %s\n", dir);
}

static char *tpath(char *buf, size_t n, const char *dir, const char *name) {
    snprintf(buf, n, "%s/%s", dir, name);
    return buf;
}

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) FATAL("cannot write %s", path);
}

static void make_dir(const char *path) {
    if (mkdir(path, 0755) != 0) FATAL("cannot mkdir %s", path);
}

static int contains(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

/* Bitwise CRC-32, deliberately independent of the table version in src/data/gzip.c. */
static uint32_t crc32_slow(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}
static void put_le16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void put_le32(uint8_t *p, uint32_t v) { put_le16(p, v & 0xFFFF), put_le16(p + 2, v >> 16); }

/* A gzip member holding data in stored (uncompressed) deflate blocks. With all_fields, the
   header also carries FEXTRA, FNAME, FCOMMENT and FHCRC so the header parser is exercised. */
static uint8_t *gzip_stored(const uint8_t *data, size_t n, int all_fields, size_t *outlen) {
    size_t blocks = n / 65535 + 1, cap = 64 + n + 5 * blocks + 8;
    uint8_t *g = xmalloc(cap), *p = g;
    *p++ = 0x1f, *p++ = 0x8b, *p++ = 8, *p++ = all_fields ? 4 | 8 | 16 | 2 : 0;
    memset(p, 0, 6), p += 6;                  /* MTIME, XFL, OS */
    if (all_fields) {
        put_le16(p, 3), p += 2;
        memcpy(p, "xyz", 3), p += 3;          /* FEXTRA */
        memcpy(p, "name.idx", 9), p += 9;     /* FNAME with its NUL */
        memcpy(p, "a comment", 10), p += 10;  /* FCOMMENT */
        put_le16(p, crc32_slow(g, (size_t)(p - g)) & 0xFFFF), p += 2;
    }
    size_t off = 0;
    do {
        size_t len = n - off < 65535 ? n - off : 65535;
        *p++ = off + len == n ? 1 : 0;        /* BFINAL on the last block, BTYPE = 00 */
        put_le16(p, (uint32_t)len), put_le16(p + 2, (uint32_t)~len & 0xFFFF), p += 4;
        memcpy(p, data + off, len), p += len, off += len;
    } while (off < n);
    put_le32(p, crc32_slow(data, n)), put_le32(p + 4, (uint32_t)n), p += 8;
    *outlen = (size_t)(p - g);
    return g;
}

static void write_gzip_stored(const char *path, const uint8_t *data, size_t n, int all_fields) {
    size_t len;
    uint8_t *g = gzip_stored(data, n, all_fields, &len);
    write_bytes(path, g, len);
    free(g);
}

/* Real deflate compression via the gzip tool (writes src.gz next to src, keeps src). */
static void gzip_tool(const char *src, const char *dst) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "gzip -c '%s' > '%s'", src, dst);
    if (system(cmd) != 0) FATAL("gzip failed: %s", cmd);
}

static uint8_t *read_file(const char *path, size_t *len) {
    char err[256];
    uint8_t *b = read_whole_file(path, len, err, sizeof err);
    if (!b) FATAL("%s", err);
    return b;
}

/* ---------------------------------------------------------------- a small IDX pair */

enum { N_IMG = 5, IMG_H = 4, IMG_W = 3 };
static const uint8_t LABELS5[N_IMG] = {3, 0, 2, 3, 1};

static uint8_t idx_pixel(int i, int r, int c) { return (uint8_t)(i * 61 + r * 17 + c * 5 + (i == 2) * 200); }

/* IDX images file bytes for n images of h x w with idx_pixel values. */
static uint8_t *idx_images(int n, int h, int w, size_t *len) {
    *len = 16 + (size_t)n * h * w;
    uint8_t *b = xmalloc(*len);
    put_be32(b, 0x803), put_be32(b + 4, (uint32_t)n);
    put_be32(b + 8, (uint32_t)h), put_be32(b + 12, (uint32_t)w);
    for (int i = 0; i < n; i++)
        for (int r = 0; r < h; r++)
            for (int c = 0; c < w; c++) b[16 + ((size_t)i * h + r) * w + c] = idx_pixel(i, r, c);
    return b;
}

static uint8_t *idx_labels(const uint8_t *labels, int n, size_t *len) {
    *len = 8 + (size_t)n;
    uint8_t *b = xmalloc(*len);
    put_be32(b, 0x801), put_be32(b + 4, (uint32_t)n);
    memcpy(b + 8, labels, (size_t)n);
    return b;
}

/* Writes NAME (raw), NAME.gz (stored blocks) and NAME.tool.gz (gzip tool) for both files. */
static void write_idx_pair(const char *dir) {
    size_t il, ll;
    uint8_t *im = idx_images(N_IMG, IMG_H, IMG_W, &il), *lb = idx_labels(LABELS5, N_IMG, &ll);
    char p[512], q[512];
    write_bytes(tpath(p, sizeof p, dir, "img"), im, il);
    write_bytes(tpath(p, sizeof p, dir, "lab"), lb, ll);
    write_gzip_stored(tpath(p, sizeof p, dir, "img.gz"), im, il, 1);
    write_gzip_stored(tpath(p, sizeof p, dir, "lab.gz"), lb, ll, 0);
    gzip_tool(tpath(p, sizeof p, dir, "img"), tpath(q, sizeof q, dir, "img.tool.gz"));
    gzip_tool(tpath(p, sizeof p, dir, "lab"), tpath(q, sizeof q, dir, "lab.tool.gz"));
    free(im);
    free(lb);
}

static void check_idx_dataset(const Dataset *ds, const char *what) {
    CHECK(ds->kind == DATA_IMAGES, "%s: kind %d", what, ds->kind);
    CHECK(ds->count == N_IMG && ds->height == IMG_H && ds->width == IMG_W && ds->channels == 1,
          "%s: count %d, %dx%dx%d", what, ds->count, ds->height, ds->width, ds->channels);
    CHECK(ds->num_classes == 4, "%s: num_classes %d, want 4", what, ds->num_classes);
    CHECK(ds->class_names == NULL, "%s: class_names should be NULL", what);
    if (ds->count != N_IMG || ds->height != IMG_H || ds->width != IMG_W) return;
    int bad = 0;
    for (int i = 0; i < N_IMG; i++) {
        bad += ds->labels[i] != LABELS5[i];
        for (int r = 0; r < IMG_H; r++)
            for (int c = 0; c < IMG_W; c++)
                bad += ds->pixels[(i * IMG_H + r) * IMG_W + c] != idx_pixel(i, r, c);
    }
    CHECK(bad == 0, "%s: %d wrong pixel or label values", what, bad);
}

static void load_pair_and_check(const char *dir, const char *img, const char *lab) {
    char p[512], q[512], err[512] = "";
    Dataset ds;
    int rc = data_load_idx_pair(&ds, tpath(p, sizeof p, dir, img), tpath(q, sizeof q, dir, lab),
                                err, sizeof err);
    CHECK(rc == 0, "loading %s + %s: %s", img, lab, err);
    if (rc == 0) check_idx_dataset(&ds, img);
    data_free(&ds);
}

static void test_idx_parse(void) {
    char dir[64];
    make_tmpdir(dir, sizeof dir);
    write_idx_pair(dir);
    load_pair_and_check(dir, "img", "lab");                /* raw */
    load_pair_and_check(dir, "img.gz", "lab.gz");          /* stored deflate, all header fields */
    load_pair_and_check(dir, "img.tool.gz", "lab.tool.gz");/* real deflate from gzip(1) */
    load_pair_and_check(dir, "img.gz", "lab");             /* mixed */
    remove_tree(dir);
}

/* A large file spans several stored blocks and, through gzip(1), dynamic Huffman blocks. */
static void test_idx_large_gzip(void) {
    char dir[64], p[512], q[512], err[512] = "";
    make_tmpdir(dir, sizeof dir);
    int n = 1500, h = 9, w = 11;
    size_t il;
    uint8_t *im = idx_images(n, h, w, &il);
    uint8_t *labels = xmalloc((size_t)n);
    for (int i = 0; i < n; i++) labels[i] = (uint8_t)(i * 7 % 13);
    size_t ll;
    uint8_t *lb = idx_labels(labels, n, &ll);
    write_gzip_stored(tpath(p, sizeof p, dir, "img.gz"), im, il, 0);
    write_bytes(tpath(p, sizeof p, dir, "img"), im, il);
    gzip_tool(p, tpath(q, sizeof q, dir, "img.tool.gz"));
    write_bytes(tpath(p, sizeof p, dir, "lab"), lb, ll);
    const char *names[2] = {"img.gz", "img.tool.gz"};
    for (int k = 0; k < 2; k++) {
        Dataset ds;
        int rc = data_load_idx_pair(&ds, tpath(p, sizeof p, dir, names[k]), tpath(q, sizeof q, dir, "lab"),
                                    err, sizeof err);
        CHECK(rc == 0, "%s: %s", names[k], err);
        if (rc == 0) {
            CHECK(ds.count == n && ds.height == h && ds.width == w, "%s: shape", names[k]);
            CHECK(memcmp(ds.pixels, im + 16, (size_t)n * h * w) == 0, "%s: pixels differ", names[k]);
            CHECK(ds.num_classes == 13, "%s: num_classes %d", names[k], ds.num_classes);
            int bad = 0;
            for (int i = 0; i < n; i++) bad += ds.labels[i] != labels[i];
            CHECK(bad == 0, "%s: %d wrong labels", names[k], bad);
        }
        data_free(&ds);
    }
    free(im), free(lb), free(labels);
    remove_tree(dir);
}

/* Many small gzip(1) files: the deflate stream ends at a different bit offset in each, which
   catches a decoder that needs lookahead bytes after the final code (stb_image 2.27 does). */
static void test_idx_gzip_stream_ends(void) {
    char dir[64], img[512], gz[512], lab[512], err[512] = "";
    make_tmpdir(dir, sizeof dir);
    tpath(img, sizeof img, dir, "img");
    tpath(gz, sizeof gz, dir, "img.gz");
    tpath(lab, sizeof lab, dir, "lab");
    int failures = 0;
    for (int n = 1; n <= 48; n++) {
        uint8_t labels[48];
        for (int i = 0; i < n; i++) labels[i] = (uint8_t)((i * i + 3 * n) % 10);
        size_t il, ll;
        uint8_t *im = idx_images(n, 3, n + 1, &il), *lb = idx_labels(labels, n, &ll);
        write_bytes(img, im, il);
        gzip_tool(img, gz);
        write_bytes(lab, lb, ll);
        Dataset ds;
        int rc = data_load_idx_pair(&ds, gz, lab, err, sizeof err);
        if (rc != 0 || ds.count != n || memcmp(ds.pixels, im + 16, il - 16) != 0) {
            failures++;
            fprintf(stderr, "    n=%d: %s\n", n, rc ? err : "wrong data");
        }
        data_free(&ds);
        free(im), free(lb);
    }
    CHECK(failures == 0, "%d of 48 gzip files failed", failures);
    remove_tree(dir);
}

/* data_load_idx: .gz preferred, plain name as fallback, num_classes shared by both splits. */
static void test_idx_load_dir(void) {
    char dir[64], p[512], err[512] = "";
    make_tmpdir(dir, sizeof dir);
    size_t il, ll;
    uint8_t *im = idx_images(N_IMG, IMG_H, IMG_W, &il), *lb = idx_labels(LABELS5, N_IMG, &ll);
    write_gzip_stored(tpath(p, sizeof p, dir, "train-images-idx3-ubyte.gz"), im, il, 1);
    write_bytes(tpath(p, sizeof p, dir, "train-images-idx3-ubyte"), "garbage", 7);  /* must be ignored */
    write_bytes(tpath(p, sizeof p, dir, "train-labels-idx1-ubyte"), lb, ll);        /* fallback */
    free(im), free(lb);
    const uint8_t test_labels[3] = {5, 0, 1};
    im = idx_images(3, IMG_H, IMG_W, &il), lb = idx_labels(test_labels, 3, &ll);
    write_bytes(tpath(p, sizeof p, dir, "t10k-images-idx3-ubyte"), im, il);
    write_gzip_stored(tpath(p, sizeof p, dir, "t10k-labels-idx1-ubyte.gz"), lb, ll, 0);
    free(im), free(lb);

    Dataset tr, te;
    int rc = data_load_idx(&tr, &te, dir, err, sizeof err);
    CHECK(rc == 0, "data_load_idx: %s", err);
    if (rc == 0) {
        CHECK(tr.count == N_IMG && te.count == 3, "counts %d %d", tr.count, te.count);
        CHECK(tr.num_classes == 6 && te.num_classes == 6, "num_classes %d %d, want 6 6",
              tr.num_classes, te.num_classes);
        CHECK(te.labels[0] == 5 && te.labels[1] == 0 && te.labels[2] == 1, "test labels");
        CHECK(tr.labels[0] == 3 && tr.labels[4] == 1, "train labels");
        CHECK(te.pixels[IMG_H * IMG_W + 1] == idx_pixel(1, 0, 1), "test pixel");
        CHECK(tr.class_names == NULL, "no class names outside a fashion directory");
    }
    data_free(&tr), data_free(&te);
    data_free(&tr);  /* a second free of a freed (zeroed) dataset is harmless */

    remove(tpath(p, sizeof p, dir, "t10k-labels-idx1-ubyte.gz"));
    rc = data_load_idx(&tr, &te, dir, err, sizeof err);
    CHECK(rc == -1, "missing test labels must fail");
    CHECK(contains(err, "t10k-labels-idx1-ubyte.gz") && contains(err, "cannot open"), "message: %s", err);
    CHECK(tr.pixels == NULL && te.pixels == NULL && tr.count == 0, "datasets must be empty after failure");
    remove_tree(dir);
}

/* A train split (N_IMG images of IMG_H x IMG_W, train_labels) and a test split of 3 images
   of h x w with test_labels, as plain IDX files in dir. */
static void write_idx_splits(const char *dir, const uint8_t *train_labels, int h, int w,
                             const uint8_t *test_labels) {
    char p[512];
    size_t il, ll;
    uint8_t *im = idx_images(N_IMG, IMG_H, IMG_W, &il), *lb = idx_labels(train_labels, N_IMG, &ll);
    write_bytes(tpath(p, sizeof p, dir, "train-images-idx3-ubyte"), im, il);
    write_bytes(tpath(p, sizeof p, dir, "train-labels-idx1-ubyte"), lb, ll);
    free(im), free(lb);
    im = idx_images(3, h, w, &il), lb = idx_labels(test_labels, 3, &ll);
    write_bytes(tpath(p, sizeof p, dir, "t10k-images-idx3-ubyte"), im, il);
    write_bytes(tpath(p, sizeof p, dir, "t10k-labels-idx1-ubyte"), lb, ll);
    free(im), free(lb);
}

/* data_load_idx with such splits must fail, naming file (and needle), datasets left empty. */
static void expect_idx_splits_fail(const uint8_t *train_labels, int h, int w, const uint8_t *test_labels,
                                   const char *file, const char *needle) {
    char dir[64], p[512], err[512] = "";
    make_tmpdir(dir, sizeof dir);
    write_idx_splits(dir, train_labels, h, w, test_labels);
    Dataset tr, te;
    int rc = data_load_idx(&tr, &te, dir, err, sizeof err);
    CHECK(rc == -1, "test images %dx%d, %s: must be refused", h, w, needle);
    CHECK(contains(err, tpath(p, sizeof p, dir, file)) && contains(err, needle),
          "message should name %s and say '%s': %s", file, needle, err);
    CHECK(!strchr(err, '\n'), "one line: %s", err);
    CHECK(tr.pixels == NULL && te.pixels == NULL && tr.count == 0 && te.count == 0, "not zeroed");
    data_free(&tr), data_free(&te);
    remove_tree(dir);
}

/* Defect: test images of another size than the train images overflowed data_patches
   (larger) or gave wrong accuracy (smaller); a label byte above 9 silently added classes. */
static void test_idx_split_mismatch(void) {
    const uint8_t ok[3] = {1, 0, 2}, high[3] = {1, 12, 2}, ten[3] = {10, 0, 1};
    const uint8_t bad_train[N_IMG] = {3, 0, 200, 3, 1};
    expect_idx_splits_fail(LABELS5, 4 * IMG_H, 4 * IMG_W, ok, "t10k-images-idx3-ubyte", "16x12");
    expect_idx_splits_fail(LABELS5, IMG_H, IMG_W - 1, ok, "t10k-images-idx3-ubyte", "4x2");
    expect_idx_splits_fail(LABELS5, IMG_H, IMG_W, high, "t10k-labels-idx1-ubyte", "label 12 of item 1");
    expect_idx_splits_fail(LABELS5, IMG_H, IMG_W, ten, "t10k-labels-idx1-ubyte", "out of range 0..9");
    expect_idx_splits_fail(bad_train, IMG_H, IMG_W, ok, "train-labels-idx1-ubyte", "label 200 of item 2");
    /* equal sizes and labels 0..9 still load; the class count is shared */
    char dir[64], err[512] = "";
    make_tmpdir(dir, sizeof dir);
    const uint8_t nine[3] = {9, 0, 1};
    write_idx_splits(dir, LABELS5, IMG_H, IMG_W, nine);
    Dataset tr, te;
    int rc = data_load_idx(&tr, &te, dir, err, sizeof err);
    CHECK(rc == 0, "valid splits: %s", err);
    CHECK(rc != 0 || (tr.num_classes == 10 && te.num_classes == 10), "num_classes %d", tr.num_classes);
    data_free(&tr), data_free(&te);
    remove_tree(dir);
}

static void test_fashion_mnist(void) {
    struct stat st;
    if (stat(FASHION_DIR, &st) != 0) {
        CHECK(0, "%s is missing (install the dataset package: see Makefile deps)", FASHION_DIR);
        return;
    }
    char err[512] = "";
    Dataset tr, te;
    double t0 = now_seconds();
    int rc = data_load_idx(&tr, &te, FASHION_DIR, err, sizeof err);
    double dt = now_seconds() - t0;
    fprintf(stderr, "    data_load_idx(%s): %.3f s\n", FASHION_DIR, dt);
    CHECK(rc == 0, "%s", err);
    if (rc != 0) return;
    CHECK(tr.count == 60000 && te.count == 10000, "counts %d %d", tr.count, te.count);
    CHECK(tr.height == 28 && tr.width == 28 && tr.channels == 1, "train shape %dx%dx%d",
          tr.height, tr.width, tr.channels);
    CHECK(te.height == 28 && te.width == 28 && te.channels == 1, "test shape");
    CHECK(tr.num_classes == 10 && te.num_classes == 10, "classes %d %d", tr.num_classes, te.num_classes);
    int per_train[10] = {0}, per_test[10] = {0};
    for (int i = 0; i < tr.count; i++) per_train[tr.labels[i] % 10]++;
    for (int i = 0; i < te.count; i++) per_test[te.labels[i] % 10]++;
    for (int k = 0; k < 10; k++)
        CHECK(per_train[k] == 6000 && per_test[k] == 1000, "class %d: %d train, %d test",
              k, per_train[k], per_test[k]);
    /* Reference values computed independently with Python's gzip module. */
    uint64_t sum_tr = 0, sum_te = 0;
    for (size_t i = 0; i < (size_t)tr.count * 784; i++) sum_tr += tr.pixels[i];
    for (size_t i = 0; i < (size_t)te.count * 784; i++) sum_te += te.pixels[i];
    CHECK(sum_tr == 3431114169ull && sum_te == 573469082ull, "pixel sums %llu %llu",
          (unsigned long long)sum_tr, (unsigned long long)sum_te);
    CHECK(tr.labels[0] == 9 && tr.labels[1] == 0 && tr.labels[3] == 3 && te.labels[1] == 2, "first labels");
    CHECK(tr.class_names && strcmp(tr.class_names[0], "T-shirt/top") == 0 &&
          strcmp(tr.class_names[9], "Ankle boot") == 0, "fashion class names");
    /* About 0.5 s at -O2; the loose bound only catches pathological slowdowns and still
       holds under valgrind. */
    CHECK(dt < 10.0, "load took %.3f s", dt);
    data_free(&tr), data_free(&te);
}

/* ---------------------------------------------------------------- rejection of bad IDX files */

/* Load IMG + LAB from dir, expect -1 and a message naming bad_file (and containing needle). */
static void expect_pair_fails(const char *dir, const char *img, const char *lab, const char *bad_file,
                              const char *needle) {
    char p[512], q[512], bad[512], err[512] = "";
    Dataset ds;
    memset(&ds, 0xAB, sizeof ds);
    int rc = data_load_idx_pair(&ds, tpath(p, sizeof p, dir, img), tpath(q, sizeof q, dir, lab),
                                err, sizeof err);
    CHECK(rc == -1, "%s + %s should be rejected", img, lab);
    CHECK(contains(err, tpath(bad, sizeof bad, dir, bad_file)), "message should name %s: %s", bad_file, err);
    CHECK(!needle || contains(err, needle), "message should contain '%s': %s", needle, err);
    CHECK(!strchr(err, '\n'), "message must be one line: %s", err);
    CHECK(ds.pixels == NULL && ds.labels == NULL && ds.count == 0, "dataset not zeroed after failure");
    data_free(&ds);
}

static void write_modified(const char *dir, const char *src, const char *dst, size_t keep, long flip_at) {
    char p[512];
    size_t len;
    uint8_t *b = read_file(tpath(p, sizeof p, dir, src), &len);
    if (keep > len) keep = len;
    if (flip_at >= 0) b[flip_at] ^= 0x5A;
    write_bytes(tpath(p, sizeof p, dir, dst), b, keep);
    free(b);
}

static void test_idx_rejects_corrupt(void) {
    char dir[64], p[512];
    make_tmpdir(dir, sizeof dir);
    write_idx_pair(dir);
    size_t raw_len = 16 + N_IMG * IMG_H * IMG_W, gz_len, tool_len;
    free(read_file(tpath(p, sizeof p, dir, "img.gz"), &gz_len));
    free(read_file(tpath(p, sizeof p, dir, "img.tool.gz"), &tool_len));

    write_modified(dir, "img", "short", raw_len - 10, -1);
    expect_pair_fails(dir, "short", "lab", "short", "truncated");
    write_modified(dir, "img", "tiny", 10, -1);
    expect_pair_fails(dir, "tiny", "lab", "tiny", "truncated");
    write_bytes(tpath(p, sizeof p, dir, "text"), "hello, world, this is text", 26);
    expect_pair_fails(dir, "text", "lab", "text", "not a gzip or IDX file (bad magic 0x68656c6c)");
    expect_pair_fails(dir, "lab", "lab", "lab", "magic");              /* labels given as images */
    expect_pair_fails(dir, "img", "img", "img", "magic");              /* images given as labels */
    write_bytes(tpath(p, sizeof p, dir, "long2"), "", 0);
    {   /* raw images with 3 extra bytes: sizes inconsistent with the header */
        size_t len;
        uint8_t *b = read_file(tpath(p, sizeof p, dir, "img"), &len);
        uint8_t *c = xcalloc(len + 3, 1);
        memcpy(c, b, len);
        write_bytes(tpath(p, sizeof p, dir, "long"), c, len + 3);
        free(b), free(c);
    }
    expect_pair_fails(dir, "long", "lab", "long", "size mismatch");
    expect_pair_fails(dir, "long2", "lab", "long2", "truncated");      /* empty file */
    expect_pair_fails(dir, "missing", "lab", "missing", "cannot open: No such file or directory");
    expect_pair_fails(dir, "img", "missing", "missing", "cannot open");

    write_modified(dir, "img.gz", "trunc.gz", gz_len / 2, -1);
    expect_pair_fails(dir, "trunc.gz", "lab", "trunc.gz", "gzip");
    write_modified(dir, "img.tool.gz", "trunc2.gz", tool_len - 12, -1);
    expect_pair_fails(dir, "trunc2.gz", "lab", "trunc2.gz", "gzip");
    write_modified(dir, "img.gz", "hdr.gz", 12, -1);
    expect_pair_fails(dir, "hdr.gz", "lab", "hdr.gz", "truncated gzip");
    write_modified(dir, "img.gz", "flip.gz", gz_len, (long)gz_len - 40);   /* a pixel in a stored block */
    expect_pair_fails(dir, "flip.gz", "lab", "flip.gz", "CRC32");
    write_modified(dir, "img.tool.gz", "flip2.gz", tool_len, (long)tool_len / 2 + 6);
    expect_pair_fails(dir, "flip2.gz", "lab", "flip2.gz", "corrupt gzip data");
    write_modified(dir, "img.gz", "hcrc.gz", gz_len, 12);              /* inside FEXTRA: header CRC */
    expect_pair_fails(dir, "hcrc.gz", "lab", "hcrc.gz", "header CRC");
    write_modified(dir, "img.gz", "size.gz", gz_len, (long)gz_len - 2); /* ISIZE */
    expect_pair_fails(dir, "size.gz", "lab", "size.gz", "trailer");

    {   /* a valid gzip around a truncated IDX file */
        size_t len;
        uint8_t *b = read_file(tpath(p, sizeof p, dir, "img"), &len);
        write_gzip_stored(tpath(p, sizeof p, dir, "inner.gz"), b, len - 1, 0);
        free(b);
    }
    expect_pair_fails(dir, "inner.gz", "lab", "inner.gz", "decompressed data has 75 bytes");

    {   /* 4 labels for 5 images */
        size_t len;
        uint8_t *lb = idx_labels(LABELS5, 4, &len);
        write_bytes(tpath(p, sizeof p, dir, "lab4"), lb, len);
        free(lb);
    }
    expect_pair_fails(dir, "img", "lab4", "lab4", "has 4 labels");
    expect_pair_fails(dir, "img", "lab4", "img", "5 images");
    remove_tree(dir);
}

/* ---------------------------------------------------------------- image folders */

enum { PW = 6, PH = 6 };

static uint8_t gray_value(int k, int r, int c) { return (uint8_t)(k * 40 + r * 7 + c * 13); }

/* Write a PNG whose channel ch of pixel (r, c) is gray_value(k, r, c) + 50 * ch. */
static void write_png(const char *path, int k, int w, int h, int comp) {
    uint8_t *px = xmalloc((size_t)w * h * comp);
    for (int r = 0; r < h; r++)
        for (int c = 0; c < w; c++)
            for (int ch = 0; ch < comp; ch++) px[(r * w + c) * comp + ch] = (uint8_t)(gray_value(k, r, c) + 50 * ch);
    if (!stbi_write_png(path, w, h, comp, px, w * comp)) FATAL("stbi_write_png %s", path);
    free(px);
}

/* Under root: {train,test}/<class>/ directories for the given classes. */
static void make_split_dirs(const char *root, const char *const *classes, int n) {
    char p[512];
    make_dir(tpath(p, sizeof p, root, "train"));
    make_dir(tpath(p, sizeof p, root, "test"));
    for (int i = 0; i < n; i++) {
        char sub[128];
        snprintf(sub, sizeof sub, "train/%s", classes[i]);
        make_dir(tpath(p, sizeof p, root, sub));
        snprintf(sub, sizeof sub, "test/%s", classes[i]);
        make_dir(tpath(p, sizeof p, root, sub));
    }
}

static void png_at(const char *root, const char *rel, int k, int w, int h, int comp) {
    char p[512];
    write_png(tpath(p, sizeof p, root, rel), k, w, h, comp);
}

/* Check that example i of ds has the pixels written by write_png(k, comp) keeping ds->channels. */
static int pixels_match(const Dataset *ds, int i, int k) {
    int C = ds->channels, bad = 0;
    const uint8_t *px = ds->pixels + (size_t)i * ds->height * ds->width * C;
    for (int r = 0; r < ds->height; r++)
        for (int c = 0; c < ds->width; c++)
            for (int ch = 0; ch < C; ch++)
                bad += px[(r * ds->width + c) * C + ch] != (uint8_t)(gray_value(k, r, c) + 50 * ch);
    return bad == 0;
}

static void test_folder_gray(void) {
    char root[64], err[512] = "";
    make_tmpdir(root, sizeof root);
    const char *const classes[] = {"b", "a"};   /* created out of order; loaded sorted */
    make_split_dirs(root, classes, 2);
    png_at(root, "train/a/img1.png", 1, PW, PH, 1);
    png_at(root, "train/a/img0.png", 0, PW, PH, 1);
    png_at(root, "train/b/x2.png", 4, PW, PH, 2);   /* gray + alpha: alpha is dropped */
    png_at(root, "train/b/x0.PNG", 2, PW, PH, 1);   /* extension case does not matter */
    png_at(root, "train/b/x1.png", 3, PW, PH, 1);
    png_at(root, "test/a/t.png", 5, PW, PH, 1);
    png_at(root, "test/b/t.png", 6, PW, PH, 1);
    char p[512];
    write_bytes(tpath(p, sizeof p, root, "train/a/README.txt"), "not an image", 12);
    write_bytes(tpath(p, sizeof p, root, "train/b/.hidden.png"), "junk", 4);

    Dataset tr, te;
    int rc = data_load_folder(&tr, &te, root, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc == 0) {
        CHECK(tr.kind == DATA_IMAGES && tr.count == 5 && te.count == 2, "counts %d %d", tr.count, te.count);
        CHECK(tr.height == PH && tr.width == PW && tr.channels == 1, "shape %dx%dx%d", tr.height, tr.width, tr.channels);
        CHECK(te.height == PH && te.width == PW && te.channels == 1, "test shape");
        CHECK(tr.num_classes == 2 && te.num_classes == 2, "classes %d", tr.num_classes);
        CHECK(tr.class_names && strcmp(tr.class_names[0], "a") == 0 &&
              strcmp(tr.class_names[1], "b") == 0, "class names");
        CHECK(te.class_names && strcmp(te.class_names[1], "b") == 0, "test names");
        const int want_labels[5] = {0, 0, 1, 1, 1}, want_k[5] = {0, 1, 2, 3, 4};
        for (int i = 0; i < 5 && tr.count == 5; i++) {
            CHECK(tr.labels[i] == want_labels[i], "label %d: %d", i, tr.labels[i]);
            CHECK(pixels_match(&tr, i, want_k[i]), "train image %d pixels", i);
        }
        CHECK(te.count == 2 && te.labels[0] == 0 && te.labels[1] == 1, "test labels");
        CHECK(te.count == 2 && pixels_match(&te, 0, 5) && pixels_match(&te, 1, 6), "test pixels");
    }
    data_free(&tr), data_free(&te);
    remove_tree(root);
}

static void test_folder_rgb(void) {
    char root[64], err[512] = "";
    make_tmpdir(root, sizeof root);
    const char *const classes[] = {"cat", "dog", "emu"};
    make_split_dirs(root, classes, 3);
    int w = 5, h = 3;   /* not square, to catch a swapped height and width */
    png_at(root, "train/cat/1.png", 0, w, h, 3);
    png_at(root, "train/dog/1.png", 1, w, h, 4);   /* RGBA: alpha is dropped */
    png_at(root, "train/emu/1.png", 2, w, h, 3);
    png_at(root, "test/cat/1.png", 3, w, h, 3);
    png_at(root, "test/dog/1.png", 4, w, h, 3);
    {   /* a BMP too (lossless, 3 channels) */
        uint8_t px[5 * 3 * 3];
        for (int r = 0; r < h; r++)
            for (int c = 0; c < w; c++)
                for (int ch = 0; ch < 3; ch++) px[(r * w + c) * 3 + ch] = (uint8_t)(gray_value(5, r, c) + 50 * ch);
        char p[512];
        if (!stbi_write_bmp(tpath(p, sizeof p, root, "test/emu/1.bmp"), w, h, 3, px)) FATAL("bmp");
    }
    Dataset tr, te;
    int rc = data_load_folder(&tr, &te, root, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc == 0) {
        CHECK(tr.count == 3 && te.count == 3 && tr.num_classes == 3, "counts");
        CHECK(tr.height == h && tr.width == w && tr.channels == 3, "shape %dx%dx%d", tr.height, tr.width, tr.channels);
        for (int i = 0; i < 3 && tr.count == 3 && te.count == 3; i++) {
            CHECK(tr.labels[i] == i && te.labels[i] == i, "labels %d", i);
            CHECK(pixels_match(&tr, i, i), "train pixels %d", i);
            CHECK(pixels_match(&te, i, 3 + i), "test pixels %d", i);
        }
    }
    data_free(&tr), data_free(&te);
    remove_tree(root);
}

/* Build a two-class folder dataset, let `spoil` damage it, expect -1 with needle in err. */
static void expect_folder_fails(void (*spoil)(const char *root), const char *needle, const char *needle2) {
    char root[64], err[512] = "", n1[512];
    make_tmpdir(root, sizeof root);
    const char *const classes[] = {"a", "b"};
    make_split_dirs(root, classes, 2);
    png_at(root, "train/a/0.png", 0, PW, PH, 1);
    png_at(root, "train/b/0.png", 1, PW, PH, 1);
    png_at(root, "test/a/0.png", 2, PW, PH, 1);
    png_at(root, "test/b/0.png", 3, PW, PH, 1);
    spoil(root);
    Dataset tr, te;
    int rc = data_load_folder(&tr, &te, root, err, sizeof err);
    CHECK(rc == -1, "should be rejected (needle '%s')", needle);
    CHECK(contains(err, tpath(n1, sizeof n1, root, needle)), "message should contain %s: %s", n1, err);
    CHECK(!needle2 || contains(err, needle2), "message should contain '%s': %s", needle2, err);
    CHECK(tr.pixels == NULL && te.pixels == NULL && tr.count == 0 && te.count == 0, "not zeroed after failure");
    data_free(&tr), data_free(&te);
    remove_tree(root);
}

static void spoil_size(const char *root) { png_at(root, "train/b/1.png", 1, PW - 1, PH, 1); }
static void spoil_channels(const char *root) { png_at(root, "train/b/1.png", 1, PW, PH, 3); }
static void spoil_test_size(const char *root) { png_at(root, "test/b/0.png", 1, PW, PH + 2, 1); }
static void spoil_test_all_larger(const char *root) {   /* every test image, not just one */
    png_at(root, "test/a/0.png", 2, 4 * PW, 4 * PH, 1);
    png_at(root, "test/b/0.png", 3, 4 * PW, 4 * PH, 1);
}
static void spoil_test_all_smaller(const char *root) {
    png_at(root, "test/a/0.png", 2, PW / 2, PH / 2, 1);
    png_at(root, "test/b/0.png", 3, PW / 2, PH / 2, 1);
}
static void spoil_corrupt(const char *root) {
    uint8_t junk[300];
    for (int i = 0; i < 300; i++) junk[i] = (uint8_t)(i * 151 + 7);
    char p[512];
    write_bytes(tpath(p, sizeof p, root, "train/a/1.png"), junk, sizeof junk);
}
static void spoil_truncated_png(const char *root) {
    char p[512];
    size_t len;
    uint8_t *b = read_file(tpath(p, sizeof p, root, "test/a/0.png"), &len);
    write_bytes(tpath(p, sizeof p, root, "test/a/0.png"), b, len / 2);
    free(b);
}
static void spoil_extra_class(const char *root) {
    char p[512];
    make_dir(tpath(p, sizeof p, root, "test/c"));
    png_at(root, "test/c/0.png", 1, PW, PH, 1);
}
static void spoil_missing_class(const char *root) {
    char p[512];
    remove(tpath(p, sizeof p, root, "test/a/0.png"));
    rmdir(tpath(p, sizeof p, root, "test/a"));
}
static void spoil_empty_class(const char *root) {
    char p[512];
    remove(tpath(p, sizeof p, root, "train/b/0.png"));
    write_bytes(tpath(p, sizeof p, root, "train/b/notes.txt"), "x", 1);
}
static void spoil_no_test(const char *root) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/test'", root);
    if (system(cmd) != 0) FATAL("rm");
}
static void spoil_no_classes(const char *root) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/train/a' '%s/train/b'", root, root);
    if (system(cmd) != 0) FATAL("rm");
}

static void test_folder_rejects(void) {
    expect_folder_fails(spoil_size, "train/b/1.png", "6x5x1");
    expect_folder_fails(spoil_size, "train/a/0.png", "6x6x1");  /* the reference image is named too */
    expect_folder_fails(spoil_channels, "train/b/1.png", "6x6x3");
    expect_folder_fails(spoil_test_size, "test/b/0.png", "8x6x1");
    expect_folder_fails(spoil_test_all_larger, "test/a/0.png", "24x24x1");
    expect_folder_fails(spoil_test_all_smaller, "test/a/0.png", "3x3x1");
    expect_folder_fails(spoil_corrupt, "train/a/1.png", "cannot read image");
    expect_folder_fails(spoil_truncated_png, "test/a/0.png", "cannot read image");
    expect_folder_fails(spoil_extra_class, "test", "'c'");
    expect_folder_fails(spoil_missing_class, "test", "'a'");
    expect_folder_fails(spoil_empty_class, "train/b", "empty class");
    expect_folder_fails(spoil_no_test, "test", "cannot open directory");
    expect_folder_fails(spoil_no_classes, "train", "no class");
    char err[512] = "";
    Dataset tr, te;
    CHECK(data_load_folder(&tr, &te, "/nonexistent/root", err, sizeof err) == -1, "missing root");
    CHECK(contains(err, "/nonexistent/root/train"), "%s", err);
}

/* ---------------------------------------------------------------- patches and gathers */

static void test_patches_gray(void) {
    uint8_t px[2 * 16];
    for (int i = 0; i < 16; i++) px[i] = (uint8_t)(i * 10), px[16 + i] = (uint8_t)(100 + i);
    Dataset ds = {.kind = DATA_IMAGES, .count = 2, .height = 4, .width = 4, .channels = 1, .pixels = px};
    /* Image 0 is 10 * (r*4 + c); patch 2 gives 4 patches of 4 values, by hand: */
    const float want0[16] = {0, 10, 40, 50, 20, 30, 60, 70, 80, 90, 120, 130, 100, 110, 140, 150};
    const float want1[16] = {100, 101, 104, 105, 102, 103, 106, 107, 108, 109, 112, 113, 110, 111, 114, 115};
    const int32_t idx[3] = {1, 0, 1};
    float out[3 * 16];
    data_patches(out, &ds, idx, 3, 2, 1);
    for (int j = 0; j < 16; j++) {
        CHECK(out[j] == want1[j] / 255.0f, "b0 [%d]: %g want %g", j, out[j], want1[j] / 255.0f);
        CHECK(out[16 + j] == want0[j] / 255.0f, "b1 [%d]: %g", j, out[16 + j]);
        CHECK(out[32 + j] == want1[j] / 255.0f, "b2 [%d]: %g", j, out[32 + j]);
    }
    data_patches(out, &ds, idx + 1, 1, 4, 1);    /* one patch = the whole image, row-major */
    for (int j = 0; j < 16; j++) CHECK(out[j] == px[j] / 255.0f, "p4 [%d]", j);
    data_patches(out, &ds, idx + 1, 1, 1, 1);    /* patch 1 = pixels in order */
    for (int j = 0; j < 16; j++) CHECK(out[j] == px[j] / 255.0f, "p1 [%d]", j);
    px[15] = 255;
    data_patches(out, &ds, idx + 1, 1, 2, 1);
    CHECK(out[15] == 1.0f, "255 maps to 1, got %g", out[15]);
}

static void test_patches_rgb(void) {
    uint8_t px[48];
    for (int i = 0; i < 48; i++) px[i] = (uint8_t)i;   /* value = r*12 + c*3 + ch */
    Dataset ds = {.kind = DATA_IMAGES, .count = 1, .height = 4, .width = 4, .channels = 3, .pixels = px};
    /* Each patch: (r,c) = (0,0),(0,1),(1,0),(1,1) within the patch, 3 channels each. */
    const float want[4][12] = {
        {0, 1, 2, 3, 4, 5, 12, 13, 14, 15, 16, 17},
        {6, 7, 8, 9, 10, 11, 18, 19, 20, 21, 22, 23},
        {24, 25, 26, 27, 28, 29, 36, 37, 38, 39, 40, 41},
        {30, 31, 32, 33, 34, 35, 42, 43, 44, 45, 46, 47},
    };
    const int32_t idx[1] = {0};
    float out[48];
    data_patches(out, &ds, idx, 1, 2, 1);
    for (int q = 0; q < 4; q++)
        for (int j = 0; j < 12; j++)
            CHECK(out[q * 12 + j] == want[q][j] / 255.0f, "patch %d [%d]: %g want %g",
                  q, j, out[q * 12 + j] * 255, want[q][j]);
}

static void test_tokens_labels(void) {
    int32_t tok[3 * 4] = {0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23}, lab[3] = {7, 8, 9};
    Dataset ds = {.kind = DATA_SEQUENCES, .count = 3, .seq_len = 4, .vocab = 30, .tokens = tok, .labels = lab};
    const int32_t idx[4] = {2, 0, 2, 1};
    int32_t out[16], outl[4];
    data_tokens(out, &ds, idx, 4);
    data_labels(outl, &ds, idx, 4);
    for (int b = 0; b < 4; b++) {
        CHECK(outl[b] == lab[idx[b]], "label %d", b);
        for (int t = 0; t < 4; t++) CHECK(out[b * 4 + t] == tok[idx[b] * 4 + t], "token %d,%d", b, t);
    }
    Dataset zero = {0};
    data_free(&zero);
    data_free(&zero);
    CHECK(zero.tokens == NULL && zero.count == 0, "data_free on a zeroed struct");
}

/* ---------------------------------------------------------------- synthetic tasks */

/* The unique most frequent symbol, or -1 if the maximum is shared. */
static int majority_of(const int32_t *tok, int T, int V) {
    int counts[64] = {0}, best = -1, tie = 0;
    for (int t = 0; t < T; t++) counts[tok[t]]++;
    for (int v = 0; v < V; v++) {
        if (best < 0 || counts[v] > counts[best]) best = v, tie = 0;
        else if (counts[v] == counts[best]) tie = 1;
    }
    return tie ? -1 : best;
}

static int repeat_of(const int32_t *tok, int T) {
    for (int t = 1; t < T; t++)
        if (tok[t] == tok[0]) return 1;
    return 0;
}

/* Tokens in range, labels recomputed from tokens; returns the share of each class. */
static void check_synthetic(const Dataset *ds, int is_majority, double *share, const char *what) {
    int bad_tok = 0, bad_label = 0, T = ds->seq_len, V = ds->vocab;
    for (int c = 0; c < ds->num_classes; c++) share[c] = 0;
    for (int i = 0; i < ds->count; i++) {
        const int32_t *tok = ds->tokens + (size_t)i * T;
        for (int t = 0; t < T; t++) bad_tok += tok[t] < 0 || tok[t] >= V;
        int want = is_majority ? majority_of(tok, T, V) : repeat_of(tok, T);
        bad_label += ds->labels[i] != want;
        if (ds->labels[i] >= 0 && ds->labels[i] < ds->num_classes) share[ds->labels[i]] += 1.0 / ds->count;
    }
    CHECK(ds->kind == DATA_SEQUENCES, "%s: kind", what);
    CHECK(bad_tok == 0, "%s: %d tokens out of range", what, bad_tok);
    CHECK(bad_label == 0, "%s: %d labels disagree with the tokens", what, bad_label);
}

static void test_synthetic_majority(void) {
    Dataset tr, te;
    char err[256] = "";
    int rc = data_synthetic(&tr, &te, "majority", 3000, 500, 9, 5, 42, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc) return;
    CHECK(tr.count == 3000 && te.count == 500 && tr.seq_len == 9 && tr.vocab == 5, "sizes");
    CHECK(tr.num_classes == 5 && te.num_classes == 5, "num_classes %d", tr.num_classes);
    double share[5];
    check_synthetic(&te, 1, share, "test");
    check_synthetic(&tr, 1, share, "train");
    for (int c = 0; c < 5; c++) CHECK(share[c] > 0.15 && share[c] < 0.25, "class %d share %.3f", c, share[c]);
    data_free(&tr), data_free(&te);
    /* the smallest case: two tokens, so every sequence must be a repeated symbol */
    rc = data_synthetic(&tr, &te, "majority", 50, 5, 2, 3, 1, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc == 0) check_synthetic(&tr, 1, share, "seq_len 2");
    data_free(&tr), data_free(&te);
}

static void test_synthetic_repeat(void) {
    Dataset tr, te;
    char err[256] = "";
    int rc = data_synthetic(&tr, &te, "repeat", 5000, 1000, 8, 6, 7, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    if (rc) return;
    CHECK(tr.num_classes == 2 && te.num_classes == 2, "num_classes %d", tr.num_classes);
    double share[2];
    check_synthetic(&te, 0, share, "test");
    CHECK(share[1] > 0.4 && share[1] < 0.6, "test share of label 1: %.3f", share[1]);
    check_synthetic(&tr, 0, share, "train");
    CHECK(share[1] > 0.4 && share[1] < 0.6, "train share of label 1: %.3f", share[1]);
    /* Without balancing, P(repeat) = 1 - (5/6)^7 = 0.72: check the position of the repeat
       is spread out, i.e. the generator does not always put it at position 1. */
    int at1_only = 0, positive = 0;
    for (int i = 0; i < tr.count; i++) {
        const int32_t *tok = tr.tokens + (size_t)i * 8;
        if (!tr.labels[i]) continue;
        positive++;
        int later = 0;
        for (int t = 2; t < 8; t++) later |= tok[t] == tok[0];
        at1_only += !later;
    }
    CHECK(at1_only < positive / 2, "%d of %d repeats only at position 1", at1_only, positive);
    data_free(&tr), data_free(&te);
    rc = data_synthetic(&tr, &te, "repeat", 400, 10, 5, 2, 3, err, sizeof err);   /* vocab 2 */
    CHECK(rc == 0, "%s", err);
    if (rc == 0) check_synthetic(&tr, 0, share, "vocab 2");
    data_free(&tr), data_free(&te);
}

static int same_tokens(const Dataset *a, const Dataset *b) {
    return a->count == b->count && a->seq_len == b->seq_len &&
           memcmp(a->tokens, b->tokens, (size_t)a->count * a->seq_len * sizeof *a->tokens) == 0 &&
           memcmp(a->labels, b->labels, (size_t)a->count * sizeof *a->labels) == 0;
}

static void test_synthetic_determinism(void) {
    for (int k = 0; k < 2; k++) {
        const char *task = DATA_SYNTHETIC_TASKS[k];
        Dataset a1, a2, b1, b2, c1, c2;
        char err[256] = "";
        int rc = data_synthetic(&a1, &a2, task, 200, 200, 10, 4, 123, err, sizeof err);
        rc |= data_synthetic(&b1, &b2, task, 200, 200, 10, 4, 123, err, sizeof err);
        rc |= data_synthetic(&c1, &c2, task, 200, 200, 10, 4, 124, err, sizeof err);
        CHECK(rc == 0, "%s: %s", task, err);
        if (rc == 0) {
            CHECK(same_tokens(&a1, &b1) && same_tokens(&a2, &b2), "%s: same seed must give the same data", task);
            CHECK(!same_tokens(&a1, &c1) && !same_tokens(&a2, &c2), "%s: another seed must give other data", task);
            CHECK(!same_tokens(&a1, &a2), "%s: train and test must differ", task);
        }
        data_free(&a1), data_free(&a2), data_free(&b1), data_free(&b2), data_free(&c1), data_free(&c2);
    }
    CHECK(DATA_SYNTHETIC_TASKS[2] == NULL, "two tasks");
}

static void expect_synthetic_fails(const char *task, int ntr, int nte, int T, int V, const char *needle) {
    Dataset tr, te;
    char err[256] = "";
    int rc = data_synthetic(&tr, &te, task, ntr, nte, T, V, 1, err, sizeof err);
    CHECK(rc == -1, "task %s T=%d V=%d n=%d,%d should fail", task ? task : "NULL", T, V, ntr, nte);
    CHECK(contains(err, needle), "message should contain '%s': %s", needle, err);
    CHECK(tr.tokens == NULL && te.tokens == NULL, "outputs zeroed");
}

static void test_synthetic_rejects(void) {
    expect_synthetic_fails("parity", 10, 10, 8, 4, "known tasks: majority, repeat");
    expect_synthetic_fails(NULL, 10, 10, 8, 4, "known tasks");
    expect_synthetic_fails("majority", 10, 10, 1, 4, "seq_len");
    expect_synthetic_fails("repeat", 10, 10, 8, 1, "vocab");
    expect_synthetic_fails("repeat", 0, 10, 8, 4, "counts");
    expect_synthetic_fails("majority", 10, -1, 8, 4, "counts");
}

/* task.h: the model's input shape from the data, and a batch of its examples. */
static void test_task_shape_and_batch(void) {
    char err[256] = "";
    int patch = -1;
    ModelShape s = {0};
    Dataset img = {.kind = DATA_IMAGES, .count = 2, .num_classes = 3, .height = 4, .width = 6,
                   .channels = 1};
    CHECK(task_input_shape(&s, &patch, &img, 2, err, sizeof err) == 0 && patch == 2 &&
          s.n == 6 && s.in_dim == 4 && !s.tokens_input, "4x6 by 2: n %d, in_dim %d, %s", s.n, s.in_dim, err);
    CHECK(task_input_shape(&s, &patch, &img, 4, err, sizeof err) != 0 &&
          strstr(err, "--patch 4 does not divide the 4x6 images"), "got: %s", err);
    img.width = 4;
    CHECK(task_input_shape(&s, &patch, &img, 4, err, sizeof err) != 0 &&
          strstr(err, "leaves a single token"), "got: %s", err);
    int32_t tokens[2 * 3] = {0, 1, 2, 2, 1, 0}, labels[2] = {1, 0};
    Dataset seq = {.kind = DATA_SEQUENCES, .count = 2, .num_classes = 2, .labels = labels,
                   .seq_len = 3, .vocab = 5, .tokens = tokens};
    CHECK(task_input_shape(&s, &patch, &seq, 7, err, sizeof err) == 0 && patch == 0 &&
          s.n == 3 && s.in_dim == 5 && s.tokens_input, "sequences: n %d, in_dim %d", s.n, s.in_dim);
    TaskBatch b;
    task_batch_alloc(&b, &s, patch, 2);
    int32_t idx[2] = {1, 0};
    task_batch_fill(&b, &seq, idx, 2);
    CHECK(!b.patches && b.tokens[0] == 2 && b.tokens[2] == 0 && b.tokens[3] == 0 &&
          b.labels[0] == 0 && b.labels[1] == 1, "the batch holds examples 1, 0 in order");
    task_batch_free(&b);
}

/* PNG files written by Python's zlib (a PNG of zeros compresses 1000 to 1): ROOT/SPLIT/a/x.png
   28x28 and ROOT/train/b/huge.png declaring 30000x30000 in 875 KB, ROOT/test/b/y.png 28x28. */
static const char HUGE_PNG_SCRIPT[] =
    "import os, struct, sys, zlib\n"
    "def png(path, w, h):\n"
    "    os.makedirs(os.path.dirname(path), exist_ok=True)\n"
    "    def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))\n"
    "    co, row = zlib.compressobj(9), bytes(w + 1)\n"
    "    data = b''.join(co.compress(row) for _ in range(h)) + co.flush()\n"
    "    with open(path, 'wb') as f:\n"
    "        f.write(b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0))\n"
    "                + chunk(b'IDAT', data) + chunk(b'IEND', b''))\n"
    "r = sys.argv[1]\n"
    "for split in ('train', 'test'): png(r + '/' + split + '/a/x.png', 28, 28)\n"
    "png(r + '/train/b/huge.png', 30000, 30000)\n"
    "png(r + '/test/b/y.png', 28, 28)\n";

/* An image folder whose second image is a small file declaring 30000x30000 pixels: the
   images' sizes are read from their headers and checked before any is decoded, so it is
   refused naming the file and its size, instead of costing 1.8 GB to decode first (here,
   under a 1.2 GB address-space limit, decoding it would run out of memory). */
static void test_data_folder_header_checked_before_decoding(void) {
    char root[256], script[300], cmd[2048];
    static char out[1 << 14];
    make_temp_dir(root, sizeof root);
    snprintf(script, sizeof script, "%s/make_pngs.py", root);
    FILE *f = fopen(script, "w");
    if (f) fputs(HUGE_PNG_SCRIPT, f), fclose(f);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s/data", script, root);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "PNGs written: %s", out);
    snprintf(cmd, sizeof cmd, "ulimit -v 1200000; ./train --dataset folder --data-dir %s/data --patch 4 "
             "--d 8 --layers 1 --batch 1 --steps 1 --threads 1 --run-dir %s/run", root, root);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 1 && strstr(out, "huge.png: image is 30000x30000x1 but") && !strstr(out, "outofmem"),
          "refused from its header, naming it: exit %d: %s", rc, out);
    snprintf(cmd, sizeof cmd, "%s/run", root);
    CHECK(!file_exists(cmd), "no run directory");
}

SUITE(data_tests) = {
    {"data_folder_header_checked_before_decoding", test_data_folder_header_checked_before_decoding},
    {"data_task_shape_and_batch", test_task_shape_and_batch},
    {"data_idx_parse", test_idx_parse},
    {"data_idx_large_gzip", test_idx_large_gzip},
    {"data_idx_gzip_stream_ends", test_idx_gzip_stream_ends},
    {"data_idx_load_dir", test_idx_load_dir},
    {"data_idx_rejects_corrupt", test_idx_rejects_corrupt},
    {"data_idx_split_mismatch", test_idx_split_mismatch},
    {"data_fashion_mnist", test_fashion_mnist},
    {"data_folder_gray", test_folder_gray},
    {"data_folder_rgb", test_folder_rgb},
    {"data_folder_rejects", test_folder_rejects},
    {"data_patches_gray", test_patches_gray},
    {"data_patches_rgb", test_patches_rgb},
    {"data_tokens_labels", test_tokens_labels},
    {"data_synthetic_majority", test_synthetic_majority},
    {"data_synthetic_repeat", test_synthetic_repeat},
    {"data_synthetic_determinism", test_synthetic_determinism},
    {"data_synthetic_rejects", test_synthetic_rejects},
    END_SUITE,
};
