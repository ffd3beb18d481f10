/* What the subcommands of ./simulate share: run directories, alpha, tokens on the sphere. */
#define _POSIX_C_SOURCE 200809L
#include "simulate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rundir.h"
#include "util.h"

int sim_setup_run(const char *cmd, const char *name, const char *run_dir, int force,
                  char *dir_out, size_t len) {
    char err[1400];
    rundir_resolve(dir_out, len, run_dir, name, cmd);
    if (rundir_check(dir_out, 0, force, 0, err, sizeof err) != 0) return sim_usage_error(cmd, err);
    int lock_fd;   /* held, open, until the process ends: one process per run directory */
    if (rundir_create(dir_out, force, &lock_fd, err, sizeof err) != 0)
        return fprintf(stderr, "simulate: %s\n", err), 1;
    return 0;
}

long sim_steps(double T, double h, char *err, size_t errlen) {
    double L = T / h;
    if (L > 1e10) return snprintf(err, errlen, "--T / --h = %g steps is too many", L), -1;
    long steps = (long)llround(L);
    if (steps < 1 || fabs(L - steps) > 1e-6 * L)
        return snprintf(err, errlen, "--T %g is not a whole number of steps --h %g", T, h), -1;
    return steps;
}

void sim_sphere_tokens(float *X, int rows, int d, Rng *r) {
    double *g = xmalloc(sizeof(double) * d);
    for (int i = 0; i < rows; i++) {
        double ss = 0;
        for (int k = 0; k < d; k++) {
            g[k] = rng_normal(r);
            ss += g[k] * g[k];
        }
        double scale = ss > 0 ? sqrt(d / ss) : 0;   /* ss = 0 has probability 0 */
        for (int k = 0; k < d; k++) X[(size_t)i * d + k] = (float)(g[k] * scale);
    }
    free(g);
}

int sim_usage_error(const char *cmd, const char *msg) {
    fprintf(stderr, "simulate: %s\nRun './simulate %s --help' for the list of flags.\n", msg, cmd);
    return 2;
}
