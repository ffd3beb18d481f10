/* The command line of ./train: help, bad flags and values, missing data, no clobbering. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"
#include "suggest.h"
#include "proc.h"

static char out[1 << 16];

#define TINY "--dataset majority --d 8 --layers 2 --steps 3 --train-size 200 --test-size 50 " \
             "--batch 16 --threads 1 --probe-size 8"

static void test_cli_help_lists_every_flag(void) {
    int rc = run_cmd("./train --help", out, sizeof out);
    CHECK(rc == 0, "--help exits 0, got %d", rc);
    const char *flags[] = {"--dataset", "--data-dir", "--d ", "--layers", "--heads", "--patch",
                           "--mlp", "--beta", "--residual-scale", "--noise-scale", "--value-mean",
                           "--seed", "--optimizer", "--lr", "--momentum", "--weight-decay",
                           "--warmup", "--schedule", "--clip", "--steps", "--epochs", "--batch",
                           "--eval-every", "--log-every", "--cluster-every", "--probe-size",
                           "--name", "--run-dir", "--threads", "--resume", "--force"};
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++)
        CHECK(strstr(out, flags[i]), "--help mentions %s", flags[i]);
    CHECK(strstr(out, "[default: 1]") && strstr(out, "[default: 1e-3]"), "--help shows defaults");
}

/* The line of --help output that documents flag (e.g. "--steps V"), or NULL; copied to line. */
static const char *help_line(const char *help, const char *flag, char *line, size_t len) {
    const char *p = strstr(help, flag);
    if (!p) return NULL;
    size_t n = strcspn(p, "\n");
    snprintf(line, len, "%.*s", (int)n, p);
    return line;
}

/* Defect: --steps claimed to be ignored with --epochs (it is an error), --name showed two
   defaults, --threads did not say it is capped at 64; ./simulate had the same --name line. */
static void test_cli_help_is_correct(void) {
    char line[512];
    CHECK(run_cmd("./train --help", out, sizeof out) == 0, "train --help");
    CHECK(help_line(out, "--steps V", line, sizeof line) && !strstr(line, "ignored") &&
          strstr(line, "not both"), "--steps: %s", line);
    CHECK(help_line(out, "--threads V", line, sizeof line) && strstr(line, "64"), "--threads: %s", line);
    const char *cmds[] = {"./train --help", "./simulate depth --help", "./simulate pair --help",
                          "./simulate tokens --help"};
    for (int i = 0; i < 4; i++) {
        CHECK(run_cmd(cmds[i], out, sizeof out) == 0, "%s exits 0", cmds[i]);
        for (const char *p = out; *p;) {   /* every line */
            size_t n = strcspn(p, "\n");
            snprintf(line, sizeof line, "%.*s", (int)n, p);
            p += n + (p[n] != '\0');
            const char *first = strstr(line, "default:");
            CHECK(!first || !strstr(first + 1, "default:"), "%s: two defaults in: %s", cmds[i], line);
            CHECK(!strstr(line, "[default: none]"), "%s: %s", cmds[i], line);
        }
    }
}

static void expect_usage_error(const char *args, const char *message) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "./train --run-dir /tmp/train-test-never-created %s", args);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 2, "'%s' exits 2, got %d: %s", args, rc, out);
    CHECK(strstr(out, message), "'%s' says '%s'; it said: %s", args, message, out);
}

static void test_cli_bad_flags_and_values(void) {
    expect_usage_error("--no-such-flag 3", "unknown flag --no-such-flag\n");
    expect_usage_error("--lr abc", "--lr: 'abc' is not a number");
    expect_usage_error("--lr", "--lr needs a value");
    expect_usage_error("--layers 0", "--layers: 0 is out of range");
    expect_usage_error("--steps 1.5", "--steps: '1.5' is not a whole number");
    expect_usage_error("--residual-scale cube", "--residual-scale: 'cube' is not one of sqrt|linear|one");
    expect_usage_error("--optimizer lion", "is not one of sgd|adam|adamw");
    expect_usage_error("--noise-scale -1", "out of range");
    expect_usage_error("--heads 3", "--heads 3 does not divide --d 64");
    expect_usage_error("--patch 5", "--patch 5 does not divide the 28x28 images");
    expect_usage_error("--steps 10 --epochs 1", "not both");
    expect_usage_error("stray", "unexpected argument 'stray'");
    expect_usage_error("--force=1", "--force takes no value");
    CHECK(run_cmd("test -e /tmp/train-test-never-created", out, sizeof out) != 0,
          "no run directory is created for bad input");
}

