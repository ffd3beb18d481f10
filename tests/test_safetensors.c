/* safetensors: bit-exact round trips, the on-disk layout, and rejection of corrupt files. */
#define _POSIX_C_SOURCE 200809L   /* mkdtemp */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "safetensors.h"
#include "util.h"

/* A fresh directory under /tmp per test, so parallel runs never share files. */
typedef struct { char dir[64], path[128]; } TmpFile;

static void tmp_open(TmpFile *t, const char *name) {
    strcpy(t->dir, "/tmp/test_st_XXXXXX");
    if (!mkdtemp(t->dir)) FATAL("mkdtemp failed");
    snprintf(t->path, sizeof t->path, "%s/%s", t->dir, name);
}

static void tmp_close(TmpFile *t) {
    remove(t->path);
    rmdir(t->dir);
}

/* Writes an 8-byte little-endian size (declared, or the header's length if declared < 0),
   the header text, then data_bytes bytes of float data 0, 1, 2, ... */
static void write_raw(const char *path, long long declared, const char *header, size_t data_bytes) {
    size_t hlen = strlen(header), total = 8 + hlen + data_bytes;
    uint64_t n = declared < 0 ? hlen : (uint64_t)declared;
    uint8_t *buf = xcalloc(total, 1);
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)(n >> (8 * i));
    memcpy(buf + 8, header, hlen);
    for (size_t i = 0; i + 4 <= data_bytes; i += 4) {
        float f = (float)(i / 4);
        memcpy(buf + 8 + hlen + i, &f, 4);
    }
    char err[256];
    if (write_file_atomic(path, buf, total, err, sizeof err)) FATAL("%s", err);
    free(buf);
}

/* st_read must fail with one line "path: ..." that mentions `needle`, leaving f empty. */
static void expect_reject(const char *path, const char *needle, const char *what) {
    StFile f;
    char err[512] = "";
    int rc = st_read(&f, path, err, sizeof err);
    size_t plen = strlen(path);
    CHECK(rc == -1, "%s: st_read accepted a bad file", what);
    CHECK(strncmp(err, path, plen) == 0 && strncmp(err + plen, ": ", 2) == 0,
          "%s: error does not start with the path: '%s'", what, err);
    CHECK(strstr(err, needle) != NULL, "%s: error '%s' does not mention '%s'", what, err, needle);
    CHECK(strchr(err, '\n') == NULL, "%s: error is not one line", what);
    CHECK(f.file == NULL && f.entries == NULL && f.meta == NULL, "%s: f not left empty", what);
    if (rc == 0) st_free(&f);
}

/* Writes a crafted file and expects st_read to reject it. */
static void reject_crafted(const char *header, long long declared, size_t data_bytes,
                           const char *needle, const char *what) {
    TmpFile t;
    tmp_open(&t, "bad.safetensors");
    write_raw(t.path, declared, header, data_bytes);
    expect_reject(t.path, needle, what);
    tmp_close(&t);
}

static int same_bits(const float *a, const float *b, size_t n) {
    return memcmp(a, b, n * sizeof(float)) == 0;
}

