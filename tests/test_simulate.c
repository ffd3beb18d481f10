/* ./simulate and its depth command: the command line, determinism, and the dynamics in
   cases where the answer is known. (The metrics themselves: tests/test_metrics.c.) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "proc.h"
#include "util.h"

static char out[1 << 16];

#define SMALL "--n 6 --d 8 --layers 6 --draws 6 --batch 3 --threads 2"
#define COLS 17   /* layer, then mean and standard error of 8 metrics */
enum { MEAN_COS = 1, FRAC_CLUSTERED = 5, FRAC_ANTIPODAL = 7, ORDER = 9, N_CLUSTERS = 11,
       STABLE_RANK = 13, ENERGY = 15 };

/* Row `row` (0 = layer 0) of dir/depth.csv into v[COLS]; 0, or -1 if it is not there. */
static int csv_row(const char *dir, int row, double *v) {
    char path[512];
    snprintf(path, sizeof path, "%s/depth.csv", dir);
    char *text = slurp(path);
    if (!text) return -1;
    char *line = strchr(text, '\n');   /* skip the header */
    for (int r = 0; line && r < row; r++) line = strchr(line + 1, '\n');
    int got = 0;
    if (line && line[1]) {
        char *p = line + 1, *end;
        for (got = 0; got < COLS; got++) {
            v[got] = strtod(p, &end);
            if (end == p) break;
            p = *end == ',' ? end + 1 : end;
        }
    }
    free(text);
    return got == COLS ? 0 : -1;
}

static int depth(const char *args, const char *dir) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "./simulate depth %s --run-dir %s", args, dir);
    return run_cmd(cmd, out, sizeof out);
}

static void test_simulate_help_lists_commands(void) {
    int rc = run_cmd("./simulate --help", out, sizeof out);
    CHECK(rc == 0, "--help exits 0, got %d", rc);
    CHECK(strstr(out, "depth") && strstr(out, "pair") && strstr(out, "tokens"),
          "--help lists depth, pair and tokens: %s", out);
    rc = run_cmd("./simulate", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "depth"), "no command: exit 2 with the list, got %d: %s", rc, out);
    rc = run_cmd("./simulate deep", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "unknown command 'deep'"), "unknown command: %d %s", rc, out);
    rc = run_cmd("./simulate depth --help", out, sizeof out);
    const char *flags[] = {"--tokens", "--n ", "--d ", "--layers", "--heads", "--beta",
                           "--residual-scale", "--noise-scale", "--value-mean", "--mlp",
                           "--draws", "--batch", "--delta", "--seed", "--threads", "--name",
                           "--run-dir", "--force", "--patch"};
    CHECK(rc == 0, "depth --help exits 0, got %d", rc);
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++)
        CHECK(strstr(out, flags[i]), "depth --help mentions %s", flags[i]);
}

static void expect_usage_error(const char *args, const char *message) {
    int rc = depth(args, "/tmp/simulate-test-never-created");
    CHECK(rc == 2, "'%s' exits 2, got %d: %s", args, rc, out);
    CHECK(strstr(out, message), "'%s' says '%s'; it said: %s", args, message, out);
}

static void test_simulate_depth_bad_flags(void) {
    expect_usage_error("--no-such-flag 3", "unknown flag --no-such-flag\n");
    expect_usage_error("--tokens cube", "--tokens: 'cube' is not one of sphere|fashion-mnist|repeat|majority");
    expect_usage_error("--draws 0", "--draws: 0 is out of range");
    expect_usage_error("--n 1", "--n: 1 is out of range");
    expect_usage_error("--noise-scale x", "--noise-scale: 'x' is not a number");
    expect_usage_error("--residual-scale cube", "is not one of sqrt|linear|one");
    expect_usage_error("--heads 3", "--heads 3 does not divide --d 64");
    expect_usage_error("--tokens fashion-mnist --n 8", "--n does not apply to --tokens fashion-mnist");
    expect_usage_error("--tokens fashion-mnist --patch 5", "--patch 5 does not divide");
    expect_usage_error("stray", "unexpected argument 'stray'");
    CHECK(strstr(out, "./simulate depth --help"), "the error points to --help: %s", out);
    CHECK(run_cmd("test -e /tmp/simulate-test-never-created", out, sizeof out) != 0,
          "no run directory is created for bad input");
}

