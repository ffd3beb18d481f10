/* Every setting of ./train, from one table that drives parsing, --help, config.json and
   --resume, so the four can never disagree. */
#ifndef CONFIG_H
#define CONFIG_H
#include <stdio.h>

typedef struct {
    /* data */
    char dataset[32], data_dir[1024];
    int seq_len, vocab, train_size, test_size;
    /* model */
    int d, layers, heads, patch, mlp;
    double beta, noise_scale, value_mean, value_drift, horizon;
    char residual_scale[16], qk[16];
    long seed;
    /* optimization */
    char optimizer[16], schedule[16];
    double lr, min_lr, momentum, beta1, beta2, eps, weight_decay, clip, epochs;
    long steps, warmup;
    int batch;
    char freeze[64];      /* --freeze LIST: tensor groups kept at their initial values */
    /* logging */
    long eval_every, log_every, cluster_every;
    int probe_size;
    double delta;
    /* run */
    char name[256], run_dir[1024];
    int threads, resume, force;
    long stop_after;
    unsigned char given[64];   /* given[i]: option i of the table was on the command line */
} Config;

enum { CONFIG_OK = 0, CONFIG_HELP = 1, CONFIG_ERROR = 2 };   /* as OPTIONS_OK/HELP/ERROR */

/* Fills defaults, then applies argv and checks the flags: each value in its range, and
   every rule between flags (--resume and what goes with it, --steps or --epochs, a folder
   dataset's --data-dir, --heads dividing --d, --value-mean or --value-drift, --freeze).
   On error writes one line to err (exit status 2). Records in c->given which flags the
   user set. */
int config_parse(Config *c, int argc, char **argv, char *err, size_t errlen);
/* --eval-every and --cluster-every when not given (0 after config_parse; --resume reads
   them from config.json): total_steps / 4 and / 16, rounded, at least 1. */
void config_resolve_intervals(Config *c, long total_steps);
/* Was this flag (e.g. "steps") given on the command line of the last config_parse? */
int config_given(const Config *c, const char *flag);
void config_help(FILE *out);

/* Writes the saved settings as "key": value lines (no braces) for config.json. */
void config_write_json(const Config *c, FILE *out);
/* Restores the saved settings from a config.json text and checks them as the flags are
   checked; flags given on the command line that --resume allows (steps, epochs, threads,
   stop-after, ...) are kept, and a --steps or --epochs given replaces the saved one. */
int config_read_json(Config *c, const char *json, char *err, size_t errlen);
/* The --freeze list as a mask of freeze.h (the list was checked when it was read). */
unsigned config_freeze_mask(const Config *c);
/* Calls fn with the name (as in config.json) and value text of every saved setting that
   defines the run's model, data, optimizer or metrics: those --resume may not change. Not
   data_dir: the same files moved to another folder are the same data (the dataset, its
   sizes, classes and input size are compared). */
void config_each_defining(const Config *c, void (*fn)(void *ctx, const char *key, const char *value),
                          void *ctx);
#endif
