/* JSON values for the files the project writes (see json.h). */
#include "json.h"

#include <math.h>

void json_put_string(FILE *out, const char *s) {
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*p < 0x20) fprintf(out, "\\u%04x", *p);
            else fputc(*p, out);
        }
    }
    fputc('"', out);
}

void json_put_number(FILE *out, const char *fmt, double x) {
    if (isfinite(x)) fprintf(out, fmt, x);
    else fputs("null", out);
}
