/* The settings of ./train: the option table (flags, defaults, help) and its uses. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "freeze.h"
#include "json.h"
#include "model_options.h"
#include "options.h"

#define F(field) OPTION_FIELD(Config, field)

static const Option OPTIONS[] = {
    /* data */
    {"dataset", "fashion-mnist", "fashion-mnist | folder | majority | repeat", T_STRING, F(dataset), 0, 0, "fashion-mnist|folder|majority|repeat", 1, 0},
    {"data-dir", "/usr/share/datasets/fashion-mnist", "IDX files (fashion-mnist) or ROOT of ROOT/{train,test}/<class>/ (folder)", T_STRING, F(data_dir), 0, 0, NULL, 1, 0},
    {"seq-len", "16", "synthetic tasks: tokens per sequence", T_INT, F(seq_len), 2, 4096, NULL, 1, 0},
    {"vocab", "8", "synthetic tasks: number of symbols", T_INT, F(vocab), 2, 65536, NULL, 1, 0},
    {"train-size", "20000", "synthetic tasks: training examples", T_INT, F(train_size), 1, 1e8, NULL, 1, 0},
    {"test-size", "2000", "synthetic tasks: test examples", T_INT, F(test_size), 1, 1e8, NULL, 1, 0},
    /* model */
    MODEL_SIZE_OPTIONS(Config, "16"),
    {"patch", "7", "image patch side p (must divide the image sides)", T_INT, F(patch), 1, 4096, NULL, 1, 0},
    MODEL_LAYER_OPTIONS(Config),
    {"seed", "1", "seed of every random draw (weights, data order, synthetic data)", T_LONG, F(seed), 0, 9e18, NULL, 1, 0},
    /* optimization */
    {"optimizer", "adam", "sgd | adam | adamw", T_STRING, F(optimizer), 0, 0, "sgd|adam|adamw", 1, 0},
    {"lr", "1e-3", "peak learning rate", T_DOUBLE, F(lr), 0, 1e6, NULL, 1, 0},
    {"min-lr", "0", "learning rate at the end of the cosine decay", T_DOUBLE, F(min_lr), 0, 1e6, NULL, 1, 0},
    {"schedule", "cosine", "after warmup: cosine (decay to --min-lr) | constant", T_STRING, F(schedule), 0, 0, "cosine|constant", 1, 0},
    {"warmup", "100", "linear warmup updates", T_LONG, F(warmup), 0, 1e12, NULL, 1, 0},
    {"momentum", "0", "SGD momentum", T_DOUBLE, F(momentum), 0, 1, NULL, 1, 0},
    {"beta1", "0.9", "Adam beta1", T_DOUBLE, F(beta1), 0, 1, NULL, 1, 0},
    {"beta2", "0.999", "Adam beta2", T_DOUBLE, F(beta2), 0, 1, NULL, 1, 0},
    {"eps", "1e-8", "Adam epsilon", T_DOUBLE, F(eps), 0, 1, NULL, 1, 0},
    {"weight-decay", "0", "L2 (sgd, adam) or decoupled (adamw) weight decay", T_DOUBLE, F(weight_decay), 0, 1e6, NULL, 1, 0},
    {"freeze", "", "comma list of tensors kept at their initial values, untrained: embed,pos,q,k,v,w1,w2,head (q = every layer's q; head = weight and bias)", T_STRING, F(freeze), 0, 0, NULL, SAVED_OPTIONAL, 0},
    {"clip", "0", "clip the global gradient norm to this (0 = off)", T_DOUBLE, F(clip), 0, 1e12, NULL, 1, 0},
    {"batch", "128", "examples per update", T_INT, F(batch), 1, 1e6, NULL, 1, 0},
    {"steps", "4000", "number of updates (give --steps or --epochs, not both)", T_LONG, F(steps), 1, 1e12, NULL, 1, 1},
    {"epochs", "0", "train for this many passes over the training set (0 = use --steps)", T_DOUBLE, F(epochs), 0, 1e6, NULL, 1, 1},
    /* logging */
    {"eval-every", "", "evaluate on the test split (and save a checkpoint) every N updates, and at the end [default: the run's updates / 4, rounded: 1000 at 4000]", T_LONG, F(eval_every), 1, 1e12, NULL, 1, 1},
    {"log-every", "50", "write a train.csv row every N updates", T_LONG, F(log_every), 1, 1e12, NULL, 1, 1},
    {"cluster-every", "", "clustering metrics on the probe batch every N updates, at 0 and at the end [default: the run's updates / 16, rounded: 250 at 4000]", T_LONG, F(cluster_every), 1, 1e12, NULL, 1, 1},
    {"probe-size", "128", "examples in the fixed probe batch (first of the test split)", T_INT, F(probe_size), 1, 100000, NULL, 1, 0},
    {"delta", "0.01", "threshold of frac_clustered, frac_antipodal and n_clusters", T_DOUBLE, F(delta), 0, 2, NULL, 1, 0},
    /* run */
    {"name", "", "run name: the run directory is runs/NAME (default: <dataset>-ns<noise-scale>-seed<seed>-<time>)", T_STRING, F(name), 0, 0, NULL, 0, 1},
    {"run-dir", "", "run directory path (overrides --name)", T_STRING, F(run_dir), 0, 0, NULL, 0, 1},
    {"threads", "0", "threads; each takes a share of every batch (0 = all cores; at most 64: more count as 64; --resume keeps the run's)", T_INT, F(threads), 0, 1024, NULL, 1, 1},
    {"stop-after", "0", "stop and save after N updates of this invocation (0 = run to the end)", T_LONG, F(stop_after), 0, 1e12, NULL, 0, 1},
    {"resume", NULL, "continue the run in the run directory from its last checkpoint", T_FLAG, F(resume), 0, 0, NULL, 0, 1},
    {"force", NULL, "start over in an existing run directory (its files are replaced)", T_FLAG, F(force), 0, 0, NULL, 0, 1},
};
#define NUM_OPTIONS ((int)(sizeof OPTIONS / sizeof *OPTIONS))
_Static_assert(NUM_OPTIONS <= (int)sizeof(((Config *)0)->given), "Config.given is too small");