static void test_simulate_depth_files_and_no_clobbering(void) {
    char root[256], dir[300], path[400], copy[400], cmd[1024];
    make_temp_dir(root, sizeof root);
    snprintf(dir, sizeof dir, "%s/run", root);
    int rc = depth(SMALL, dir);
    CHECK(rc == 0, "small run: %d %s", rc, out);
    CHECK(strstr(out, "ETA"), "a progress line with an ETA: %s", out);
    snprintf(path, sizeof path, "%s/config.json", dir);
    char *cfg = slurp(path);
    CHECK(cfg && json_number(cfg, "layers") == 6 && json_number(cfg, "draws") == 6 &&
          json_number(cfg, "noise_scale") == 1 && json_number(cfg, "horizon") == 1,
          "config.json holds the settings: %s", cfg ? cfg : "(missing)");
    free(cfg);
    double v[COLS];
    CHECK(csv_row(dir, 6, v) == 0 && v[0] == 6, "depth.csv has layers 0..6");
    CHECK(csv_row(dir, 7, v) != 0, "and no more");
    snprintf(path, sizeof path, "%s/depth.png", dir);
    CHECK(run_cmd("command -v gnuplot", out, sizeof out) != 0 ||
          run_cmd((snprintf(cmd, sizeof cmd, "test -s %s", path), cmd), out, sizeof out) == 0,
          "depth.png is drawn");

    snprintf(path, sizeof path, "%s/depth.csv", dir);
    snprintf(copy, sizeof copy, "%s/depth.copy", root);
    snprintf(cmd, sizeof cmd, "cp %s %s", path, copy);
    run_cmd(cmd, out, sizeof out);
    rc = depth(SMALL " --seed 9", dir);
    CHECK(rc == 2 && strstr(out, "already exists"), "second run refused: %d %s", rc, out);
    CHECK(files_equal(path, copy), "the existing run is untouched");
    rc = depth(SMALL " --seed 9 --force", dir);
    CHECK(rc == 0, "--force starts over: %d %s", rc, out);
    CHECK(!files_equal(path, copy), "--force replaced depth.csv");
}

/* Same seed: the same bytes, whatever the thread count; another seed: other numbers. */
static void test_simulate_depth_same_seed_same_output(void) {
    char root[256], a[300], b[300], c[300], fa[400], fb[400], fc[400];
    make_temp_dir(root, sizeof root);
    snprintf(a, sizeof a, "%s/a", root);
    snprintf(b, sizeof b, "%s/b", root);
    snprintf(c, sizeof c, "%s/c", root);
    CHECK(depth(SMALL " --seed 5", a) == 0, "run a: %s", out);
    CHECK(depth(SMALL " --seed 5 --threads 1", b) == 0, "run b: %s", out);
    CHECK(depth(SMALL " --seed 6", c) == 0, "run c: %s", out);
    snprintf(fa, sizeof fa, "%s/depth.csv", a);
    snprintf(fb, sizeof fb, "%s/depth.csv", b);
    snprintf(fc, sizeof fc, "%s/depth.csv", c);
    CHECK(files_equal(fa, fb), "seed 5 with 2 threads and with 1 thread: identical depth.csv");
    CHECK(!files_equal(fa, fc), "seeds 5 and 6 differ");
}

/* V = I, no noise, alpha = 1: each token moves to a positive combination of the tokens.
   With n <= d the tokens are linearly independent, so they lie in an open half-space
   {psi > 0}; there the combinations contract the tokens' spread geometrically (the
   attention weights are bounded below), and they end in one cluster. */
