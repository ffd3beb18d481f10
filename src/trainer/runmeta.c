/* The metadata of a run's checkpoint; see runmeta.h. */
#include "runmeta.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Adds key = printf(fmt, ...) to the model list (settings = 0) or the settings list. */
static void meta_add(RunMeta *rm, int settings, const char *key, const char *fmt, ...) {
    if (rm->used == RUNMETA_MAX) return;   /* the tables are sized for every setting */
    char *k = rm->key[rm->used], *v = rm->text[rm->used];
    snprintf(k, sizeof rm->key[0], "%s%s", settings ? "config." : "", key);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof rm->text[0], fmt, ap);
    va_end(ap);
    rm->used++;
    if (settings) rm->settings[rm->settings_count++] = (StMeta){k, v};
    else rm->model[rm->model_count++] = (StMeta){k, v};
}

static void add_setting(void *ctx, const char *key, const char *value) {
    meta_add((RunMeta *)ctx, 1, key, "%s", value);
}

void runmeta_build(RunMeta *rm, const Config *c, const ModelShape *s, int patch) {
    memset(rm, 0, sizeof *rm);
    meta_add(rm, 0, "d", "%d", s->d);
    meta_add(rm, 0, "L", "%d", s->L);
    meta_add(rm, 0, "H", "%d", s->H);
    meta_add(rm, 0, "n", "%d", s->n);
    meta_add(rm, 0, "patch", "%d", patch);
    meta_add(rm, 0, "beta", "%.9g", s->beta);
    meta_add(rm, 0, "alpha", "%.9g", s->alpha);
    meta_add(rm, 0, "residual_scale", "%s", c->residual_scale);
    meta_add(rm, 0, "mlp", "%d", s->M);
    meta_add(rm, 0, "noise_scale", "%.9g", c->noise_scale);
    meta_add(rm, 0, "value_mean", "%.9g", c->value_mean);
    meta_add(rm, 0, "seed", "%ld", c->seed);
    meta_add(rm, 0, "dataset", "%s", c->dataset);
    meta_add(rm, 0, "classes", "%d", s->C);
    meta_add(rm, 0, "input", "%s", s->tokens_input ? "tokens" : "patches");
    meta_add(rm, 0, "input_dim", "%d", s->in_dim);
    if (*c->freeze) meta_add(rm, 0, "freeze", "%s", c->freeze);   /* absent: all trained */
    /* absent: random; so a default run's model.safetensors keeps its bytes */
    if (strcmp(c->qk, "random") != 0) meta_add(rm, 0, "qk", "%s", c->qk);
    config_each_defining(c, add_setting, rm);
}

CheckpointMeta runmeta_view(const RunMeta *rm) {
    return (CheckpointMeta){rm->model, rm->model_count, rm->settings, rm->settings_count};
}
