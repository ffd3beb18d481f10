/* The initialization of the theory's setting (MODEL.md, "Initialization"): --qk identity and
   the value mean in the depth limit's units (--value-drift, --horizon), in ./train and
   ./simulate depth, against their definitions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model.h"
#include "proc.h"
#include "safetensors.h"

static char out[1 << 16];

#define TINY "--dataset majority --d 8 --layers 2 --steps 1 --train-size 64 --test-size 16 " \
             "--batch 16 --threads 1 --probe-size 8"

/* Q = K = I exactly in every layer; every other weight as model_init drew it. */
static void test_qk_identity_sets_q_k_only(void) {
    ModelShape s = {.d = 16, .L = 3, .H = 2, .n = 8, .in_dim = 12, .C = 4, .M = 8,
                    .beta = 1.0f, .alpha = 0.5f};
    Model a, b;
    model_build(&a, s, 1, 1);
    model_build(&b, s, 1, 1);
    model_init(&a, 11, 1.0f, 0.5f);
    model_init(&b, 11, 1.0f, 0.5f);
    model_set_qk_identity(&b);
    int identity = 1, others_same = 1;
    for (int l = 0; l < s.L; l++) {
        for (int i = 0; i < s.d; i++)
            for (int j = 0; j < s.d; j++) {
                float want = i == j ? 1.0f : 0.0f;
                identity &= b.w.layers[l].wq[i * s.d + j] == want && b.w.layers[l].wk[i * s.d + j] == want;
            }
        size_t dd = (size_t)s.d * s.d;
        others_same &= memcmp(a.w.layers[l].wv, b.w.layers[l].wv, sizeof(float) * dd) == 0;
        others_same &= memcmp(a.w.layers[l].w1, b.w.layers[l].w1, sizeof(float) * s.d * s.M) == 0;
    }
    others_same &= memcmp(a.w.embed, b.w.embed, sizeof(float) * s.in_dim * s.d) == 0;
    CHECK(identity, "--qk identity: Q_l = K_l = I in every layer");
    CHECK(others_same, "--qk identity leaves V, W1 and the embedding as the seed drew them");
    model_free(&a);
    model_free(&b);
}

/* config.json of a fresh ./train run made with args in root/NAME; its text (malloc'd) or NULL. */
static char *train_config(const char *root, const char *name, const char *args, int *rc) {
    char cmd[1024], path[512];
    snprintf(cmd, sizeof cmd, "./train " TINY " %s --run-dir %s/%s", args, root, name);
    *rc = run_cmd(cmd, out, sizeof out);
    snprintf(path, sizeof path, "%s/%s/config.json", root, name);
    return *rc == 0 ? slurp(path) : NULL;
}

/* value_mean = m / (L alpha), alpha = 1/sqrt(L) or sqrt(T/L) with --horizon T */
static void test_value_drift_is_in_depth_units(void) {
    char root[256];
    make_temp_dir(root, sizeof root);
    struct { const char *args; double value_mean, value_drift, alpha; } cases[] = {
        {"--layers 16 --value-drift 4", 1.0, 4.0, 0.25},        /* V = I at L 16 is m = 4 */
        {"--layers 64 --value-drift 8", 1.0, 8.0, 0.125},       /* ... at L 64, m = 8 */
        {"--layers 4 --value-drift 1", 0.5, 1.0, 0.5},
        {"--layers 16 --horizon 4 --value-drift 2", 0.25, 2.0, 0.5},
        {"--layers 16 --value-mean 1", 1.0, 4.0, 0.25},        /* the drift written back */
        {"--layers 16", 0.0, 0.0, 0.25},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char name[16];
        int rc;
        snprintf(name, sizeof name, "r%zu", i);
        char *cfg = train_config(root, name, cases[i].args, &rc);
        CHECK(cfg != NULL, "%s: exit %d: %s", cases[i].args, rc, out);
        if (!cfg) continue;
        CHECK_CLOSE(json_number(cfg, "value_mean"), cases[i].value_mean, 0, 1e-6, cases[i].args);
        CHECK_CLOSE(json_number(cfg, "value_drift"), cases[i].value_drift, 0, 1e-6, cases[i].args);
        CHECK_CLOSE(json_number(cfg, "alpha"), cases[i].alpha, 0, 1e-6, cases[i].args);
        free(cfg);
    }
}

static void test_depth_unit_flags_refused(void) {
    const char *bad[][2] = {
        {"--value-mean 1 --value-drift 4", "--value-mean and --value-drift"},
        {"--residual-scale linear --horizon 2", "--horizon needs --residual-scale sqrt"},
        {"--qk diagonal", "--qk: 'diagonal' is not one of random|identity"},
    };
    for (int i = 0; i < 3; i++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "./train " TINY " %s --run-dir /tmp/train-test-never-created", bad[i][0]);
        int rc = run_cmd(cmd, out, sizeof out);
        CHECK(rc == 2 && strstr(out, bad[i][1]), "%s: exit %d: %s", bad[i][0], rc, out);
        snprintf(cmd, sizeof cmd, "./simulate depth --draws 1 --layers 2 --d 8 %s "
                 "--run-dir /tmp/train-test-never-created", bad[i][0]);
        rc = run_cmd(cmd, out, sizeof out);
        CHECK(rc == 2 && strstr(out, bad[i][1]), "simulate depth %s: exit %d: %s", bad[i][0], rc, out);
    }
    CHECK(run_cmd("test -e /tmp/train-test-never-created", out, sizeof out) != 0,
          "no run directory is created for bad input");
}

