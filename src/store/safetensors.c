/* Minimal safetensors (F32 only): a writer, and a reader that validates every field.
   Format (https://github.com/huggingface/safetensors): u64 little-endian header size N,
   N bytes of UTF-8 JSON, then the tensor bytes. Data offsets are relative to the end of the
   header; tensors must tile the data section exactly (no gaps, no overlaps, no tail).
   Numbers are encoded byte by byte as little-endian, so the files are the same on any host.
   After st_read, StEntry.begin/end are byte offsets into StFile.file (absolute), not the
   header's data_offsets (which are relative to the data section). */
#include "safetensors.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"

/* ---------- little-endian encoding ---------- */

static void put_u64_le(uint8_t *p, uint64_t x) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(x >> (8 * i));
}

static uint64_t get_u64_le(const uint8_t *p) {
    uint64_t x = 0;
    for (int i = 0; i < 8; i++) x |= (uint64_t)p[i] << (8 * i);
    return x;
}

static void put_f32_le(uint8_t *p, float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(x >> (8 * i));
}

static float get_f32_le(const uint8_t *p) {
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) x |= (uint32_t)p[i] << (8 * i);
    float f;
    memcpy(&f, &x, 4);
    return f;
}

/* ---------- writer ---------- */

/* Growable byte buffer for the header text. */
typedef struct { char *s; size_t len, cap; } Buf;

static void buf_reserve(Buf *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return;
    while (b->len + extra + 1 > b->cap) b->cap = b->cap ? 2 * b->cap : 256;
    b->s = realloc(b->s, b->cap);
    if (!b->s) FATAL("out of memory building a safetensors header");
}

static void buf_putc(Buf *b, char c) {
    buf_reserve(b, 1);
    b->s[b->len++] = c;
    b->s[b->len] = 0;
}

static void buf_printf(Buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    buf_reserve(b, (size_t)need);
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)need + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)need;
}

/* s as a JSON string literal (json_quote). */
static void buf_put_json_string(Buf *b, const char *s) {
    size_t n = json_quote(NULL, 0, s);
    buf_reserve(b, n);
    json_quote(b->s + b->len, n + 1, s);
    b->len += n;
}

/* Element count of t, or -1 if the shape is invalid or the byte size overflows. */
static int64_t tensor_numel(const StTensor *t) {
    if (t->ndim < 1 || t->ndim > 2) return -1;
    int64_t numel = 1;
    for (int i = 0; i < t->ndim; i++) {
        if (t->shape[i] < 0) return -1;
        if (t->shape[i] != 0 && numel > INT64_MAX / 4 / t->shape[i]) return -1;
        numel *= t->shape[i];
    }
    return numel;
}

/* Checks what the reader would reject, so a written file always reads back. */
static int check_tensors(const char *path, const StTensor *tensors, int count, char *err,
                         size_t errlen) {
    for (int i = 0; i < count; i++) {
        const StTensor *t = &tensors[i];
        if (!t->name || !*t->name || strlen(t->name) >= sizeof(((struct StEntry *)0)->name)) {
            snprintf(err, errlen, "%s: tensor %d has an empty or too long name", path, i);
            return -1;
        }
        if (strcmp(t->name, "__metadata__") == 0 || tensor_numel(t) < 0) {
            snprintf(err, errlen, "%s: tensor '%s' has a reserved name or an invalid shape "
                     "(only 1-D and 2-D are supported)", path, t->name);
            return -1;
        }
        if (!t->data && tensor_numel(t) > 0) {
            snprintf(err, errlen, "%s: tensor '%s' has no data", path, t->name);
            return -1;
        }
        for (int j = 0; j < i; j++)
            if (strcmp(tensors[j].name, t->name) == 0) {
                snprintf(err, errlen, "%s: tensor name '%s' appears twice", path, t->name);
                return -1;
            }
    }
    return 0;
}

/* Header JSON: metadata first, then the tensors in order with contiguous offsets; padded
   with spaces so that 8 + N is a multiple of 8 and the data section is 8-byte aligned. */
