/* Table-driven command-line flags; see options.h. */
#include "options.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "suggest.h"

const Option *options_find(const Option *opts, int n, const char *flag) {
    for (int i = 0; i < n; i++)
        if (strcmp(opts[i].flag, flag) == 0) return &opts[i];
    return NULL;
}

static int in_choices(const char *choices, const char *v) {
    size_t n = strlen(v);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0) return 1;
        if (!bar) break;
        p = bar + 1;
    }
    return 0;
}

/* Parses value text into the field of o. Returns 0, or -1 with a reason in err. */
static int set_value(void *dst, const Option *o, const char *v, char *err, size_t errlen) {
    char *field = (char *)dst + o->offset, *end = NULL;
    errno = 0;
    if (o->type == T_STRING) {
        if (strlen(v) >= o->size) {
            snprintf(err, errlen, "--%s: value is too long (max %zu characters)", o->flag, o->size - 1);
            return -1;
        }
        if (!json_is_utf8(v)) {   /* config.json keeps it as UTF-8: other bytes would not come back */
            snprintf(err, errlen, "--%s: the value is not UTF-8 text", o->flag);
            return -1;
        }
        if (o->choices && !in_choices(o->choices, v)) {
            snprintf(err, errlen, "--%s: '%s' is not one of %s", o->flag, v, o->choices);
            return -1;
        }
        strcpy(field, v);
        return 0;
    }
    double x = strtod(v, &end);
    if (end == v || *end != '\0' || errno == ERANGE || !isfinite(x)) {
        snprintf(err, errlen, "--%s: '%s' is not a number", o->flag, v);
        return -1;
    }
    if ((o->type == T_INT || o->type == T_LONG) && x != floor(x)) {
        snprintf(err, errlen, "--%s: '%s' is not a whole number", o->flag, v);
        return -1;
    }
    if (x < o->min || x > o->max) {
        snprintf(err, errlen, "--%s: %s is out of range [%g, %g]", o->flag, v, o->min, o->max);
        return -1;
    }
    if (o->type == T_INT) *(int *)field = (int)x;
    else if (o->type == T_LONG) *(long *)field = (long)x;
    else *(double *)field = x;
    return 0;
}

/* "unknown flag --nosie-scale (did you mean --noise-scale?)": the suggestion only when a
   flag of the table is a letter or two away. */
static int unknown_flag(const Option *opts, int n, const char *flag, char *err, size_t errlen) {
    const char *names[256];
    int k = n < 256 ? n : 256;
    for (int i = 0; i < k; i++) names[i] = opts[i].flag;
    const char *close = suggest_closest(flag, names, k);
    if (close) snprintf(err, errlen, "unknown flag --%s (did you mean --%s?)", flag, close);
    else snprintf(err, errlen, "unknown flag --%s", flag);
    return OPTIONS_ERROR;
}

/* An empty default of a number leaves the field 0: the command computes the value when the
   flag is not given (its help says how). */
static void set_defaults(const Option *opts, int n, void *dst) {
    char err[256];
    for (int i = 0; i < n; i++) {
        if (!opts[i].def || (!*opts[i].def && opts[i].type != T_STRING)) continue;
        if (set_value(dst, &opts[i], opts[i].def, err, sizeof err) != 0)
            fprintf(stderr, "bad default: %s\n", err);   /* a bug in the caller's table */
    }
}

