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

/* A JSON string literal: quote, backslash and control characters escaped; other bytes
   (UTF-8) pass through unchanged. */
static void buf_put_json_string(Buf *b, const char *s) {
    buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': buf_printf(b, "\\\""); break;
        case '\\': buf_printf(b, "\\\\"); break;
        case '\n': buf_printf(b, "\\n"); break;
        case '\r': buf_printf(b, "\\r"); break;
        case '\t': buf_printf(b, "\\t"); break;
        case '\b': buf_printf(b, "\\b"); break;
        case '\f': buf_printf(b, "\\f"); break;
        default:
            if (*p < 0x20) buf_printf(b, "\\u%04x", *p);
            else buf_putc(b, (char)*p);
        }
    }
    buf_putc(b, '"');
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

/* A parsed JSON value. Integers are kept exactly when they are non-negative and fit in
   64 bits (all safetensors needs); other numbers are only validated. */
typedef enum { J_NULL, J_BOOL, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT } JsonType;

typedef struct Json {
    JsonType type;
    int is_uint;            /* J_NUMBER: non-negative integer that fits in uint64 */
    uint64_t uint;
    char *str;              /* J_STRING: NUL-terminated UTF-8 (NUL bytes rejected) */
    int count;              /* J_ARRAY / J_OBJECT: number of items */
    char **keys;            /* J_OBJECT: keys[i] names items[i] */
    struct Json *items;
} Json;

typedef struct {
    const char *s;          /* header text (not NUL-terminated) */
    size_t len, pos;
    int depth;
    char err[160];          /* first error, with its byte position */
} Parser;

enum { JSON_MAX_DEPTH = 64 };   /* deeper input is rejected instead of exhausting the stack */

static void json_free(Json *v) {
    free(v->str);
    for (int i = 0; i < v->count; i++) {
        if (v->keys) free(v->keys[i]);
        json_free(&v->items[i]);
    }
    free(v->keys);
    free(v->items);
}

static int parse_fail(Parser *p, const char *what) {
    if (!p->err[0]) snprintf(p->err, sizeof p->err, "%s at byte %zu of the header", what, p->pos);
    return -1;
}

static void skip_space(Parser *p) {
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return;
        p->pos++;
    }
}

static int peek(const Parser *p) { return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1; }

static int parse_value(Parser *p, Json *v);

static int parse_literal(Parser *p, const char *word) {
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return parse_fail(p, "invalid literal");
    p->pos += n;
    return 0;
}

/* Number per RFC 8259: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int parse_number(Parser *p, Json *v) {
    v->type = J_NUMBER;
    int negative = peek(p) == '-', overflow = 0, is_int = 1;
    if (negative) p->pos++;
    if (peek(p) < '0' || peek(p) > '9') return parse_fail(p, "invalid number");
    if (peek(p) == '0' && p->pos + 1 < p->len && p->s[p->pos + 1] >= '0' && p->s[p->pos + 1] <= '9')
        return parse_fail(p, "number with a leading zero");
    uint64_t x = 0;
    while (peek(p) >= '0' && peek(p) <= '9') {
        unsigned digit = (unsigned)(peek(p) - '0');
        if (x > (UINT64_MAX - digit) / 10) overflow = 1;
        x = x * 10 + digit;
        p->pos++;
    }
    if (peek(p) == '.') {
        is_int = 0;
        p->pos++;
        if (peek(p) < '0' || peek(p) > '9') return parse_fail(p, "invalid number");
        while (peek(p) >= '0' && peek(p) <= '9') p->pos++;
    }
    if (peek(p) == 'e' || peek(p) == 'E') {
        is_int = 0;
        p->pos++;
        if (peek(p) == '+' || peek(p) == '-') p->pos++;
        if (peek(p) < '0' || peek(p) > '9') return parse_fail(p, "invalid number");
        while (peek(p) >= '0' && peek(p) <= '9') p->pos++;
    }
    v->is_uint = is_int && !overflow && (!negative || x == 0);
    v->uint = v->is_uint ? x : 0;
    return 0;
}

static int hex4(Parser *p, unsigned *out) {
    if (p->len - p->pos < 4) return parse_fail(p, "truncated \\u escape");
    unsigned x = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->s[p->pos++];
        int h = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (h < 0) return parse_fail(p, "invalid \\u escape");
        x = x * 16 + (unsigned)h;
    }
    *out = x;
    return 0;
}

/* Code point of a \uXXXX escape (p at the first hex digit), joining surrogate pairs. */
static int parse_unicode_escape(Parser *p, unsigned *cp) {
    if (hex4(p, cp)) return -1;
    if (*cp >= 0xDC00 && *cp <= 0xDFFF) return parse_fail(p, "unpaired low surrogate");
    if (*cp < 0xD800 || *cp > 0xDBFF) return 0;
    unsigned lo;
    if (p->len - p->pos < 2 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
        return parse_fail(p, "unpaired high surrogate");
    p->pos += 2;
    if (hex4(p, &lo)) return -1;
    if (lo < 0xDC00 || lo > 0xDFFF) return parse_fail(p, "unpaired high surrogate");
    *cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
    return 0;
}

/* Appends code point cp as UTF-8 to out (room for 4 bytes guaranteed by the caller). */
static size_t put_utf8(char *out, unsigned cp) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6); out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12); out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18); out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* One escape sequence after the backslash, appended to out; returns bytes written or -1. */
static int parse_escape(Parser *p, char *out) {
    if (p->pos >= p->len) return parse_fail(p, "unterminated string");
    char c = p->s[p->pos++];
    const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
    const char *hit = c ? strchr(from, c) : NULL;
    if (hit) { *out = to[hit - from]; return 1; }
    if (c != 'u') return parse_fail(p, "invalid escape in string");
    unsigned cp;
    if (parse_unicode_escape(p, &cp)) return -1;
    if (cp == 0) return parse_fail(p, "\\u0000 in string");
    return (int)put_utf8(out, cp);
}

