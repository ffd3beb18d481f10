/* The progress line; see progress.h. */
#define _POSIX_C_SOURCE 200809L
#include "progress.h"

#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include "util.h"

void progress_start(Progress *p, const char *unit, long first, long total) {
    *p = (Progress){.unit = unit, .first = first, .total = total};
    p->start = p->last = now_seconds();
}

void progress_update(Progress *p, long done, const char *note, int final) {
    double now = now_seconds();
    int tty = isatty(STDERR_FILENO);
    if (!final && now - p->last < (tty ? 0.5 : 15.0)) return;
    p->last = now;
    double rate = (done - p->first) / fmax(now - p->start, 1e-9);
    char eta[32], second[64] = "";
    format_duration(eta, sizeof eta, rate > 0 ? (p->total - done) / rate : 0);
    if (p->per_unit > 0) snprintf(second, sizeof second, "  %.0f %s/s", rate * p->per_unit, p->per);
    fprintf(stderr, "%s%s %ld/%ld (%.0f%%)  %s%s%.1f %ss/s%s  ETA %s%s", tty ? "\r" : "",
            p->unit, done, p->total, 100.0 * done / (p->total > 0 ? p->total : 1),
            note ? note : "", note ? "  " : "", rate, p->unit, second, eta,
            tty && !final ? "   " : "\n");
    fflush(stderr);
}
