/* The option table of ./train: each row is a flag, its type, default and help. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef enum { T_INT, T_LONG, T_DOUBLE, T_STRING, T_FLAG } Type;

/* saved: written to config.json and restored by --resume.
   resumable: may be given together with --resume (does not change what was trained). */
typedef struct {
    const char *flag, *def, *help;
    Type type;
    size_t offset, size;
    double min, max;         /* numeric range */
    const char *choices;     /* "a|b|c" for strings with fixed values, else NULL */
    int saved, resumable;
} Option;

#define F(field) offsetof(Config, field), sizeof(((Config *)0)->field)
#define INF HUGE_VAL

static const Option OPTIONS[] = {
    /* data */
    {"dataset", "fashion-mnist", "fashion-mnist | folder | majority | repeat", T_STRING, F(dataset), 0, 0, "fashion-mnist|folder|majority|repeat", 1, 0},
    {"data-dir", "/usr/share/datasets/fashion-mnist", "IDX files (fashion-mnist) or ROOT of ROOT/{train,test}/<class>/ (folder)", T_STRING, F(data_dir), 0, 0, NULL, 1, 0},
    {"seq-len", "16", "synthetic tasks: tokens per sequence", T_INT, F(seq_len), 2, 4096, NULL, 1, 0},
    {"vocab", "8", "synthetic tasks: number of symbols", T_INT, F(vocab), 2, 65536, NULL, 1, 0},
    {"train-size", "20000", "synthetic tasks: training examples", T_INT, F(train_size), 1, 1e8, NULL, 1, 0},
    {"test-size", "2000", "synthetic tasks: test examples", T_INT, F(test_size), 1, 1e8, NULL, 1, 0},
    /* model */
    {"d", "64", "model width", T_INT, F(d), 1, 65536, NULL, 1, 0},
    {"layers", "16", "number of layers L", T_INT, F(layers), 1, 100000, NULL, 1, 0},
    {"heads", "1", "attention heads (must divide d)", T_INT, F(heads), 1, 65536, NULL, 1, 0},
    {"patch", "7", "image patch side p (must divide the image sides)", T_INT, F(patch), 1, 4096, NULL, 1, 0},
    {"mlp", "0", "MLP width M after each attention (0 = no MLP)", T_INT, F(mlp), 0, 1e6, NULL, 1, 0},
    {"beta", "1", "attention inverse temperature", T_DOUBLE, F(beta), 0, 1e6, NULL, 1, 0},
    {"residual-scale", "sqrt", "alpha: sqrt = 1/sqrt(L), linear = 1/L, one = 1", T_STRING, F(residual_scale), 0, 0, "sqrt|linear|one", 1, 0},
    {"noise-scale", "1", "V = value_mean*I + noise_scale*G; 0 = suppressed noise", T_DOUBLE, F(noise_scale), 0, 1e6, NULL, 1, 0},
    {"value-mean", "0", "value_mean in the initialization of V", T_DOUBLE, F(value_mean), -1e6, 1e6, NULL, 1, 0},
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
    {"clip", "0", "clip the global gradient norm to this (0 = off)", T_DOUBLE, F(clip), 0, 1e12, NULL, 1, 0},
    {"batch", "128", "examples per update", T_INT, F(batch), 1, 1e6, NULL, 1, 0},
    {"steps", "4000", "number of updates (ignored if --epochs is given)", T_LONG, F(steps), 1, 1e12, NULL, 1, 1},
    {"epochs", "0", "train for this many passes over the training set instead of --steps", T_DOUBLE, F(epochs), 0, 1e6, NULL, 1, 1},
    /* logging */
    {"eval-every", "1000", "evaluate on the test split every N updates (and at the end)", T_LONG, F(eval_every), 1, 1e12, NULL, 1, 1},
    {"log-every", "50", "write a train.csv row every N updates", T_LONG, F(log_every), 1, 1e12, NULL, 1, 1},
    {"cluster-every", "250", "clustering metrics on the probe batch every N updates (and at 0)", T_LONG, F(cluster_every), 1, 1e12, NULL, 1, 1},
    {"probe-size", "128", "examples in the fixed probe batch (first of the test split)", T_INT, F(probe_size), 1, 100000, NULL, 1, 0},
    {"delta", "0.01", "threshold of frac_clustered, frac_antipodal and n_clusters", T_DOUBLE, F(delta), 0, 2, NULL, 1, 0},
    /* run */
    {"name", "", "run name: the run directory is runs/NAME (default: dataset-noise-seed-time)", T_STRING, F(name), 0, 0, NULL, 0, 1},
    {"run-dir", "", "run directory path (overrides --name)", T_STRING, F(run_dir), 0, 0, NULL, 0, 1},
    {"threads", "0", "threads; each takes a share of every batch (0 = all cores; --resume keeps the run's)", T_INT, F(threads), 0, 1024, NULL, 1, 1},
    {"stop-after", "0", "stop and save after N updates of this invocation (0 = run to the end)", T_LONG, F(stop_after), 0, 1e12, NULL, 0, 1},
    {"resume", NULL, "continue the run in the run directory from its last checkpoint", T_FLAG, F(resume), 0, 0, NULL, 0, 1},
    {"force", NULL, "start over in an existing run directory (its files are replaced)", T_FLAG, F(force), 0, 0, NULL, 0, 1},
};
#define NUM_OPTIONS ((int)(sizeof OPTIONS / sizeof *OPTIONS))

