/* ./simulate: token dynamics of deep random Transformers at initialization (MODEL.md).
   src/simulate.c dispatches `./simulate COMMAND [flags]` to one of the entry points below;
   each gets the whole argv (argv[0] "simulate", argv[1] the command, flags from argv[2])
   and returns the exit status: 0 done, 1 runtime error (data, files), 2 bad flags. */
#ifndef SIMULATE_H
#define SIMULATE_H
#include <stddef.h>

#include "rng.h"

int sim_depth_main(int argc, char **argv);    /* src/sim_depth.c */
int sim_pair_main(int argc, char **argv);     /* src/sim_pair.c */
int sim_tokens_main(int argc, char **argv);   /* src/sim_tokens.c */

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
   with fields seed (long), threads (int), name, run_dir (strings) and force (int).
   threads is not saved from the table: each command writes the resolved count. */
#define SIM_RUN_OPTIONS(Type, cmd)                                                          \
    {"seed", "1", "seed of every draw", T_LONG, OPTION_FIELD(Type, seed), 0, 9e18, NULL, 1, 0}, \
    {"threads", "0", "threads (0 = all cores); the results do not depend on it", T_INT,       \
     OPTION_FIELD(Type, threads), 0, 1024, NULL, 0, 0},                                      \
    {"name", "", "run name: the run directory is runs/NAME (default: " cmd "-<time>)",       \
     T_STRING, OPTION_FIELD(Type, name), 0, 0, NULL, 0, 0},                                   \
    {"run-dir", "", "run directory path (overrides --name)", T_STRING,                        \
     OPTION_FIELD(Type, run_dir), 0, 0, NULL, 0, 0},                                          \
    {"force", NULL, "start over in an existing run directory (its files are replaced)",       \
     T_FLAG, OPTION_FIELD(Type, force), 0, 0, NULL, 0, 0}

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
#endif