/* The settings no single table row can check, on the command line or in a config.json
   (from_file: the messages name the file). The model's depth units are resolved here
   (value_mean from --value-drift, and back). */
static int check_settings(Config *c, int from_file, char *err, size_t errlen) {
    const char *where = from_file ? "config.json: freeze" : "--freeze";
    unsigned mask;
    char why[256];
    float alpha;
    if (model_options_resolve(c->residual_scale, c->layers, c->horizon,
                              config_given(c, "value-mean"), config_given(c, "value-drift"),
                              &c->value_mean, &c->value_drift, &alpha, err, errlen) != 0)
        return CONFIG_ERROR;
    if (c->d % c->heads != 0)
        return snprintf(err, errlen, "%s--heads %d does not divide --d %d",
                        from_file ? "config.json: " : "", c->heads, c->d), CONFIG_ERROR;
    if (freeze_parse(c->freeze, &mask, why, sizeof why) != 0)
        return snprintf(err, errlen, "%s: %s", where, why), CONFIG_ERROR;
    if (c->mlp == 0 && (mask & (FREEZE_W1 | FREEZE_W2)))
        return snprintf(err, errlen, "%s: w1 and w2 exist only with an MLP (--mlp M > 0)",
                        where), CONFIG_ERROR;
    unsigned all = c->mlp ? FREEZE_ALL : FREEZE_ALL & ~(unsigned)(FREEZE_W1 | FREEZE_W2);
    if (mask == all)
        return snprintf(err, errlen, "%s: '%s' leaves no tensor to train", where, c->freeze),
               CONFIG_ERROR;
    return CONFIG_OK;
}

/* With --resume: only the flags that do not change what the run computes. */
static int check_resume_flags(const Config *c, char *err, size_t errlen) {
    for (int i = 0; i < NUM_OPTIONS; i++)
        if (c->given[i] && !OPTIONS[i].resumable) {
            snprintf(err, errlen, "--%s cannot be changed with --resume (the run keeps its saved "
                     "settings; only --steps, --epochs, --eval-every, --log-every, "
                     "--cluster-every, --threads and --stop-after may be given)", OPTIONS[i].flag);
            return -1;
        }
    return 0;
}

/* The rules between flags of one command line: what goes with --resume, and the flags
   that exclude or need each other. */