static void test_roundtrip_bit_exact(void) {
    float a[5] = {1.0f, -0.0f, 1e-45f, INFINITY, 3.14159274f};
    float b[3 * 4], c[1 * 7], back[12];
    for (int i = 0; i < 12; i++) b[i] = (float)i * 0.1f - 0.55f;
    for (int i = 0; i < 7; i++) c[i] = -1e30f * (float)(i + 1);
    b[5] = nanf("");
    StTensor ts[4] = {
        {"layers.0.q", b, 2, {3, 4}}, {"head.bias", a, 1, {5, 0}},
        {"pos", c, 2, {1, 7}}, {"empty", NULL, 1, {0, 0}},
    };
    StMeta meta[3] = {{"d", "64"}, {"dataset", "say \"hi\" \\ tab\t nl\n end"}, {"alpha", "sqrt"}};
    TmpFile t;
    tmp_open(&t, "model.safetensors");
    char err[256] = "";
    CHECK(st_write(t.path, ts, 4, meta, 3, err, sizeof err) == 0, "st_write: %s", err);
    StFile f;
    if (st_read(&f, t.path, err, sizeof err) != 0) {
        CHECK(0, "st_read: %s", err);
        tmp_close(&t);
        return;
    }
    CHECK(f.count == 4 && f.meta_count == 3, "count %d, meta_count %d", f.count, f.meta_count);
    for (int i = 0; i < 4; i++) {
        const struct StEntry *e = st_find(&f, ts[i].name);
        CHECK(e && e->ndim == ts[i].ndim && e->shape[0] == ts[i].shape[0], "entry %s", ts[i].name);
        if (e && ts[i].ndim == 2) CHECK(e->shape[1] == ts[i].shape[1], "shape[1] of %s", ts[i].name);
    }
    CHECK(st_get(&f, "layers.0.q", back, 12) == 0 && same_bits(back, b, 12), "layers.0.q bits");
    CHECK(st_get(&f, "head.bias", back, 5) == 0 && same_bits(back, a, 5), "head.bias bits");
    CHECK(st_get(&f, "pos", back, 7) == 0 && same_bits(back, c, 7), "pos bits");
    CHECK(st_get(&f, "empty", back, 0) == 0, "empty tensor");
    CHECK(st_get(&f, "pos", back, 6) == -1, "st_get with a wrong element count must fail");
    CHECK(st_get(&f, "nope", back, 7) == -1 && st_find(&f, "nope") == NULL, "unknown tensor");
    for (int i = 0; i < 3; i++) {
        const char *v = st_meta(&f, meta[i].key);
        CHECK(v && strcmp(v, meta[i].value) == 0, "meta %s = '%s'", meta[i].key, v ? v : "(null)");
    }
    CHECK(st_meta(&f, "beta") == NULL, "absent metadata key");
    st_free(&f);
    tmp_close(&t);
}

/* For every padding length: 8 + N is a multiple of 8, the padding is spaces, metadata comes
   first, and the file is exactly 8 + N + 4 * elements long. */
static void test_header_aligned(void) {
    float x[3] = {1, 2, 3};
    StTensor ts[2] = {{"a", x, 1, {3, 0}}, {"b", x, 2, {1, 2}}};
    TmpFile t;
    tmp_open(&t, "aligned.safetensors");
    for (int extra = 0; extra < 9; extra++) {
        char value[16] = "";
        memset(value, 'v', (size_t)extra);
        StMeta meta = {"k", value};
        char err[256] = "";
        CHECK(st_write(t.path, ts, 2, &meta, 1, err, sizeof err) == 0, "st_write: %s", err);
        size_t len = 0;
        uint8_t *buf = read_whole_file(t.path, &len, err, sizeof err);
        if (!buf) { CHECK(0, "%s", err); continue; }
        uint64_t n = 0;
        for (int i = 0; i < 8; i++) n |= (uint64_t)buf[i] << (8 * i);
        CHECK((8 + n) % 8 == 0, "8 + N = %llu is not a multiple of 8", (unsigned long long)(8 + n));
        CHECK(len == 8 + n + 4 * 5, "file length %zu, want %llu", len, (unsigned long long)(8 + n + 20));
        CHECK(memcmp(buf + 8, "{\"__metadata__\":{\"k\":", 21) == 0, "metadata is not first");
        size_t close = (size_t)n;
        while (close > 0 && buf[8 + close - 1] == ' ') close--;
        CHECK(close > 0 && buf[8 + close - 1] == '}' && n - close < 8, "padding: %zu spaces", (size_t)n - close);
        CHECK(strstr((char *)buf + 8, "\"data_offsets\":[12,20]") != NULL, "b's offsets are not contiguous");
        free(buf);
    }
    tmp_close(&t);
}

