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
                  char *dir_out, size_t len, char *err, size_t errlen) {
    rundir_resolve(dir_out, len, run_dir, name, cmd);
    if (rundir_check(dir_out, 0, force, 0, err, errlen) != 0) return 2;
    return rundir_create(dir_out, force, err, errlen) != 0 ? 1 : 0;
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