/* Every rule between flags is config_parse's (src/trainer/config.c): each answers there,
   in-process, with the line ./train prints; and ./train refuses them before it reads any
   data (a missing dataset would be exit 1). */
static void test_cli_flag_rules_in_config(void) {
    const char *cases[][5] = {
        {"--resume", NULL, NULL, NULL, "--resume needs --name or --run-dir"},
        {"--resume", "--force", "--name", "x", "--resume and --force exclude each other"},
        {"--resume", "--name", "x", "--lr=1", "--lr cannot be changed with --resume"},
        {"--steps", "10", "--epochs", "1", "give --steps or --epochs, not both"},
        {"--dataset", "folder", NULL, NULL, "--dataset folder needs --data-dir"},
        {"--heads", "3", NULL, NULL, "--heads 3 does not divide --d 64"},
        {"--value-mean", "1", "--value-drift", "1", "say the same thing in two units"},
        {"--freeze", "q,q", NULL, NULL, "--freeze: "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *argv[6] = {"train"}, err[512] = "";
        int argc = 1;
        for (int k = 0; k < 4 && cases[i][k]; k++) argv[argc++] = (char *)cases[i][k];
        static Config c;
        int rc = config_parse(&c, argc, argv, err, sizeof err);
        CHECK(rc == CONFIG_ERROR && strstr(err, cases[i][4]), "case %zu: %d '%s'", i, rc, err);
    }
    expect_usage_error("--heads 3 --data-dir /nonexistent/fmnist", "--heads 3 does not divide --d 64");
}

/* A mistyped flag or command is answered with the nearest known one, only when it is a
   letter or two away (swapped letters count as one edit); exit 2 as for any bad flag. */
static void test_cli_did_you_mean(void) {
    CHECK(suggest_distance("nosie-scale", "noise-scale") == 1, "a swap is one edit");
    CHECK(suggest_distance("steps", "step") == 1 && suggest_distance("lr", "lr") == 0 &&
          suggest_distance("", "abc") == 3 && suggest_distance("kitten", "sitting") == 3, "distances");
    const char *names[] = {"seed", "steps", "d", "lr"};
    CHECK(suggest_closest("stesp", names, 4) == names[1], "stesp -> steps");
    CHECK(suggest_closest("x", names, 4) == NULL, "one letter: no suggestion");
    CHECK(suggest_closest("lt", names, 4) == names[3], "lt -> lr");
    CHECK(suggest_closest("no-such-flag", names, 4) == NULL, "far: no suggestion");
    const char *cmds[][2] = {
        {"./train --nosie-scale 0", "train: unknown flag --nosie-scale (did you mean --noise-scale?)\n"},
        {"./train --cluster_every=3", "unknown flag --cluster_every (did you mean --cluster-every?)\n"},
        {"./simulate depth --drawz 3", "simulate: unknown flag --drawz (did you mean --draws?)\n"},
        {"./simulate pair --bettas 1", "unknown flag --bettas (did you mean --betas?)\n"},
        {"./simulate tokens --run-dri x", "unknown flag --run-dri (did you mean --run-dir?)\n"},
        {"./simulate dpeth", "simulate: unknown command 'dpeth' (did you mean depth? commands:"},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        int rc = run_cmd(cmds[i][0], out, sizeof out);
        CHECK(rc == 2 && strstr(out, cmds[i][1]), "%s: exit %d: %s", cmds[i][0], rc, out);
    }
}

static void test_cli_missing_dataset(void) {
    int rc = run_cmd("./train --data-dir /nonexistent/fmnist --run-dir /tmp/train-test-never-created",
                     out, sizeof out);
    CHECK(rc == 1, "missing dataset exits 1, got %d", rc);
    CHECK(strstr(out, "/nonexistent/fmnist/") && strstr(out, "No such file"),
          "the error names the file: %s", out);
    CHECK(strstr(out, "dataset-fashion-mnist") && strstr(out, "make deps-run") &&
              strstr(out, "--data-dir"),
          "the error names the package, its install target and --data-dir: %s", out);
    rc = run_cmd("./train --dataset folder --run-dir /tmp/train-test-never-created", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "--data-dir"), "folder without --data-dir: %d %s", rc, out);
}