int options_parse(const Option *opts, int n, void *dst, unsigned char *given, int argc,
                  char **argv, int first, char *err, size_t errlen) {
    set_defaults(opts, n, dst);
    memset(given, 0, (size_t)n);
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return OPTIONS_HELP;
        if (strncmp(a, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument '%s' (flags start with --)", a);
            return OPTIONS_ERROR;
        }
        char flag[64];
        const char *eq = strchr(a + 2, '='), *value = NULL;
        size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        snprintf(flag, sizeof flag, "%.*s", (int)(len < 63 ? len : 63), a + 2);
        const Option *o = options_find(opts, n, flag);
        if (!o) return unknown_flag(opts, n, flag, err, errlen);
        if (o->type == T_FLAG) {
            if (eq) {
                snprintf(err, errlen, "--%s takes no value", flag);
                return OPTIONS_ERROR;
            }
            *(int *)((char *)dst + o->offset) = 1;
        } else {
            value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (!value) {
                snprintf(err, errlen, "--%s needs a value", flag);
                return OPTIONS_ERROR;
            }
            if (set_value(dst, o, value, err, errlen) != 0) return OPTIONS_ERROR;
        }
        given[o - opts] = 1;
    }
    return OPTIONS_OK;
}

void options_help(const Option *opts, int n, FILE *out) {
    for (int i = 0; i < n; i++) {
        const Option *o = &opts[i];
        char left[64];
        snprintf(left, sizeof left, "--%s%s", o->flag, o->type == T_FLAG ? "" : " V");
        fprintf(out, "  %-22s %s", left, o->help);
        /* an empty default means "computed when not given": the help text says how */
        if (o->type != T_FLAG && *o->def) fprintf(out, " [default: %s]", o->def);
        fputc('\n', out);
    }
    fprintf(out, "  %-22s %s\n", "--help", "print this help and exit");
}

static void json_key(FILE *out, const char *flag) {
    fputc('"', out);
    for (const char *p = flag; *p; p++) fputc(*p == '-' ? '_' : *p, out);
    fputs("\": ", out);
}

void options_value_text(const Option *o, const void *src, char *buf, size_t len) {
    const char *field = (const char *)src + o->offset;
    if (o->type == T_STRING) snprintf(buf, len, "%s", field);
    else if (o->type == T_INT || o->type == T_FLAG) snprintf(buf, len, "%d", *(const int *)field);
    else if (o->type == T_LONG) snprintf(buf, len, "%ld", *(const long *)field);
    else snprintf(buf, len, "%.17g", *(const double *)field);
}

void options_write_json(const Option *opts, int n, const void *src, FILE *out) {
    for (int i = 0; i < n; i++) {
        const Option *o = &opts[i];
        if (!o->saved) continue;
        fputs("  ", out);
        json_key(out, o->flag);
        if (o->type == T_STRING) {
            json_put_string(out, (const char *)src + o->offset);
        } else if (o->type == T_DOUBLE) {
            json_put_number(out, "%.17g", *(const double *)((const char *)src + o->offset));
        } else {
            char text[32];
            options_value_text(o, src, text, sizeof text);
            fputs(text, out);
        }
        fputs(",\n", out);
    }
}

int options_read_json(const Option *opts, int n, void *dst, const unsigned char *given,
                      const char *json, char *err, size_t errlen) {
    Json root;
    char why[256];
    if (json_parse(&root, json, strlen(json), why, sizeof why) != 0)
        return snprintf(err, errlen, "config.json: not valid JSON: %s", why), -1;
    if (root.type != J_OBJECT) {
        json_free(&root);
        return snprintf(err, errlen, "config.json: not a JSON object"), -1;
    }
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        const Option *o = &opts[i];
        if (!o->saved || (given && given[i])) continue;   /* flags given now win */
        char key[64], value[1100];
        snprintf(key, sizeof key, "%s", o->flag);
        for (char *p = key; *p; p++) *p = *p == '-' ? '_' : *p;
        const Json *v = json_get(&root, key);
        if (!v && o->saved == SAVED_OPTIONAL) continue;   /* dst keeps the default */
        if (json_copy_text(v, value, sizeof value) != 0)
            rc = -1, snprintf(err, errlen, "config.json: setting '%s' is missing", key);
        else if (set_value(dst, o, value, why, sizeof why) != 0)
            rc = -1, snprintf(err, errlen, "config.json: %s", why);
    }
    json_free(&root);
    return rc;
}
