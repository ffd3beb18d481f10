/* A progress line on stderr with rate and ETA, for long work: rewritten in place on a
   terminal (at most twice a second), one line every 15 s when stderr is a file. */
#ifndef PROGRESS_H
#define PROGRESS_H

typedef struct {
    const char *unit;        /* "step", "draw", "run" */
    long first, total;       /* counts of units: done at the start, to do in all */
    const char *per;         /* optional second rate, e.g. "samples" ... */
    double per_unit;         /* ... with this many per unit (0: none) */
    double start, last;      /* clock at the start and at the last print */
} Progress;

void progress_start(Progress *p, const char *unit, long first, long total);
/* done: units finished so far (counting first); note: text before the rates (or NULL);
   final: print now and end the line. */
void progress_update(Progress *p, long done, const char *note, int final);
#endif
