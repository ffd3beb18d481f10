/* "Did you mean": the known name closest to a mistyped one, by edit distance, offered only
   when the two are close (one or two letters changed, swapped, added or dropped). */
#ifndef SUGGEST_H
#define SUGGEST_H
#include <stddef.h>

/* Edits between a and b: insertions, deletions, substitutions and swaps of two neighbours
   (optimal string alignment distance). Names longer than SUGGEST_MAX_LEN count as far. */
#define SUGGEST_MAX_LEN 64
int suggest_distance(const char *a, const char *b);
/* The first of names[0..n-1] nearest to word, if it is within min(2, (len + 1) / 3) edits
   of it (len: word's length: a one-letter word gets no suggestion, five letters two); else
   NULL. */
const char *suggest_closest(const char *word, const char *const *names, int n);
#endif
