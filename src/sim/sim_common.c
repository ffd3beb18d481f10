/* What the subcommands of ./simulate share: their start, run directories, config.json of the
   limit dynamics, tokens on the sphere. */
#define _POSIX_C_SOURCE 200809L
#include "simulate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "memest.h"
#include "rundir.h"
#include "util.h"

int sim_setup_run(const char *cmd, const char *name, const char *run_dir, int force,
                  char *dir_out, size_t len) {
    char err[1400];
    rundir_resolve(dir_out, len, run_dir, name, cmd);
    if (rundir_check(dir_out, 0, force, 0, err, sizeof err) != 0) return sim_usage_error(cmd, err);
    int lock_fd;   /* held, open, until the process ends: one process per run directory */
    int rc = rundir_create(dir_out, force, &lock_fd, err, sizeof err);
    if (rc != 0) return rc == RUNDIR_EXISTS ? sim_usage_error(cmd, err) : (fprintf(stderr, "simulate: %s\n", err), 1);
    return 0;
}

int sim_main(const SimCommand *cmd, void *sim, void *settings, SimRun *run, char *dir,
             size_t dirlen, int *threads, int argc, char **argv) {
    char err[2048];
    int rc = options_parse(cmd->options, cmd->num_options, settings, run->given, argc, argv, 2,
                           err, sizeof err);
    if (rc == OPTIONS_HELP) return cmd->help(stdout), 0;
    if (rc != OPTIONS_OK) return sim_usage_error(cmd->name, err);
    if ((rc = cmd->resolve(sim, err, sizeof err)) != 0)
        return rc == 2 ? sim_usage_error(cmd->name, err) : (fprintf(stderr, "simulate: %s\n", err), rc);
    *threads = threads_or_cores(run->threads);
    if (sim_check_memory(cmd->memory(sim, *threads), err, sizeof err) != 0)
        return sim_usage_error(cmd->name, err);
    if ((rc = sim_setup_run(cmd->name, run->name, run->run_dir, run->force, dir, dirlen)) != 0)
        return rc;
    if (cmd->prepare(sim, err, sizeof err) != 0) return fprintf(stderr, "simulate: %s\n", err), 1;
    return cmd->run(sim);
}

int sim_check_memory(double bytes, char *err, size_t errlen) {
    double have = (double)memest_physical();
    if (have <= 0 || bytes <= have) return 0;
    snprintf(err, errlen, "the run needs about %.0f MB of memory but this machine has %.0f MB; use "
             "fewer --runs, --draws or --threads, or smaller sizes", bytes / (1 << 20), have / (1 << 20));
    return -1;
}

double sim_sde_work_bytes(int n, int d) {
    double nn = (double)n * n, nd = (double)n * d, big = (double)(n > d ? n : d) * d;
    return sizeof(double) * (2 * nn + 3 * nd + big);
}

int sim_write_limit_config(const Option *opts, int n, const void *settings, long steps,
                           double h, int threads, const char *dir, char *err, size_t errlen) {
    TextFile tf;
    FILE *f = text_begin(&tf);
    fputs("{\n", f);
    options_write_json(opts, n, settings, f);
    fprintf(f, "  \"steps\": %ld,\n  \"alpha\": ", steps);
    json_put_number(f, "%.9g", sqrt(h));
    fprintf(f, ",\n  \"threads\": %d\n}\n", threads);
    return text_commit(&tf, dir, "config.json", err, errlen);
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

void sim_cap_tokens(float *X, int sets, int n, int d, double spread, Rng *r) {
    double *e = xmalloc(sizeof(double) * d), *x = xmalloc(sizeof(double) * d);
    for (int b = 0; b < sets; b++) {
        double ee = 0;
        for (int k = 0; k < d; k++) {
            e[k] = rng_normal(r);
            ee += e[k] * e[k];
        }
        for (int k = 0; k < d; k++) e[k] /= sqrt(ee);   /* ee = 0 has probability 0 */
        for (int i = 0; i < n; i++) {
            double ss = 0;
            for (int k = 0; k < d; k++) {
                x[k] = e[k] + spread * rng_normal(r) / sqrt(d);
                ss += x[k] * x[k];
            }
            float *xi = X + ((size_t)b * n + i) * d;
            for (int k = 0; k < d; k++) xi[k] = (float)(x[k] * sqrt(d / ss));
        }
    }
    free(e);
    free(x);
}

int sim_usage_error(const char *cmd, const char *msg) {
    fprintf(stderr, "simulate: %s\nRun './simulate %s --help' for the list of flags.\n", msg, cmd);
    return 2;
}