static void test_rejects_truncated_data(void) {
    float x[64] = {0};
    StTensor ts[1] = {{"w", x, 2, {8, 8}}};
    TmpFile t;
    tmp_open(&t, "cut.safetensors");
    char err[256] = "";
    CHECK(st_write(t.path, ts, 1, NULL, 0, err, sizeof err) == 0, "st_write: %s", err);
    size_t len = 0;
    uint8_t *buf = read_whole_file(t.path, &len, err, sizeof err);
    if (buf) {
        CHECK(write_file_atomic(t.path, buf, len - 4, err, sizeof err) == 0, "%s", err);
        expect_reject(t.path, "truncated", "data cut by 4 bytes");
        free(buf);
    }
    tmp_close(&t);
}

static void test_rejects_header_longer_than_file(void) {
    reject_crafted("{}      ", 1234, 92, "header declares 1234 bytes", "declared 1234 bytes");
    reject_crafted("", 0, 0, "invalid JSON", "8-byte file with an empty header");
    TmpFile t;
    char err[256];
    tmp_open(&t, "tiny.safetensors");
    CHECK(write_file_atomic(t.path, "\x10\0\0", 3, err, sizeof err) == 0, "%s", err);
    expect_reject(t.path, "truncated", "3-byte file");
    tmp_close(&t);
    expect_reject("/tmp/no/such/dir/x.safetensors", "cannot open", "missing file");
}

