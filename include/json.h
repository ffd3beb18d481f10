/* JSON: the one place where the project's JSON files (config.json, summary.json of
   ./train and ./simulate) format strings and numbers, so that every file is valid JSON
   whatever a name or a number holds; and the one reader (RFC 8259), for those files and
   the safetensors header. */
#ifndef JSON_H
#define JSON_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The one JSON string escaper: s as a JSON string literal, quotes included, into dst (cap
   bytes, NUL-terminated, cut short if it does not fit; dst may be NULL when cap is 0).
   Returns the literal's length, as snprintf does. Quote and backslash escaped, control
   characters as \b \f \n \r \t or \u00XX; valid UTF-8 unchanged; a byte that is not part
   of a valid UTF-8 sequence becomes \ufffd (JSON text is UTF-8). */
size_t json_quote(char *dst, size_t cap, const char *s);
/* 1 if s is valid UTF-8 (what json_quote writes as it is), else 0. A setting saved in
   config.json must be, so that reading the file gives back the same bytes. */
int json_is_utf8(const char *s);
/* s as a JSON string literal (json_quote) to out. */
void json_put_string(FILE *out, const char *s);
/* x formatted with fmt (one double conversion, e.g. "%.6f"), or null when x is NaN or
   infinite (JSON has no such numbers). */
void json_put_number(FILE *out, const char *fmt, double x);

/* A parsed JSON value. Integers are kept exactly when they are non-negative and fit in
   64 bits (all safetensors needs); every number, true, false and null also as its text. */
typedef enum { J_NULL, J_BOOL, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT } JsonType;

typedef struct Json {
    JsonType type;
    int is_uint;            /* J_NUMBER: non-negative integer that fits in uint64 */
    uint64_t uint;
    char *str;              /* J_STRING: NUL-terminated UTF-8 (NUL bytes rejected);
                               J_NUMBER, J_BOOL, J_NULL: the text as written */
    int count;              /* J_ARRAY / J_OBJECT: number of items */
    char **keys;            /* J_OBJECT: keys[i] names items[i] */
    struct Json *items;
} Json;

/* Parses the whole text s (len bytes): one value, then only whitespace. 0, or -1 with
   the first error and its byte position in err (root is then empty). */
int json_parse(Json *root, const char *s, size_t len, char *err, size_t errlen);
/* The item of object obj named key (the first, if repeated), or NULL. */
const Json *json_get(const Json *obj, const char *key);
void json_free(Json *v);
/* The text of item (may be NULL) into v: a string's value, or the text of a number, true,
   false or null. 0, or -1 for NULL, an array or object, or text that does not fit in vlen. */
int json_copy_text(const Json *item, char *v, size_t vlen);
/* The value of "key" in the JSON object text json, copied into v: a string without its
   quotes and escapes, or the text of a number, true, false or null. Returns 0, or -1 if
   the text is not a JSON object, has no such key, its value is an array or object, or
   it does not fit in vlen. */
int json_text_value(const char *json, const char *key, char *v, size_t vlen);
#endif