static int check_command_line(const Config *c, char *err, size_t errlen) {
#define REFUSE(...) return snprintf(err, errlen, __VA_ARGS__), CONFIG_ERROR
    if (c->resume && !*c->name && !*c->run_dir) REFUSE("--resume needs --name or --run-dir");
    if (c->resume && c->force) REFUSE("--resume and --force exclude each other");
    if (c->resume && check_resume_flags(c, err, errlen) != 0) return CONFIG_ERROR;
    if (config_given(c, "steps") && config_given(c, "epochs")) REFUSE("give --steps or --epochs, not both");
    if (strcmp(c->dataset, "folder") == 0 && !config_given(c, "data-dir") && !c->resume)
        REFUSE("--dataset folder needs --data-dir ROOT (with ROOT/train and ROOT/test)");
    return CONFIG_OK;
#undef REFUSE
}

int config_parse(Config *c, int argc, char **argv, char *err, size_t errlen) {
    memset(c, 0, sizeof *c);
    int rc = options_parse(OPTIONS, NUM_OPTIONS, c, c->given, argc, argv, 1, err, errlen);
    /* with --resume the saved settings are checked once read (config_read_json) */
    if (rc == CONFIG_OK && !c->resume) rc = check_settings(c, 0, err, errlen);
    return rc == CONFIG_OK ? check_command_line(c, err, errlen) : rc;
}

/* Every N updates, N = total / parts rounded (at least 1): 1000 and 250 at 4000 updates,
   the fixed values these flags had, so that runs at the default length are as before. */
static long every(long total, int parts) {
    long n = lround((double)total / parts);
    return n > 0 ? n : 1;
}

void config_resolve_intervals(Config *c, long total_steps) {
    if (c->eval_every == 0) c->eval_every = every(total_steps, 4);
    if (c->cluster_every == 0) c->cluster_every = every(total_steps, 16);
}

unsigned config_freeze_mask(const Config *c) {
    unsigned mask = 0;
    char why[256];
    freeze_parse(c->freeze, &mask, why, sizeof why);
    return mask;
}

int config_given(const Config *c, const char *flag) {
    const Option *o = options_find(OPTIONS, NUM_OPTIONS, flag);
    return o ? c->given[o - OPTIONS] : 0;
}

void config_help(FILE *out) {
    fprintf(out,
            "Usage: ./train [flags]\n"
            "Trains the deep Transformer of MODEL.md and logs per-layer token-clustering metrics\n"
            "into a run directory (runs/NAME/). Flags take a value as '--flag V' or '--flag=V'.\n\n");
    options_help(OPTIONS, NUM_OPTIONS, out);
    fprintf(out, "\nExit status: 0 done, 1 runtime error (data, files, a checkpoint that fails its\n"
                 "checks, a failed write, the run directory in use by another process),\n"
                 "2 bad flags or values,\n"
                 "3 diverged (a non-finite loss, gradient or weight; the last good checkpoint is kept,\n"
                 "summary.json says \"diverged\"), 130 interrupted by Ctrl-C after saving a checkpoint\n"
                 "(continue with --resume). A plot that cannot be drawn (no gnuplot, a full disk)\n"
                 "is reported on stderr as \"only the plots failed\" and leaves the exit status as\n"
                 "it is: a plot is written whole or not at all, and --resume of a finished run\n"
                 "draws a missing one again. A config.json that --resume finds changed since the\n"
                 "checkpoint (a setting of the model, data or optimizer) is refused with exit 2.\n");
}

void config_write_json(const Config *c, FILE *out) { options_write_json(OPTIONS, NUM_OPTIONS, c, out); }

int config_read_json(Config *c, const char *json, char *err, size_t errlen) {
    if (options_read_json(OPTIONS, NUM_OPTIONS, c, c->given, json, err, errlen) != 0) return -1;
    /* --steps or --epochs given with --resume replaces the saved one of the two */
    if (config_given(c, "epochs")) c->steps = 0;
    if (config_given(c, "steps")) c->epochs = 0;
    return check_settings(c, 1, err, errlen) == CONFIG_OK ? 0 : -1;
}

void config_each_defining(const Config *c, void (*fn)(void *ctx, const char *key, const char *value),
                          void *ctx) {
    for (int i = 0; i < NUM_OPTIONS; i++) {
        const Option *o = &OPTIONS[i];
        if (!o->saved || o->resumable || strcmp(o->flag, "data-dir") == 0) continue;
        char key[64], value[1100];
        snprintf(key, sizeof key, "%s", o->flag);
        for (char *p = key; *p; p++) *p = *p == '-' ? '_' : *p;
        options_value_text(o, c, value, sizeof value);
        fn(ctx, key, value);
    }
}