static void test_rejects_invalid_json(void) {
    const char *bad[] = {
        "{\"w\": }", "{\"w\" 1}", "{\"w\": [1, 2}", "{\"w\": \"abc}", "{\"w\": tru}",
        "{\"w\": 01}", "{\"w\": 1.}", "{\"w\": \"\\x\"}", "{\"w\": \"\\ud800\"}",
        "{\"w\": {}} x", "{\"w\": {},}", "{", "{\"a\": \"tab\tinside\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        reject_crafted(bad[i], -1, 0, "invalid JSON", bad[i]);
    reject_crafted("[1, 2]", -1, 0, "not a JSON object", "array header");
    char deep[300];
    memset(deep, '[', sizeof deep - 1);
    deep[sizeof deep - 1] = 0;
    reject_crafted(deep, -1, 0, "too deep", "deep nesting");
}

static void test_rejects_offsets_out_of_range(void) {
    reject_crafted("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", -1, 8,
                   "'w' ends at byte 16", "end beyond data");
    reject_crafted("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", -1, 8,
                   "end before they begin", "end < begin");
    reject_crafted("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,-8]}}", -1, 8,
                   "data_offsets", "negative offset");
}

static void test_rejects_wrong_dtype(void) {
    reject_crafted("{\"x\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", -1, 4,
                   "tensor 'x' has dtype F16, only F32 is supported", "F16");
    reject_crafted("{\"x\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}}", -1, 8,
                   "dtype", "numeric dtype");
}

static void test_rejects_shape_offset_mismatch(void) {
    reject_crafted("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", -1, 8,
                   "3 elements (12 bytes) by its shape but data_offsets span 8", "3 floats in 8 bytes");
    reject_crafted("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2.5],\"data_offsets\":[0,16]}}", -1, 16,
                   "non-negative integer", "fractional dimension");
    reject_crafted("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", -1, 8,
                   "non-negative integer", "negative dimension");
}

static void test_rejects_bad_rank(void) {
    reject_crafted("{\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", -1, 4,
                   "has 0 dimensions, only 1-D and 2-D", "scalar");
    reject_crafted("{\"t\":{\"dtype\":\"F32\",\"shape\":[1,1,2],\"data_offsets\":[0,8]}}", -1, 8,
                   "has 3 dimensions, only 1-D and 2-D", "3-D");
}

/* Tensors must tile the data section: no gaps, overlaps or trailing bytes. */
static void test_rejects_gaps_and_overlaps(void) {
    reject_crafted("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                   "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", -1, 12,
                   "overlap or leave a gap", "gap");
    reject_crafted("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                   "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", -1, 12,
                   "overlap or leave a gap", "overlap");
    reject_crafted("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", -1, 8,
                   "data section has 8 bytes but the tensors cover 4", "trailing bytes");
    reject_crafted("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                   "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", -1, 8,
                   "twice", "duplicate name");
}

static void test_rejects_bad_metadata(void) {
    reject_crafted("{\"__metadata__\":{\"d\":64}}", -1, 0, "value of 'd' is not a string", "number");
    reject_crafted("{\"__metadata__\":[\"d\"]}", -1, 0, "__metadata__ is not an object", "array");
}

/* A hand-written header using escapes, \u code points, extra keys and every JSON type,
   in the key order another writer might choose (tensors before metadata, reverse offsets). */
static void test_reads_foreign_header(void) {
    const char *header =
        " {\n \"b\" : {\"data_offsets\": [8, 16], \"shape\": [1, 2], \"dtype\": \"F32\","
        " \"extra\": [true, false, null, -1.5e3, 0, {\"x\": []}]},\n"
        " \"__metadata__\": {\"caf\\u00e9\": \"\\ud83d\\ude00 \\u0394 \\\"q\\\" \\/ \\\\\"},\n"
        " \"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]} }  ";
    TmpFile t;
    tmp_open(&t, "foreign.safetensors");
    write_raw(t.path, -1, header, 16);
    StFile f;
    char err[256] = "";
    if (st_read(&f, t.path, err, sizeof err) != 0) {
        CHECK(0, "st_read: %s", err);
        tmp_close(&t);
        return;
    }
    float a[2], b[2];
    CHECK(st_get(&f, "a", a, 2) == 0 && a[0] == 0 && a[1] == 1, "a = %g %g", a[0], a[1]);
    CHECK(st_get(&f, "b", b, 2) == 0 && b[0] == 2 && b[1] == 3, "b = %g %g", b[0], b[1]);
    const char *v = st_meta(&f, "caf\xc3\xa9");
    CHECK(v && strcmp(v, "\xf0\x9f\x98\x80 \xce\x94 \"q\" / \\") == 0, "decoded metadata '%s'", v ? v : "(null)");
    st_free(&f);
    tmp_close(&t);
}

/* The writer refuses what the reader would reject, and leaves no file behind. */
static void test_write_rejects_bad_tensors(void) {
    float x[8] = {0};
    char longname[128];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    StTensor bad[3][2] = {
        {{"a", x, 3, {2, 2}}, {"b", x, 1, {1, 0}}},
        {{"a", x, 1, {2, 0}}, {"a", x, 1, {2, 0}}},
        {{longname, x, 1, {2, 0}}, {"b", x, 1, {1, 0}}},
    };
    TmpFile t;
    tmp_open(&t, "refused.safetensors");
    for (int i = 0; i < 3; i++) {
        char err[512] = "";
        CHECK(st_write(t.path, bad[i], 2, NULL, 0, err, sizeof err) == -1, "case %d accepted", i);
        CHECK(strncmp(err, t.path, strlen(t.path)) == 0, "case %d: error '%s' lacks the path", i, err);
        CHECK(!file_exists(t.path), "case %d left a file", i);
    }
    tmp_close(&t);
}

SUITE(safetensors_tests) = {
    {"st_roundtrip_bit_exact", test_roundtrip_bit_exact},
    {"st_header_aligned", test_header_aligned},
    {"st_rejects_truncated_data", test_rejects_truncated_data},
    {"st_rejects_header_longer_than_file", test_rejects_header_longer_than_file},
    {"st_rejects_invalid_json", test_rejects_invalid_json},
    {"st_rejects_offsets_out_of_range", test_rejects_offsets_out_of_range},
    {"st_rejects_wrong_dtype", test_rejects_wrong_dtype},
    {"st_rejects_shape_offset_mismatch", test_rejects_shape_offset_mismatch},
    {"st_rejects_bad_rank", test_rejects_bad_rank},
    {"st_rejects_gaps_and_overlaps", test_rejects_gaps_and_overlaps},
    {"st_rejects_bad_metadata", test_rejects_bad_metadata},
    {"st_reads_foreign_header", test_reads_foreign_header},
    {"st_write_rejects_bad_tensors", test_write_rejects_bad_tensors},
    END_SUITE
};