static void test_cli_no_clobbering(void) {
    char root[256], cmd[1024], model[400], copy[400];
    make_temp_dir(root, sizeof root);
    snprintf(cmd, sizeof cmd, "./train " TINY " --run-dir %s/run", root);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "first run: %s", out);
    snprintf(model, sizeof model, "%s/run/model.safetensors", root);
    snprintf(copy, sizeof copy, "%s/model.copy", root);
    snprintf(cmd, sizeof cmd, "cp %s %s", model, copy);
    run_cmd(cmd, out, sizeof out);
    snprintf(cmd, sizeof cmd, "./train " TINY " --seed 9 --run-dir %s/run", root);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 2 && strstr(out, "already exists"), "second run refused: %d %s", rc, out);
    CHECK(files_equal(model, copy), "the existing run is untouched");
    snprintf(cmd, sizeof cmd, "./train " TINY " --seed 9 --run-dir %s/run --force", root);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "--force starts over: %s", out);
    CHECK(!files_equal(model, copy), "--force replaced the weights");
}

static void test_cli_resume_errors(void) {
    int rc = run_cmd("./train --resume --run-dir /tmp/train-test-never-created", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "nothing to resume"), "resume of nothing: %d %s", rc, out);
    rc = run_cmd("./train --resume", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "--resume needs --name or --run-dir"), "resume without a name: %s", out);
    char root[256], cmd[1024];
    make_temp_dir(root, sizeof root);
    snprintf(cmd, sizeof cmd, "./train " TINY " --run-dir %s/run", root);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "first run: %s", out);
    snprintf(cmd, sizeof cmd, "./train --resume --d 16 --run-dir %s/run", root);
    rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 2 && strstr(out, "--d cannot be changed with --resume"), "resume with --d: %d %s", rc, out);
    snprintf(cmd, sizeof cmd, "./train --resume --run-dir %s/run", root);
    rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "already at step 3"), "resume of a finished run: %d %s", rc, out);
}

static void test_cli_corrupt_checkpoint(void) {
    char root[256], cmd[1024];
    make_temp_dir(root, sizeof root);
    snprintf(cmd, sizeof cmd, "./train " TINY " --run-dir %s/run", root);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "first run: %s", out);
    snprintf(cmd, sizeof cmd, "truncate -s 100 %s/run/model.safetensors && "
             "./train --resume --steps 6 --run-dir %s/run", root, root);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 1 && strstr(out, "model.safetensors"), "corrupt checkpoint named: %d %s", rc, out);
}

SUITE(cli_tests) = {
    {"cli_help_lists_every_flag", test_cli_help_lists_every_flag},
    {"cli_help_is_correct", test_cli_help_is_correct},
    {"cli_bad_flags_and_values", test_cli_bad_flags_and_values},
    {"cli_flag_rules_in_config", test_cli_flag_rules_in_config},
    {"cli_did_you_mean", test_cli_did_you_mean},
    {"cli_missing_dataset", test_cli_missing_dataset},
    {"cli_no_clobbering", test_cli_no_clobbering},
    {"cli_resume_errors", test_cli_resume_errors},
    {"cli_corrupt_checkpoint", test_cli_corrupt_checkpoint},
    END_SUITE,
};
