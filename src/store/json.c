/* JSON: writing the values of the project's files, and the one reader (see json.h). */
#include "json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* json_quote's output: cap bytes at dst, len the bytes of the literal so far. */
typedef struct { char *dst; size_t cap, len; } Quoted;

/* Appends the n bytes at s; what does not fit (with the NUL) is counted but not written,
   as snprintf does, so one call with cap 0 measures. */
static void quoted_put(Quoted *out, const void *s, size_t n) {
    for (size_t i = 0; i < n; i++, out->len++)
        if (out->len + 1 < out->cap) out->dst[out->len] = ((const char *)s)[i];
}

/* Length (2 to 4) of the valid UTF-8 sequence of a code point at p, or 0 where the bytes
   there are not one: a stray continuation byte, an overlong form, a surrogate, a code point
   above U+10FFFF, or a sequence cut short (by the NUL too). */
static int utf8_length(const unsigned char *p) {
    static const unsigned least[5] = {0, 0, 0x80, 0x800, 0x10000};
    int n = p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC0 ? 2 : 0;
    if (n == 0 || p[0] > 0xF4) return 0;
    unsigned cp = p[0] & (0x7Fu >> n);
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (p[i] & 0x3Fu);
    }
    if (cp < least[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

int json_is_utf8(const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int n = *p >= 0x80 ? utf8_length(p) : 1;
        if (n == 0) return 0;
        p += n;
    }
    return 1;
}

size_t json_quote(char *dst, size_t cap, const char *s) {
    static const char named[] = "\"\\\b\f\n\r\t", letter[] = "\"\\bfnrt";
    Quoted out = {dst, cap, 0};
    quoted_put(&out, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        const char *hit = strchr(named, *p);
        char esc[8];
        int n = *p >= 0x80 ? utf8_length(p) : 1;
        if (hit) {
            quoted_put(&out, (char[]){'\\', letter[hit - named]}, 2);
        } else if (*p < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            quoted_put(&out, esc, 6);
        } else if (n == 0) {
            quoted_put(&out, "\\ufffd", 6);   /* not UTF-8: U+FFFD, as JSON text must be UTF-8 */
            n = 1;
        } else {
            quoted_put(&out, p, (size_t)n);
        }
        p += n;
    }
    quoted_put(&out, "\"", 1);
    if (cap) dst[out.len < cap ? out.len : cap - 1] = 0;
    return out.len;
}

void json_put_string(FILE *out, const char *s) {
    size_t n = json_quote(NULL, 0, s);
    char *text = xmalloc(n + 1);
    json_quote(text, n + 1, s);
    fwrite(text, 1, n, out);
    free(text);
}

void json_put_number(FILE *out, const char *fmt, double x) {
    if (isfinite(x)) fprintf(out, fmt, x);
    else fputs("null", out);
}

/* ---- reading ---------------------------------------------------------------------- */

typedef struct {
    const char *s;          /* the text (not NUL-terminated) */
    size_t len, pos;
    int depth;
    char err[160];          /* first error, with its byte position */
} Parser;

enum { JSON_MAX_DEPTH = 64 };   /* deeper input is rejected instead of exhausting the stack */

void json_free(Json *v) {
    free(v->str);
    for (int i = 0; i < v->count; i++) {
        if (v->keys) free(v->keys[i]);
        json_free(&v->items[i]);
    }
    free(v->keys);
    free(v->items);
}

static int parse_fail(Parser *p, const char *what) {
    if (!p->err[0]) snprintf(p->err, sizeof p->err, "%s at byte %zu", what, p->pos);
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

/* A malloc'd NUL-terminated copy of the n bytes at s. */
static char *copy_text(const char *s, size_t n) {
    char *c = memcpy(xmalloc(n + 1), s, n);
    c[n] = 0;
    return c;
}

static int parse_literal(Parser *p, Json *v, const char *word) {
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return parse_fail(p, "invalid literal");
    p->pos += n;
    v->str = copy_text(word, n);
    return 0;
}

/* Number per RFC 8259: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int parse_number(Parser *p, Json *v) {
    v->type = J_NUMBER;
    size_t start = p->pos;
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
    v->str = copy_text(p->s + start, p->pos - start);
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
    if (c == 't') { v->type = J_BOOL; return parse_literal(p, v, "true"); }
    if (c == 'f') { v->type = J_BOOL; return parse_literal(p, v, "false"); }
    if (c == 'n') { v->type = J_NULL; return parse_literal(p, v, "null"); }
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number(p, v);
    return parse_fail(p, c < 0 ? "unexpected end of the text" : "unexpected character");
}

int json_parse(Json *root, const char *s, size_t len, char *err, size_t errlen) {
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
        memset(root, 0, sizeof *root);   /* empty: a second json_free is harmless */
    }
    return rc;
}

const Json *json_get(const Json *obj, const char *key) {
    for (int i = 0; i < obj->count; i++)
        if (strcmp(obj->keys[i], key) == 0) return &obj->items[i];
    return NULL;
}

int json_copy_text(const Json *item, char *v, size_t vlen) {
    if (!item || !item->str || strlen(item->str) >= vlen) return -1;
    strcpy(v, item->str);
    return 0;
}

int json_text_value(const char *json, const char *key, char *v, size_t vlen) {
    Json root;
    char err[160];
    if (json_parse(&root, json, strlen(json), err, sizeof err) != 0) return -1;
    int rc = json_copy_text(root.type == J_OBJECT ? json_get(&root, key) : NULL, v, vlen);
    json_free(&root);
    return rc;
}