/* A trained run with --qk identity and Q, K frozen still has Q = K = I in its checkpoint, its
   metadata says qk identity, and its V is the V of --qk random with the same seed. */
static void test_train_qk_identity_checkpoint(void) {
    char root[256], path[512], err[256];
    make_temp_dir(root, sizeof root);
    int rc;
    char *cfg = train_config(root, "id", "--qk identity --freeze q,k,v", &rc);
    CHECK(cfg && strstr(cfg, "\"qk\": \"identity\""), "config.json says qk identity: %d %s", rc, out);
    free(cfg);
    free(train_config(root, "rnd", "--freeze q,k,v", &rc));
    StFile id, rnd;
    snprintf(path, sizeof path, "%s/id/model.safetensors", root);
    int ok = st_read(&id, path, err, sizeof err) == 0;
    snprintf(path, sizeof path, "%s/rnd/model.safetensors", root);
    ok = ok && st_read(&rnd, path, err, sizeof err) == 0;
    CHECK(ok, "checkpoints read: %s", err);
    if (!ok) return;
    float q[64], v1[64], v2[64];
    int is_identity = st_get(&id, "layers.1.q", q, 64) == 0;
    for (int i = 0; i < 64; i++) is_identity &= q[i] == (i % 9 == 0 ? 1.0f : 0.0f);
    CHECK(is_identity, "layers.1.q of the trained --qk identity run is I");
    CHECK(st_get(&id, "layers.0.v", v1, 64) == 0 && st_get(&rnd, "layers.0.v", v2, 64) == 0 &&
          memcmp(v1, v2, sizeof v1) == 0, "V is the same with --qk identity and random");
    const char *meta = st_meta(&id, "qk");
    CHECK(meta && strcmp(meta, "identity") == 0, "checkpoint metadata qk: %s", meta ? meta : "(none)");
    st_free(&id);
    st_free(&rnd);
}

/* A run directory from before --qk, --horizon and --value-drift existed resumes with their
   defaults (random, 1, value_mean * L * alpha). */
static void test_resume_settings_from_before_the_flags(void) {
    char root[256], cmd[1200];
    make_temp_dir(root, sizeof root);
    snprintf(cmd, sizeof cmd, "./train " TINY " --steps 2 --stop-after 1 --value-mean 0.5 --run-dir %s/old "
             "&& sed -i -e '/\"qk\"/d' -e '/\"horizon\"/d' -e '/\"value_drift\"/d' %s/old/config.json"
             " && ./train --resume --run-dir %s/old", root, root, root);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "resume of a config.json without qk, horizon, value_drift: %d %s", rc, out);
    char path[512];
    snprintf(path, sizeof path, "%s/old/config.json", root);
    char *cfg = slurp(path);
    CHECK(cfg && strstr(cfg, "\"qk\": \"random\"") && json_number(cfg, "horizon") == 1 &&
          fabs(json_number(cfg, "value_drift") - 0.5 * 2 / sqrt(2.0)) < 1e-6,
          "the resumed config.json has the defaults: %s", cfg ? cfg : "(none)");
    free(cfg);
}

static void test_simulate_depth_qk_identity(void) {
    char root[256], cmd[512], path[512];
    make_temp_dir(root, sizeof root);
    snprintf(cmd, sizeof cmd, "./simulate depth --draws 2 --batch 2 --layers 16 --d 8 --qk identity "
             "--value-drift 4 --noise-scale 0 --threads 1 --run-dir %s/d", root);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "simulate depth --qk identity: %d %s", rc, out);
    snprintf(path, sizeof path, "%s/d/config.json", root);
    char *cfg = slurp(path);
    CHECK(cfg && strstr(cfg, "\"qk\": \"identity\"") && json_number(cfg, "value_mean") == 1,
          "depth config.json: qk identity, value_mean 1: %s", cfg ? cfg : "(none)");
    free(cfg);
}

SUITE(paper_init_tests) = {
    {"qk_identity_sets_q_k_only", test_qk_identity_sets_q_k_only},
    {"value_drift_is_in_depth_units", test_value_drift_is_in_depth_units},
    {"depth_unit_flags_refused", test_depth_unit_flags_refused},
    {"train_qk_identity_checkpoint", test_train_qk_identity_checkpoint},
    {"resume_settings_from_before_the_flags", test_resume_settings_from_before_the_flags},
    {"simulate_depth_qk_identity", test_simulate_depth_qk_identity},
    END_SUITE,
};
