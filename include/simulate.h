/* ./simulate: token dynamics of deep random Transformers at initialization (MODEL.md).
   src/sim/simulate.c dispatches `./simulate COMMAND [flags]` to one of the entry points below;
   each gets the whole argv (argv[0] "simulate", argv[1] the command, flags from argv[2])
   and returns the exit status: 0 done, 1 runtime error (data, files), 2 bad flags. */
#ifndef SIMULATE_H
#define SIMULATE_H
#include <stddef.h>
#include <stdio.h>

#include "options.h"
#include "rng.h"

int sim_depth_main(int argc, char **argv);    /* src/sim/sim_depth.c */
int sim_pair_main(int argc, char **argv);     /* src/sim/sim_pair.c */
int sim_tokens_main(int argc, char **argv);   /* src/sim/sim_tokens.c */

/* The settings every command shares (the rows of SIM_RUN_OPTIONS), a member `run` of the
   command's settings struct, and which rows of its table were on the command line. */
typedef struct {
    long seed;
    int threads;
    char name[256], run_dir[1024];
    int force;
    unsigned char given[32];   /* given[i]: row i of the command's table was given */
} SimRun;

/* What a command tells sim_main, each step given the command's state sim:
   resolve checks the settings beyond the single rows and derives what the run needs; 0, or
   an exit status with the reason in err: 2 bad flags or values, 1 a runtime error (data).
   prepare runs once the run directory exists (config.json); 0, or -1 with err (exit 1).
   run computes and writes the results; returns the exit status.
   memory: the bytes the run will allocate with `threads` threads (an estimate from the
   settings, for the check before the run directory is created). */
typedef struct {
    const char *name;   /* "pair" */
    const Option *options;
    int num_options;
    void (*help)(FILE *out);
    int (*resolve)(void *sim, char *err, size_t errlen);
    int (*prepare)(void *sim, char *err, size_t errlen);
    int (*run)(void *sim);
    double (*memory)(const void *sim, int threads);
} SimCommand;

/* The skeleton of every command: parses argv (flags from argv[2]) into settings, whose
   SimRun member is run; answers --help; resolves; creates the run directory (into dir,
   see sim_setup_run) once the memory the run needs is known to fit (else exit 2, nothing
   created); sets *threads (0 = all cores); prepares; runs. Returns the exit status, the
   reason printed. */
int sim_main(const SimCommand *cmd, void *sim, void *settings, SimRun *run, char *dir,
             size_t dirlen, int *threads, int argc, char **argv);

/* 0 if a run that allocates `bytes` fits into this machine's memory, else -1 with a
   one-line reason in err (a usage error: the flags ask for more than there is). */
int sim_check_memory(double bytes, char *err, size_t errlen);
/* Bytes of one SdeWork of n tokens of width d (sde_work_init). */
double sim_sde_work_bytes(int n, int d);

/* config.json of a command of the limit dynamics (pair, tokens): the saved rows of its
   table, the number of steps, alpha = sqrt(h) and the thread count. 0, or -1 with err. */
int sim_write_limit_config(const Option *opts, int n, const void *settings, long steps,
                           double h, int threads, const char *dir, char *err, size_t errlen);

/* The run directory of a subcommand: run_dir if given (non-empty), else runs/NAME, else
   runs/<cmd>-<YYYYmmdd-HHMMSS>. Refuses an existing directory unless force, then creates
   it (with parents). The path goes into dir_out. Returns the exit status: 0; 2 if the
   directory already exists (a usage error); 1 if it cannot be created; the reason is
   printed. Callers write whole files atomically (text_begin/text_commit), so --force
   replaces the files of an earlier run of the same command. */
int sim_setup_run(const char *cmd, const char *name, const char *run_dir, int force,
                  char *dir_out, size_t len);

/* The number of steps L = T/h of the limit dynamics, or -1 with the reason in err when
   T is not a whole number of steps h or there are more than 1e10. */
long sim_steps(double T, double h, char *err, size_t errlen);

/* The option-table rows every command shares. Type is the command's settings struct,
   with a SimRun member run.
   threads is not saved from the table: each command writes the resolved count. */
#define SIM_RUN_OPTIONS(Type, cmd)                                                          \
    {"seed", "1", "seed of every draw", T_LONG, OPTION_FIELD(Type, run.seed), 0, 9e18, NULL, 1, 0}, \
    {"threads", "0", "threads (0 = all cores); the results do not depend on it", T_INT,       \
     OPTION_FIELD(Type, run.threads), 0, 1024, NULL, 0, 0},                                   \
    {"name", "", "run name: the run directory is runs/NAME (default: " cmd "-<time>)",       \
     T_STRING, OPTION_FIELD(Type, run.name), 0, 0, NULL, 0, 0},                               \
    {"run-dir", "", "run directory path (overrides --name)", T_STRING,                        \
     OPTION_FIELD(Type, run.run_dir), 0, 0, NULL, 0, 0},                                      \
    {"force", NULL, "start over in an existing run directory (its files are replaced)",       \
     T_FLAG, OPTION_FIELD(Type, run.force), 0, 0, NULL, 0, 0}

/* The rows of the limit dynamics (include/sde.h) shared by pair and tokens. Type has
   double fields T, h, noise_scale, value_mean. */
#define SIM_LIMIT_OPTIONS(Type)                                                             \
    {"T", "200", "horizon T (time of the limit; L = T/h layers)", T_DOUBLE,                  \
     OPTION_FIELD(Type, T), 1e-9, 1e9, NULL, 1, 0},                                          \
    {"h", "0.01", "step h = T/L; the residual scale is alpha = sqrt(h)", T_DOUBLE,            \
     OPTION_FIELD(Type, h), 1e-9, 1, NULL, 1, 0},                                            \
    {"noise-scale", "1", "V = value_mean*I + noise_scale*G, G entries N(0, 1/d)", T_DOUBLE,   \
     OPTION_FIELD(Type, noise_scale), 0, 1e6, NULL, 1, 0},                                   \
    {"value-mean", "0", "value_mean (the network's map: drift sqrt(h)*value_mean*a_i per step)", \
     T_DOUBLE, OPTION_FIELD(Type, value_mean), -1e6, 1e6, NULL, 1, 0}

/* Prints "simulate: msg" and where to find the flags of cmd; returns exit status 2. */
int sim_usage_error(const char *cmd, const char *msg);


/* rows tokens of width d, uniform on the sphere of radius sqrt(d) (the norm rmsnorm
   gives): Gaussian rows, normalized in double. X (rows, d). */
void sim_sphere_tokens(float *X, int rows, int d, Rng *r);
/* sets token sets of n tokens near one point each (a cluster to watch contract or spread):
   x_i = sqrt(d) normalize(e + spread z_i), e uniform on the unit sphere per set, z_i iid
   N(0, I/d), so 1 - <u_i, u_j> is about spread^2 for small spread. X (sets, n, d). */
void sim_cap_tokens(float *X, int sets, int n, int d, double spread, Rng *r);
#endif