_Static_assert(NUM_OPTIONS <= (int)sizeof(((Config *)0)->given), "Config.given is too small");

static const Option *find_option(const char *flag) {
    for (int i = 0; i < NUM_OPTIONS; i++)
        if (strcmp(OPTIONS[i].flag, flag) == 0) return &OPTIONS[i];
    return NULL;
}

static int in_choices(const char *choices, const char *v) {
    size_t n = strlen(v);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0) return 1;
        if (!bar) break;
        p = bar + 1;
    }
    return 0;
}

/* Parses value text into the field of o. Returns 0, or -1 with a reason in err. */
static int set_value(Config *c, const Option *o, const char *v, char *err, size_t errlen) {
    char *field = (char *)c + o->offset, *end = NULL;
    errno = 0;
    if (o->type == T_STRING) {
        if (strlen(v) >= o->size) {
            snprintf(err, errlen, "--%s: value is too long (max %zu characters)", o->flag, o->size - 1);
            return -1;
        }
        if (o->choices && !in_choices(o->choices, v)) {
            snprintf(err, errlen, "--%s: '%s' is not one of %s", o->flag, v, o->choices);
            return -1;
        }
        strcpy(field, v);
        return 0;
    }
    double x = strtod(v, &end);
    if (end == v || *end != '\0' || errno == ERANGE || !isfinite(x)) {
        snprintf(err, errlen, "--%s: '%s' is not a number", o->flag, v);
        return -1;
    }
    if ((o->type == T_INT || o->type == T_LONG) && x != floor(x)) {
        snprintf(err, errlen, "--%s: '%s' is not a whole number", o->flag, v);
        return -1;
    }
    if (x < o->min || x > o->max) {
        snprintf(err, errlen, "--%s: %s is out of range [%g, %g]", o->flag, v, o->min, o->max);
        return -1;
    }
    if (o->type == T_INT) *(int *)field = (int)x;
    else if (o->type == T_LONG) *(long *)field = (long)x;
    else *(double *)field = x;
    return 0;
}

static void set_defaults(Config *c) {
    memset(c, 0, sizeof *c);
    char err[256];
    for (int i = 0; i < NUM_OPTIONS; i++)
        if (OPTIONS[i].def && set_value(c, &OPTIONS[i], OPTIONS[i].def, err, sizeof err) != 0)
            fprintf(stderr, "bad default: %s\n", err);   /* a bug in the table above */
}

int config_parse(Config *c, int argc, char **argv, char *err, size_t errlen) {
    set_defaults(c);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return CONFIG_HELP;
        if (strncmp(a, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument '%s' (flags start with --)", a);
            return CONFIG_ERROR;
        }
        char flag[64];
        const char *eq = strchr(a + 2, '='), *value = NULL;
        size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        snprintf(flag, sizeof flag, "%.*s", (int)(len < 63 ? len : 63), a + 2);
        const Option *o = find_option(flag);
        if (!o) {
            snprintf(err, errlen, "unknown flag '--%s'", flag);
            return CONFIG_ERROR;
        }
        if (o->type == T_FLAG) {
            if (eq) {
                snprintf(err, errlen, "--%s takes no value", flag);
                return CONFIG_ERROR;
            }
            *(int *)((char *)c + o->offset) = 1;
        } else {
            value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (!value) {
                snprintf(err, errlen, "--%s needs a value", flag);
                return CONFIG_ERROR;
            }
            if (set_value(c, o, value, err, errlen) != 0) return CONFIG_ERROR;
        }
        c->given[o - OPTIONS] = 1;
    }
    return CONFIG_OK;
}