static void test_simulate_depth_deterministic_ends_in_one_cluster(void) {
    char root[256], dir[300];
    make_temp_dir(root, sizeof root);
    snprintf(dir, sizeof dir, "%s/det", root);
    int rc = depth("--n 4 --d 8 --layers 40 --residual-scale one --noise-scale 0 --value-mean 1 "
                   "--draws 8 --batch 4", dir);
    CHECK(rc == 0, "run: %d %s", rc, out);
    double first[COLS], last[COLS];
    if (csv_row(dir, 0, first) != 0 || csv_row(dir, 40, last) != 0) {
        CHECK(0, "depth.csv has layers 0 and 40");
        return;
    }
    CHECK(first[N_CLUSTERS] == 4 && first[FRAC_CLUSTERED] == 0, "layer 0: 4 separate tokens, got %g clusters",
          first[N_CLUSTERS]);
    CHECK(last[N_CLUSTERS] == 1 && last[N_CLUSTERS + 1] == 0, "layer 40: one cluster in every draw, got %g",
          last[N_CLUSTERS]);
    CHECK(last[FRAC_CLUSTERED] == 1, "layer 40: every pair clustered, got %g", last[FRAC_CLUSTERED]);
    CHECK(last[MEAN_COS] > 0.999 && last[ORDER] > 0.999, "layer 40: mean_cos %g, order %g",
          last[MEAN_COS], last[ORDER]);
    CHECK_CLOSE(last[STABLE_RANK], 1, 1e-3, 0, "layer 40: stable rank");
    CHECK(last[FRAC_ANTIPODAL] == 0, "no antipodes");
    CHECK(first[ENERGY] < 0.9 && last[ENERGY] > 0.999 && last[ENERGY] <= 1,
          "energy from spread tokens (%g) to one cluster (%g, want 1)", first[ENERGY], last[ENERGY]);
}

/* V = 0 (no noise, value mean 0): the attention output is zero and rmsnorm keeps each token;
   every layer's metrics equal the input's. */
static void test_simulate_depth_zero_values_leave_tokens(void) {
    char root[256], dir[300];
    make_temp_dir(root, sizeof root);
    snprintf(dir, sizeof dir, "%s/zero", root);
    int rc = depth("--n 8 --d 16 --layers 10 --residual-scale one --noise-scale 0 --value-mean 0 "
                   "--draws 4 --batch 4 --delta 0.5", dir);
    CHECK(rc == 0, "run: %d %s", rc, out);
    double first[COLS], last[COLS];
    if (csv_row(dir, 0, first) != 0 || csv_row(dir, 10, last) != 0) {
        CHECK(0, "depth.csv has layers 0 and 10");
        return;
    }
    for (int i = 1; i < COLS; i += 2)
        CHECK_CLOSE(last[i], first[i], 1e-5, 1e-5, "metric column of layer 10 vs layer 0");
    CHECK(first[N_CLUSTERS] < 8, "delta 0.5 joins some pairs (so the comparison covers them)");
}

/* The tokens of a dataset through a fresh embedding: n from the patches. */
static void test_simulate_depth_dataset_tokens(void) {
    char root[256], dir[300], path[400];
    make_temp_dir(root, sizeof root);
    snprintf(dir, sizeof dir, "%s/seq", root);
    int rc = depth("--tokens repeat --n 12 --d 16 --layers 4 --draws 3 --batch 4", dir);
    CHECK(rc == 0, "repeat: %d %s", rc, out);
    double v[COLS];
    CHECK(csv_row(dir, 4, v) == 0 && v[N_CLUSTERS] >= 1 && v[N_CLUSTERS] <= 12,
          "repeat: 12 tokens per example");
    if (run_cmd("test -e /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", out, sizeof out) != 0)
        SKIP("Fashion-MNIST is not installed (dataset-fashion-mnist)");
    snprintf(dir, sizeof dir, "%s/fm", root);
    rc = depth("--tokens fashion-mnist --patch 14 --d 16 --layers 3 --draws 2 --batch 4", dir);
    CHECK(rc == 0, "fashion-mnist: %d %s", rc, out);
    snprintf(path, sizeof path, "%s/config.json", dir);
    char *cfg = slurp(path);
    CHECK(cfg && json_number(cfg, "tokens_per_example") == 4 && json_number(cfg, "input_dim") == 196,
          "patch 14: 4 tokens of 196 pixels: %s", cfg ? cfg : "(missing)");
    free(cfg);
    rc = depth("--tokens fashion-mnist --data-dir /nonexistent/fm", "/tmp/simulate-test-never-created");
    CHECK(rc == 1 && strstr(out, "/nonexistent/fm/"), "missing data: exit 1 naming the file: %d %s", rc, out);
}

