/* Parity with PyTorch: a few updates of ./train give trained weights; build/parity writes
   what the C model computes on one batch (loss, logits, every gradient, 10 Adam steps) and
   tools/parity.py recomputes it all with tools/torch_model.py. Run from the repository
   root; skipped where Debian's python3-torch is not installed. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "proc.h"

#define PYTHON "/usr/bin/python3"
/* A constant lr of 1e-2 without warmup moves every weight in 5 updates and makes the head
   non-zero, so no gradient is trivially zero; a 16-example probe keeps the metrics cheap. */
#define TRAIN_FLAGS "--batch 16 --steps 5 --threads 1 --warmup 0 --lr 1e-2 --schedule constant " \
                    "--probe-size 16"
#define SYNTH "--train-size 512 --test-size 64"
#define PARITY_FLAGS "--batch 16 --adam-steps 10 --lr 1e-2"

static char out[1 << 16];

/* Probed once, by whichever parity test runs first. */
static int torch_available(void) {
    static int available = -1;
    if (available < 0)
        available = run_cmd(PYTHON " -c 'import torch, numpy'", out, sizeof out) == 0;
    return available;
}

static int run_step(const char *cmd) {
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "%s\n    -> exit %d:\n%s", cmd, rc, out);
    return rc == 0;
}

/* The summary line of tools/parity.py (its last line), shown even when the test passes so
   the log says how close C and PyTorch were. */
static void print_summary(void) {
    size_t len = strlen(out);
    while (len > 0 && out[len - 1] == '\n') out[--len] = '\0';
    const char *last = strrchr(out, '\n');
    fprintf(stderr, "    %s\n", last ? last + 1 : out);
}

static void parity(const char *model_flags) {
    if (!torch_available()) SKIP("python3-torch is not installed");
    char dir[256], cmd[4096];
    make_temp_dir(dir, sizeof dir);
    snprintf(cmd, sizeof cmd, "./train %s " TRAIN_FLAGS " --run-dir %s/run", model_flags, dir);
    if (!run_step(cmd)) return;
    snprintf(cmd, sizeof cmd, "build/parity %s/run %s/parity.safetensors " PARITY_FLAGS, dir, dir);
    if (!run_step(cmd)) return;
    snprintf(cmd, sizeof cmd, PYTHON " tools/parity.py %s/run %s/parity.safetensors", dir, dir);
    if (run_step(cmd)) print_summary();
}

/* Between them the tests cover: images and tokens; one and several heads; MLP on and off;
   each residual scale; noise scale 0, 0.5 and 1; beta != 1; value mean != 0. */

static void test_parity_images_defaults(void) {
    parity("--d 16 --layers 3");   /* 1 head, no MLP, sqrt, noise 1, beta 1 */
}

static void test_parity_images_heads_mlp_linear_noise0(void) {
    parity("--d 16 --layers 3 --heads 4 --mlp 16 --residual-scale linear --noise-scale 0 "
           "--value-mean 0.5 --beta 2");
}

static void test_parity_images_deep_residual_one(void) {
    parity("--d 16 --layers 8 --heads 2 --residual-scale one --beta 3");
}

static void test_parity_repeat_heads_mlp_residual_one(void) {
    parity("--dataset repeat " SYNTH " --d 16 --layers 4 --heads 2 --mlp 8 --residual-scale one "
           "--beta 1.5");
}

static void test_parity_repeat_noise0_value_mean(void) {
    parity("--dataset repeat " SYNTH " --d 16 --layers 3 --noise-scale 0 --value-mean 1");
}

static void test_parity_majority_linear(void) {
    parity("--dataset majority " SYNTH " --d 24 --layers 6 --heads 3 --mlp 12 "
           "--residual-scale linear --noise-scale 0.5 --value-mean -0.5 --beta 0.5");
}

SUITE(parity_tests) = {
    {"parity_images_defaults", test_parity_images_defaults},
    {"parity_images_heads_mlp_linear_noise0", test_parity_images_heads_mlp_linear_noise0},
    {"parity_images_deep_residual_one", test_parity_images_deep_residual_one},
    {"parity_repeat_heads_mlp_residual_one", test_parity_repeat_heads_mlp_residual_one},
    {"parity_repeat_noise0_value_mean", test_parity_repeat_noise0_value_mean},
    {"parity_majority_linear", test_parity_majority_linear},
    END_SUITE
};