int config_given(const Config *c, const char *flag) {
    const Option *o = find_option(flag);
    return o ? c->given[o - OPTIONS] : 0;
}

void config_help(FILE *out) {
    fprintf(out,
            "Usage: ./train [flags]\n"
            "Trains the deep Transformer of MODEL.md and logs per-layer token-clustering metrics\n"
            "into a run directory (runs/NAME/). Flags take a value as '--flag V' or '--flag=V'.\n\n");
    for (int i = 0; i < NUM_OPTIONS; i++) {
        const Option *o = &OPTIONS[i];
        char left[64];
        snprintf(left, sizeof left, "--%s%s", o->flag, o->type == T_FLAG ? "" : " V");
        fprintf(out, "  %-22s %s", left, o->help);
        if (o->type != T_FLAG) fprintf(out, " [default: %s]", *o->def ? o->def : "none");
        fputc('\n', out);
    }
    fprintf(out, "  %-22s %s\n", "--help", "print this help and exit");
    fprintf(out, "\nExit status: 0 done, 1 runtime error (data, files), 2 bad flags or values,\n"
                 "130 interrupted by Ctrl-C after saving a checkpoint (continue with --resume).\n");
}

static void json_key(FILE *out, const char *flag) {
    fputc('"', out);
    for (const char *p = flag; *p; p++) fputc(*p == '-' ? '_' : *p, out);
    fputs("\": ", out);
}

void config_write_json(const Config *c, FILE *out) {
    for (int i = 0; i < NUM_OPTIONS; i++) {
        const Option *o = &OPTIONS[i];
        if (!o->saved) continue;
        const char *field = (const char *)c + o->offset;
        fputs("  ", out);
        json_key(out, o->flag);
        if (o->type == T_STRING) {
            fputc('"', out);
            for (const char *p = field; *p; p++) {
                if (*p == '"' || *p == '\\') fputc('\\', out);
                fputc(*p, out);
            }
            fputc('"', out);
        } else if (o->type == T_INT) {
            fprintf(out, "%d", *(const int *)field);
        } else if (o->type == T_LONG) {
            fprintf(out, "%ld", *(const long *)field);
        } else {
            fprintf(out, "%.17g", *(const double *)field);
        }
        fputs(",\n", out);
    }
}

int config_json_value(const char *json, const char *key, char *v, size_t vlen) {
    char pat[80];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    if (!p) return -1;
    p += strlen(pat);
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    size_t n = 0;
    if (*p == '"') {
        for (p++; *p && *p != '"' && n + 1 < vlen; p++) {
            if (*p == '\\' && p[1]) p++;
            v[n++] = *p;
        }
        if (*p != '"') return -1;
    } else {
        while (*p && *p != ',' && *p != '}' && *p != '\n' && n + 1 < vlen) v[n++] = *p++;
        while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\r')) n--;
    }
    v[n] = '\0';
    return 0;
}

int config_read_json(Config *c, const char *json, char *err, size_t errlen) {
    for (int i = 0; i < NUM_OPTIONS; i++) {
        const Option *o = &OPTIONS[i];
        if (!o->saved || c->given[i]) continue;   /* resumable flags given now win */
        char key[64], value[1100], why[256];
        snprintf(key, sizeof key, "%s", o->flag);
        for (char *p = key; *p; p++) *p = *p == '-' ? '_' : *p;
        if (config_json_value(json, key, value, sizeof value) != 0) {
            snprintf(err, errlen, "config.json: setting '%s' is missing", key);
            return -1;
        }
        if (set_value(c, o, value, why, sizeof why) != 0) {
            snprintf(err, errlen, "config.json: %s", why);
            return -1;
        }
    }
    return 0;
}

int config_check_resume_flags(const Config *c, char *err, size_t errlen) {
    for (int i = 0; i < NUM_OPTIONS; i++)
        if (c->given[i] && !OPTIONS[i].resumable) {
            snprintf(err, errlen, "--%s cannot be changed with --resume (the run keeps its saved "
                     "settings; only --steps, --epochs, --eval-every, --log-every, "
                     "--cluster-every, --threads and --stop-after may be given)", OPTIONS[i].flag);
            return -1;
        }
    return 0;
}
