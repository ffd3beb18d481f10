/* The helpers of src/data/ that more than one format uses (data_internal.h). */
#include "data_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

int data_fail(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

char *data_path_join(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

char **data_copy_names(const char *const *names, int n) {
    char **out = xmalloc((size_t)n * sizeof *out);
    for (int i = 0; i < n; i++) out[i] = xstrdup(names[i]);
    return out;
}