static void build_header(Buf *b, const StTensor *tensors, int count, const StMeta *meta,
                         int meta_count) {
    buf_putc(b, '{');
    if (meta_count > 0) {
        buf_printf(b, "\"__metadata__\":{");
        for (int i = 0; i < meta_count; i++) {
            if (i) buf_putc(b, ',');
            buf_put_json_string(b, meta[i].key);
            buf_putc(b, ':');
            buf_put_json_string(b, meta[i].value);
        }
        buf_putc(b, '}');
    }
    uint64_t offset = 0;
    for (int i = 0; i < count; i++) {
        const StTensor *t = &tensors[i];
        uint64_t bytes = 4 * (uint64_t)tensor_numel(t);
        if (meta_count > 0 || i > 0) buf_putc(b, ',');
        buf_put_json_string(b, t->name);
        buf_printf(b, ":{\"dtype\":\"F32\",\"shape\":[%" PRId64, t->shape[0]);
        if (t->ndim == 2) buf_printf(b, ",%" PRId64, t->shape[1]);
        buf_printf(b, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", offset, offset + bytes);
        offset += bytes;
    }
    buf_putc(b, '}');
    while ((8 + b->len) % 8) buf_putc(b, ' ');
}

int st_write(const char *path, const StTensor *tensors, int count,
             const StMeta *meta, int meta_count, char *err, size_t errlen) {
    if (check_tensors(path, tensors, count, err, errlen)) return -1;
    for (int i = 0; i < meta_count; i++)
        if (!meta[i].key || !meta[i].value) {
            snprintf(err, errlen, "%s: metadata entry %d has a NULL key or value", path, i);
            return -1;
        }
    Buf header = {0};
    build_header(&header, tensors, count, meta, meta_count);
    size_t data_bytes = 0;
    for (int i = 0; i < count; i++) data_bytes += 4 * (size_t)tensor_numel(&tensors[i]);
    size_t total = 8 + header.len + data_bytes;
    uint8_t *file = xmalloc(total), *p = file + 8 + header.len;
    put_u64_le(file, header.len);
    memcpy(file + 8, header.s, header.len);
    for (int i = 0; i < count; i++) {
        int64_t numel = tensor_numel(&tensors[i]);
        for (int64_t k = 0; k < numel; k++, p += 4) put_f32_le(p, tensors[i].data[k]);
    }
    int rc = write_file_atomic(path, file, total, err, errlen);
    free(file);
    free(header.s);
    return rc;
}

/* ---------- JSON ---------- */

int st_json_check(const char *text, size_t len, char *err, size_t errlen) {
    Json root;
    char jerr[160];
    if (json_parse(&root, text, len, jerr, sizeof jerr) != 0) {
        snprintf(err, errlen, "%s", jerr);
        return -1;
    }
    json_free(&root);
    return 0;
}

/* ---------- reader ---------- */

/* Fills f->meta from the "__metadata__" object; every value must be a string. */
static int read_metadata(StFile *f, const Json *m, const char *path, char *err, size_t errlen) {
    if (m->type != J_OBJECT) {
        snprintf(err, errlen, "%s: __metadata__ is not an object", path);
        return -1;
    }
    f->meta = xcalloc((size_t)m->count, sizeof(StMeta));
    for (int i = 0; i < m->count; i++) {
        if (m->items[i].type != J_STRING) {
            snprintf(err, errlen, "%s: __metadata__ value of '%s' is not a string", path, m->keys[i]);
            return -1;
        }
        f->meta[i].key = xstrdup(m->keys[i]);
        f->meta[i].value = xstrdup(m->items[i].str);
        f->meta_count++;
    }
    return 0;
}

/* Writes "path: tensor 'name' <what>" into err; returns -1. */
static int tensor_error(char *err, size_t errlen, const char *path, const char *name,
                        const char *fmt, ...) {
    int k = snprintf(err, errlen, "%s: tensor '%s' ", path, name);
    if (k < 0 || (size_t)k >= errlen) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
    va_end(ap);
    return -1;
}

/* Shape (an array of 1 or 2 items) into e->ndim, e->shape and *numel; NULL, or what is
   wrong. A 1-D tensor gets shape[1] = 1, so shape[0] * shape[1] is the element count. */
static const char *read_shape(struct StEntry *e, uint64_t *numel, const Json *shape) {
    e->ndim = shape->count;
    e->shape[1] = 1;
    *numel = 1;
    for (int i = 0; i < shape->count; i++) {
        const Json *dim = &shape->items[i];
        if (dim->type != J_NUMBER || !dim->is_uint || dim->uint > INT64_MAX)
            return "has a shape entry that is not a non-negative integer";
        if (dim->uint != 0 && *numel > UINT64_MAX / 4 / dim->uint) return "has an absurdly large shape";
        *numel *= dim->uint;
        e->shape[i] = (int64_t)dim->uint;
    }
    return NULL;
}

/* Validates one tensor description against the data section of data_size bytes; begin and
   end are left relative to the data section. */
static int read_entry(struct StEntry *e, const char *name, const Json *t, size_t data_size,
                      const char *path, char *err, size_t errlen) {
#define BAD(...) return tensor_error(err, errlen, path, name, __VA_ARGS__)
    if (strlen(name) >= sizeof e->name) BAD("has a name longer than %zu bytes", sizeof e->name - 1);
    strcpy(e->name, name);
    if (t->type != J_OBJECT) BAD("is not described by an object");
    const Json *dtype = json_get(t, "dtype"), *shape = json_get(t, "shape"),
               *offs = json_get(t, "data_offsets");
    if (!dtype || !shape || !offs) BAD("lacks dtype, shape or data_offsets");
    if (dtype->type != J_STRING) BAD("has a dtype that is not a string");
    if (strcmp(dtype->str, "F32") != 0) BAD("has dtype %s, only F32 is supported", dtype->str);
    if (shape->type != J_ARRAY) BAD("has a shape that is not an array");
    if (shape->count < 1 || shape->count > 2)
        BAD("has %d dimensions, only 1-D and 2-D tensors are supported", shape->count);
    uint64_t numel = 0;
    const char *bad_shape = read_shape(e, &numel, shape);
    if (bad_shape) BAD("%s", bad_shape);
    if (offs->type != J_ARRAY || offs->count != 2 || !offs->items[0].is_uint || !offs->items[1].is_uint)
        BAD("has data_offsets that are not two non-negative integers");
    uint64_t begin = offs->items[0].uint, end = offs->items[1].uint;
    if (end < begin) BAD("has data_offsets [%" PRIu64 ", %" PRIu64 "] that end before they begin", begin, end);
    if (end > data_size)
        BAD("ends at byte %" PRIu64 " but the data section has only %zu bytes (truncated file or "
            "offsets out of range)", end, data_size);
    if (end - begin != 4 * numel)
        BAD("has %" PRIu64 " elements (%" PRIu64 " bytes) by its shape but data_offsets span %" PRIu64
            " bytes", numel, 4 * numel, end - begin);
    e->begin = (size_t)begin;
    e->end = (size_t)end;
    return 0;
#undef BAD
}

static int compare_begin(const void *a, const void *b) {
    const struct StEntry *x = *(const struct StEntry *const *)a, *y = *(const struct StEntry *const *)b;
    return (x->begin > y->begin) - (x->begin < y->begin);
}

/* Tensors must tile [0, data_size) exactly, as the safetensors format requires. */
static int check_tiling(const StFile *f, size_t data_size, const char *path, char *err, size_t errlen) {
    const struct StEntry **order = xmalloc(sizeof *order * (size_t)(f->count ? f->count : 1));
    for (int i = 0; i < f->count; i++) order[i] = &f->entries[i];
    qsort(order, (size_t)f->count, sizeof *order, compare_begin);
    size_t at = 0;
    int rc = 0;
    for (int i = 0; i < f->count && rc == 0; i++) {
        if (order[i]->begin != at) {
            snprintf(err, errlen, "%s: tensor '%s' starts at byte %zu of the data section, expected "
                     "%zu (tensors overlap or leave a gap)", path, order[i]->name, order[i]->begin, at);
            rc = -1;
        }
        at = order[i]->end;
    }
    if (rc == 0 && at != data_size) {
        snprintf(err, errlen, "%s: data section has %zu bytes but the tensors cover %zu", path,
                 data_size, at);
        rc = -1;
    }
    free(order);
    return rc;
}

/* Reads tensors and metadata from the parsed header (root) into f. */
static int read_header(StFile *f, const Json *root, size_t data_size, const char *path, char *err,
                       size_t errlen) {
    if (root->type != J_OBJECT) {
        snprintf(err, errlen, "%s: header is not a JSON object", path);
        return -1;
    }
    f->entries = xcalloc((size_t)root->count, sizeof *f->entries);
    for (int i = 0; i < root->count; i++) {
        const char *key = root->keys[i];
        for (int j = 0; j < i; j++)
            if (strcmp(root->keys[j], key) == 0) {
                snprintf(err, errlen, "%s: header has key '%s' twice", path, key);
                return -1;
            }
        if (strcmp(key, "__metadata__") == 0) {
            if (read_metadata(f, &root->items[i], path, err, errlen)) return -1;
            continue;
        }
        if (read_entry(&f->entries[f->count], key, &root->items[i], data_size, path, err, errlen))
            return -1;
        f->count++;
    }
    return check_tiling(f, data_size, path, err, errlen);
}

int st_read(StFile *f, const char *path, char *err, size_t errlen) {
    memset(f, 0, sizeof *f);
    f->file = read_whole_file(path, &f->size, err, errlen);
    if (!f->file) return -1;
    if (f->size < 8) {
        snprintf(err, errlen, "%s: truncated: %zu bytes, a safetensors file starts with an 8-byte "
                 "header size", path, f->size);
        st_free(f);
        return -1;
    }
    uint64_t n = get_u64_le(f->file);
    if (n > f->size - 8) {
        snprintf(err, errlen, "%s: truncated: header declares %" PRIu64 " bytes, file has %zu "
                 "after the 8-byte size", path, n, f->size - 8);
        st_free(f);
        return -1;
    }
    Json root;
    char jerr[200];
    if (json_parse(&root, (const char *)f->file + 8, (size_t)n, jerr, sizeof jerr)) {
        snprintf(err, errlen, "%s: invalid JSON header: %s of the header", path, jerr);
        st_free(f);
        return -1;
    }
    int rc = read_header(f, &root, f->size - 8 - (size_t)n, path, err, errlen);
    json_free(&root);
    if (rc) { st_free(f); return -1; }
    /* entries keep offsets relative to the data section; make them absolute in f->file */
    for (int i = 0; i < f->count; i++) {
        f->entries[i].begin += 8 + (size_t)n;
        f->entries[i].end += 8 + (size_t)n;
    }
    return 0;
}

const struct StEntry *st_find(const StFile *f, const char *name) {
    for (int i = 0; i < f->count; i++)
        if (strcmp(f->entries[i].name, name) == 0) return &f->entries[i];
    return NULL;
}

int st_get(const StFile *f, const char *name, float *dst, size_t n) {
    const struct StEntry *e = st_find(f, name);
    if (!e || (e->end - e->begin) / 4 != n) return -1;
    for (size_t i = 0; i < n; i++) dst[i] = get_f32_le(f->file + e->begin + 4 * i);
    return 0;
}

const char *st_meta(const StFile *f, const char *key) {
    for (int i = 0; i < f->meta_count; i++)
        if (strcmp(f->meta[i].key, key) == 0) return f->meta[i].value;
    return NULL;
}

void st_free(StFile *f) {
    for (int i = 0; i < f->meta_count; i++) {
        free((char *)f->meta[i].key);
        free((char *)f->meta[i].value);
    }
    free(f->meta);
    free(f->entries);
    free(f->file);
    memset(f, 0, sizeof *f);
}
