/* A list of numbers given to one flag (include/numlist.h). */
#include "numlist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The number in [s, end): all of it, and finite. 0, or -1. */
static int parse_number(const char *s, const char *end, double *v) {
    char buf[64];
    size_t len = (size_t)(end - s);
    if (len == 0 || len >= sizeof buf) return -1;
    memcpy(buf, s, len);
    buf[len] = 0;
    char *e;
    *v = strtod(buf, &e);
    return *e || !isfinite(*v) ? -1 : 0;
}

/* "start:step:stop" (c1 at its first colon). */
static int parse_range(const char *text, const char *c1, double *out, int max, char *err,
                       size_t errlen) {
    const char *c2 = strchr(c1 + 1, ':');
    double a, step, b;
    if (!c2 || parse_number(text, c1, &a) || parse_number(c1 + 1, c2, &step) ||
        parse_number(c2 + 1, c2 + strlen(c2), &b) || step <= 0 || b < a) {
        snprintf(err, errlen, "'%s' is not a range start:step:stop with step > 0 and "
                 "stop >= start", text);
        return -1;
    }
    int k = 0;
    for (;; k++) {
        double v = a + k * step;
        if (v > b + 1e-9 * step) break;
        if (k >= max) {
            snprintf(err, errlen, "'%s' has more than %d values", text, max);
            return -1;
        }
        out[k] = v;
    }
    return k;
}

/* "a,b,c" (one number: "a"). */
static int parse_commas(const char *text, double *out, int max, char *err, size_t errlen) {
    int k = 0;
    const char *s = text;
    for (;;) {
        const char *e = strchr(s, ',');
        if (!e) e = s + strlen(s);
        if (k >= max) {
            snprintf(err, errlen, "'%s' has more than %d values", text, max);
            return -1;
        }
        if (parse_number(s, e, &out[k])) {
            snprintf(err, errlen, "'%s' is not a comma-separated list of numbers", text);
            return -1;
        }
        k++;
        if (!*e) break;
        s = e + 1;
    }
    return k;
}

int numlist_parse(const char *text, double *out, int max, char *err, size_t errlen) {
    const char *c1 = strchr(text, ':');
    return c1 ? parse_range(text, c1, out, max, err, errlen)
              : parse_commas(text, out, max, err, errlen);
}