/* tools/plot_depth_compare.sh writes only where it is told, and a label or path is never
   gnuplot program text (a label could run a shell command through system()). */
static void test_plot_depth_compare(void) {
    char root[256], cmd[2048], path[600];
    make_temp_dir(root, sizeof root);
    snprintf(cmd, sizeof cmd, "./simulate depth " SMALL " --run-dir \"%s/it's a\" && "
             "./simulate depth " SMALL " --noise-scale 0 --value-mean 1 --run-dir %s/b", root, root);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "two depth runs: %s", out);
    snprintf(cmd, sizeof cmd, "tools/plot_depth_compare.sh %s/cmp.png \"%s/it's a\" "
             "\"x'.(system('touch %s/pwned')).'y\" %s/b 'deterministic, \"V = I\"'",
             root, root, root, root);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    snprintf(path, sizeof path, "%s/cmp.png", root);
    char *png = slurp(path);
    CHECK(png && memcmp(png, "\x89PNG", 4) == 0, "%s is a PNG", path);
    free(png);
    snprintf(path, sizeof path, "test -e %s/pwned", root);
    CHECK(run_cmd(path, out, sizeof out) != 0, "a label ran a shell command");
    snprintf(cmd, sizeof cmd, "tools/plot_depth_compare.sh %s/no/such/dir/cmp.png %s/b b", root, root);
    rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 1 && strstr(out, "does not exist"), "missing output directory: exit %d: %s", rc, out);
}

/* Sizes that cannot fit in memory are a flag problem: exit 2 with the estimate, before the
   run directory exists (they used to end in "fatal: out of memory", exit 1, with a run
   directory left behind). A 4 GB address-space limit makes the old way fail fast here
   instead of filling the machine. */
static void test_simulate_too_large_refused_before_run_dir(void) {
    char root[256], dir[300], cmd[1024];
    make_temp_dir(root, sizeof root);
    snprintf(dir, sizeof dir, "%s/sim", root);
    const char *flags[] = {"pair --ds 65536 --betas 1 --runs 10 --threads 64",
                           "tokens --n 4096 --d 65536 --runs 10 --threads 64",
                           "depth --d 65536 --n 4096 --layers 1000 --draws 64 --threads 64"};
    for (int i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd, "ulimit -v 4000000; exec ./simulate %s --run-dir %s", flags[i], dir);
        int rc = run_cmd(cmd, out, sizeof out);
        CHECK(rc == 2 && strstr(out, "the run needs about") && !strstr(out, "out of memory"),
              "%s: exit 2 with the estimate, got %d: %s", flags[i], rc, out);
        CHECK(!file_exists(dir), "%s: no run directory", flags[i]);
    }
}

SUITE(simulate_tests) = {
    {"simulate_too_large_refused_before_run_dir", test_simulate_too_large_refused_before_run_dir},
    {"simulate_help_lists_commands", test_simulate_help_lists_commands},
    {"simulate_depth_bad_flags", test_simulate_depth_bad_flags},
    {"simulate_depth_files_and_no_clobbering", test_simulate_depth_files_and_no_clobbering},
    {"simulate_depth_same_seed_same_output", test_simulate_depth_same_seed_same_output},
    {"simulate_depth_deterministic_ends_in_one_cluster", test_simulate_depth_deterministic_ends_in_one_cluster},
    {"simulate_depth_zero_values_leave_tokens", test_simulate_depth_zero_values_leave_tokens},
    {"simulate_depth_dataset_tokens", test_simulate_depth_dataset_tokens},
    {"simulate_plot_depth_compare", test_plot_depth_compare},
    END_SUITE
};
