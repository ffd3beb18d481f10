/* Writing JSON values: the one place where the project's JSON files (config.json,
   summary.json of ./train and ./simulate) format strings and numbers, so that every file
   is valid JSON whatever a name or a number holds. */
#ifndef JSON_H
#define JSON_H
#include <stdio.h>

/* s as a JSON string literal: quote, backslash and control characters escaped; other
   bytes (UTF-8) unchanged. */
void json_put_string(FILE *out, const char *s);
/* x formatted with fmt (one double conversion, e.g. "%.6f"), or null when x is NaN or
   infinite (JSON has no such numbers). */
void json_put_number(FILE *out, const char *fmt, double x);
#endif
