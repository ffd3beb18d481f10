/* The JSON files of a ./train run directory: config.json (the settings and what the run
   resolved from them) and summary.json (how the run ended), written whole or not at all;
   and the two read back by --resume. The CSV logs are written by the loop (train.c). */
#ifndef RUNFILES_H
#define RUNFILES_H
#include <stddef.h>

#include "config.h"
#include "data.h"
#include "memest.h"
#include "model.h"

/* What config.json records besides the settings. */
typedef struct {
    const Config *cfg;
    const ModelShape *shape;
    const Dataset *train, *test;   /* their sizes; train's image size when patch > 0 */
    int patch;                     /* 0 for token sequences */
    long total_steps;
    size_t parameters;
    const MemEstimate *mem;
    const char *git_commit;
} RunRecord;

/* How an invocation ended, for summary.json. */
typedef struct {
    const char *status;      /* finished, stopped, interrupted, diverged */
    long step;               /* updates applied */
    double test_loss, test_acc;   /* test_acc < 0: no test score */
    double seconds;
    long steps_run;          /* updates of this invocation */
    long diverged_at;        /* diverged: the update with a non-finite value (else 0) */
    long checkpoint_step;    /* diverged: the step of the checkpoint kept, -1 if none */
} RunEnd;

/* dir/config.json; 0, or -1 with err. */
int runfiles_write_config(const char *dir, const RunRecord *r, char *err, size_t errlen);
/* dir/summary.json of a run of total_steps updates of batch examples on threads threads;
   0, or -1 with err. */
int runfiles_write_summary(const char *dir, const RunEnd *e, long total_steps, int batch,
                           int threads, char *err, size_t errlen);
/* --resume: the settings of dir/config.json into c (config_read_json); -1 with err naming
   the file. */
int runfiles_read_config(const char *dir, Config *c, char *err, size_t errlen);
/* 1 if dir/summary.json holds "status": "<status>". */
int runfiles_summary_says(const char *dir, const char *status);
#endif