/* String starting at the opening quote; *out gets a malloc'd NUL-terminated copy. An escape
   never expands (at most 4 UTF-8 bytes for 6+ input bytes, 1 for 2 otherwise), so the raw
   length up to the closing quote bounds the decoded length. */
static int parse_string(Parser *p, char **out) {
    if (peek(p) != '"') return parse_fail(p, "expected a string");
    p->pos++;
    size_t start = p->pos, end = start, n = 0;
    while (end < p->len && p->s[end] != '"') end += p->s[end] == '\\' ? 2 : 1;
    char *s = xmalloc((end < p->len ? end : p->len) - start + 1);
    for (;;) {
        if (p->pos >= p->len) { free(s); return parse_fail(p, "unterminated string"); }
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '"') break;
        if (c < 0x20) { free(s); return parse_fail(p, "control character in string"); }
        p->pos++;
        if (c != '\\') { s[n++] = (char)c; continue; }
        int k = parse_escape(p, s + n);
        if (k < 0) { free(s); return -1; }
        n += (size_t)k;
    }
    p->pos++;
    s[n] = 0;
    *out = s;
    return 0;
}

/* Array or object (p at '[' or '{'): items separated by commas, keys for objects. */
static int parse_container(Parser *p, Json *v, int is_object) {
    char close = is_object ? '}' : ']';
    v->type = is_object ? J_OBJECT : J_ARRAY;
    p->pos++;
    skip_space(p);
    if (peek(p) == close) { p->pos++; return 0; }
    int cap = 0;
    for (;;) {
        if (v->count == cap) {
            cap = cap ? 2 * cap : 4;
            v->items = realloc(v->items, sizeof(Json) * cap);
            if (is_object) v->keys = realloc(v->keys, sizeof(char *) * cap);
            if (!v->items || (is_object && !v->keys)) FATAL("out of memory parsing JSON");
        }
        Json *item = &v->items[v->count];
        memset(item, 0, sizeof *item);
        if (is_object) {
            skip_space(p);
            v->keys[v->count] = NULL;
            v->count++;   /* counted first so json_free releases a half-parsed entry */
            if (parse_string(p, &v->keys[v->count - 1])) return -1;
            skip_space(p);
            if (peek(p) != ':') return parse_fail(p, "expected ':'");
            p->pos++;
        } else {
            v->count++;
        }
        if (parse_value(p, item)) return -1;
        skip_space(p);
        if (peek(p) == close) { p->pos++; return 0; }
        if (peek(p) != ',') return parse_fail(p, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
        p->pos++;
    }
}

static int parse_value(Parser *p, Json *v) {
    skip_space(p);
    int c = peek(p);
    if (c == '{' || c == '[') {
        if (++p->depth > JSON_MAX_DEPTH) return parse_fail(p, "nesting too deep");
        int rc = parse_container(p, v, c == '{');
        p->depth--;
        return rc;
    }
    if (c == '"') { v->type = J_STRING; return parse_string(p, &v->str); }
    if (c == 't') { v->type = J_BOOL; return parse_literal(p, "true"); }
    if (c == 'f') { v->type = J_BOOL; return parse_literal(p, "false"); }
    if (c == 'n') { v->type = J_NULL; return parse_literal(p, "null"); }
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number(p, v);
    return parse_fail(p, c < 0 ? "unexpected end of header" : "unexpected character");
}

/* Whole document: one value, then only whitespace (the writer's padding). */
static int json_parse(Json *root, const char *s, size_t len, char *err, size_t errlen) {
    Parser p = {.s = s, .len = len};
    memset(root, 0, sizeof *root);
    int rc = parse_value(&p, root);
    if (rc == 0) {
        skip_space(&p);
        if (p.pos != p.len) rc = parse_fail(&p, "trailing characters after the JSON value");
    }
    if (rc) {
        snprintf(err, errlen, "%s", p.err);
        json_free(root);
    }
    return rc;
}

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

static const Json *json_get(const Json *obj, const char *key) {
    for (int i = 0; i < obj->count; i++)
        if (strcmp(obj->keys[i], key) == 0) return &obj->items[i];
    return NULL;
}

/* ---------- reader ---------- */

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

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
        snprintf(err, errlen, "%s: invalid JSON header: %s", path, jerr);
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
