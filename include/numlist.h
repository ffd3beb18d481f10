/* A list of numbers given to one flag (./simulate --betas, --ds, --depths). */
#ifndef NUMLIST_H
#define NUMLIST_H
#include <stddef.h>

/* "a,b,c" or a range "start:step:stop" (stop included if hit within 1e-9 of a step), each
   number finite. Returns the count (<= max) with the values in out, or -1 with a reason
   in err. */
int numlist_parse(const char *text, double *out, int max, char *err, size_t errlen);
#endif
