#define _POSIX_C_SOURCE 200809L
/* A run that diverges stops at once with its own exit status, keeps the last good
   checkpoint, and every JSON file the project writes is valid JSON. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json.h"
#include "options.h"
#include "proc.h"
#include "safetensors.h"
#include "util.h"

static char out[1 << 16];

/* SGD at lr 1e6 without warmup: updates 1-3 are finite, the loss of update 4 is NaN. */
#define DIVERGING "./train --dataset repeat --d 16 --layers 3 --heads 2 --mlp 8 --train-size 2000 " \
                  "--test-size 300 --batch 32 --threads 1 --cluster-every 10 --log-every 1 "       \
                  "--probe-size 16 --optimizer sgd --lr 1e6 --warmup 0 --steps 30"

/* dir/name is one valid JSON document (the project's JSON reader); its text or NULL. */
static char *valid_json(const char *dir, const char *name) {
    char path[600], err[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = slurp(path);
    CHECK(text, "%s is missing", path);
    if (!text) return NULL;
    int rc = st_json_check(text, strlen(text), err, sizeof err);
    CHECK(rc == 0, "%s is not valid JSON: %s\n%s", path, err, text);
    return text;
}

static void json_string_value(const char *json, const char *key, char *v, size_t len) {
    if (!json || json_text_value(json, key, v, len) != 0) snprintf(v, len, "(none)");
}

/* The weights in dir/model.safetensors are finite and were saved at `step`. */
static void check_checkpoint(const char *dir, long step) {
    char path[600], err[512];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    StFile f;
    CHECK(st_read(&f, path, err, sizeof err) == 0, "checkpoint readable: %s", err);
    if (!f.file) return;
    const char *s = st_meta(&f, "step");
    CHECK(s && atol(s) == step, "checkpoint at step %ld, got %s", step, s ? s : "none");
    long bad = 0;
    for (int i = 0; i < f.count; i++) {
        size_t n = (f.entries[i].end - f.entries[i].begin) / 4;
        float *v = xmalloc(sizeof(float) * n);
        st_get(&f, f.entries[i].name, v, n);
        for (size_t j = 0; j < n; j++) bad += !isfinite(v[j]);
        free(v);
    }
    CHECK(bad == 0, "%ld non-finite weights in the checkpoint", bad);
    st_free(&f);
}

static void test_diverge_stops_keeps_checkpoint(void) {
    char root[256], cmd[1024], status[64];
    make_temp_dir(root, sizeof root);
    snprintf(cmd, sizeof cmd, DIVERGING " --eval-every 2 --run-dir %s/run", root);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 3, "a diverging run exits 3, got %d: %s", rc, out);
    CHECK(strstr(out, "diverged at update 4") && strstr(out, "--lr") && strstr(out, "--clip") &&
          strstr(out, "--warmup"), "the message says where and what to change: %s", out);
    CHECK(!strstr(out, "gnuplot"), "no gnuplot message: %s", out);
    char dir[300];
    snprintf(dir, sizeof dir, "%s/run", root);
    char *s = valid_json(dir, "summary.json");
    json_string_value(s, "status", status, sizeof status);
    CHECK(strcmp(status, "diverged") == 0, "status diverged, got %s", status);
    CHECK(json_number(s, "diverged_at_step") == 4 && json_number(s, "step") == 3 &&
          json_number(s, "checkpoint_step") == 2, "steps in summary.json: %s", s ? s : "");
    free(s);
    free(valid_json(dir, "config.json"));
    check_checkpoint(dir, 2);
    /* resumable: from step 2 the same updates diverge at the same one */
    snprintf(cmd, sizeof cmd, "./train --resume --run-dir %s", dir);
    rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 3 && strstr(out, "diverged at update 4"), "resumed run diverges again, got %d: %s", rc, out);
    check_checkpoint(dir, 2);
    /* and it can train up to the last good update */
    snprintf(cmd, sizeof cmd, "./train --resume --run-dir %s --steps 3", dir);
    rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "resume to step 3 exits 0, got %d: %s", rc, out);
    s = valid_json(dir, "summary.json");   /* its test loss is NaN: null */
    CHECK(s && strstr(s, "\"finished\""), "finished: %s", s ? s : "");
    free(s);
}

/* Divergence before the first checkpoint: none is written, and --resume says so. */
static void test_diverge_before_first_checkpoint(void) {
    char root[256], cmd[1024], dir[300];
    make_temp_dir(root, sizeof root);
    snprintf(dir, sizeof dir, "%s/run", root);
    snprintf(cmd, sizeof cmd, DIVERGING " --eval-every 10 --run-dir %s", dir);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 3, "exits 3, got %d: %s", rc, out);
    char path[400];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    CHECK(!file_exists(path), "no checkpoint with non-finite weights");
    char *s = valid_json(dir, "summary.json");
    CHECK(s && strstr(s, "\"checkpoint_step\": null"), "no checkpoint in summary.json: %s", s ? s : "");
    free(s);
    snprintf(cmd, sizeof cmd, "./train --resume --run-dir %s", dir);
    rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 1 && strstr(out, "no checkpoint to resume from"), "resume refused, got %d: %s", rc, out);
}

static void test_json_put(void) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fputc('[', f);
    json_put_number(f, "%.3f", NAN);
    fputc(',', f);
    json_put_number(f, "%.3f", -INFINITY);
    fputc(',', f);
    json_put_number(f, "%.3f", 1.5);
    fputc(',', f);
    json_put_string(f, "q\"b\\n\nt\tc\x01");
    fputc(']', f);
    fclose(f);
    CHECK(strcmp(buf, "[null,null,1.500,\"q\\\"b\\\\n\\nt\\tc\\u0001\"]") == 0, "got %s", buf);
    char err[128];
    CHECK(st_json_check(buf, len, err, sizeof err) == 0, "valid: %s", err);
    CHECK(st_json_check("{\"a\": -nan}", 11, err, sizeof err) != 0, "the reader refuses -nan");
    free(buf);
}

/* The one JSON reader: a key's value at the top level of the object only, escapes undone
   as JSON defines them, and nothing from a text that is not JSON. */
static void test_json_text_value(void) {
    const char *json = "{\"inner\": {\"seed\": 9}, \"seed\": 3, \"s\": \"caf\\u00e9 \\\"q\\\"\", "
                       "\"x\": 1e-08, \"b\": true, \"list\": [1, 2]}";
    char v[32];
    CHECK(json_text_value(json, "seed", v, sizeof v) == 0 && strcmp(v, "3") == 0,
          "seed of the object, not of the nested one: '%s'", v);
    CHECK(json_text_value(json, "s", v, sizeof v) == 0 && strcmp(v, "caf\xc3\xa9 \"q\"") == 0,
          "\\u00e9 as UTF-8 and an escaped quote: '%s'", v);
    CHECK(json_text_value(json, "x", v, sizeof v) == 0 && strcmp(v, "1e-08") == 0, "number text: '%s'", v);
    CHECK(json_text_value(json, "b", v, sizeof v) == 0 && strcmp(v, "true") == 0, "literal: '%s'", v);
    CHECK(json_text_value(json, "list", v, sizeof v) != 0, "an array has no text value");
    CHECK(json_text_value(json, "none", v, sizeof v) != 0, "a missing key");
    CHECK(json_text_value(json, "s", v, 4) != 0, "a value longer than the buffer is refused");
    CHECK(json_text_value("{\"seed\": 3, \"d\": ", "seed", v, sizeof v) != 0,
          "a truncated text is not JSON");
    /* the settings reader says so, instead of naming a setting as missing */
    static const Option row[] = {{"seed", "1", "seed", T_LONG, 0, sizeof(long), 0, 9e18, NULL, 1, 0}};
    long seed = 0;
    char err[256] = "";
    CHECK(options_read_json(row, 1, &seed, NULL, "{\"seed\": 3}", err, sizeof err) == 0 && seed == 3,
          "a whole config.json reads: %ld %s", seed, err);
    CHECK(options_read_json(row, 1, &seed, NULL, "{\"seed\": 4, \"d\": ", err, sizeof err) != 0 &&
          strstr(err, "config.json: not valid JSON"), "a truncated config.json: %s", err);
}

/* config.json and summary.json of ./train and of every ./simulate command are valid JSON,
   also with a data directory holding quotes, backslashes and a newline. */
static void test_json_files_valid(void) {
    char root[256], dir[600], cmd[2048], data[400];
    make_temp_dir(root, sizeof root);
    snprintf(dir, sizeof dir, "%s/train", root);
    snprintf(cmd, sizeof cmd, "./train --dataset repeat --d 8 --layers 2 --steps 3 --train-size 100 "
             "--test-size 20 --batch 16 --threads 1 --probe-size 8 --run-dir %s", dir);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "train: %s", out);
    free(valid_json(dir, "config.json"));
    free(valid_json(dir, "summary.json"));
    const char *sims[] = {"depth --n 4 --d 4 --layers 3 --draws 2",
                          "pair --betas 0,1 --ds 3 --runs 5 --T 1",
                          "tokens --n 4 --runs 5 --depths 0,1 --T 1"};
    for (int i = 0; i < 3; i++) {
        snprintf(dir, sizeof dir, "%s/sim%d", root, i);
        snprintf(cmd, sizeof cmd, "./simulate %s --run-dir %s", sims[i], dir);
        CHECK(run_cmd(cmd, out, sizeof out) == 0, "simulate %s: %s", sims[i], out);
        free(valid_json(dir, "config.json"));
        free(valid_json(dir, "summary.json"));
    }
    /* a string setting with a quote, a backslash and a newline, and back on --resume */
    snprintf(data, sizeof data, "%s/da\"ta\\dir\nx", root);
    snprintf(dir, sizeof dir, "%s/odd", root);
    char bin[1024];
    repo_path(bin, sizeof bin, "train");
    char *argv[] = {bin, "--dataset", "repeat", "--data-dir", data, "--d", "8", "--layers", "2",
                    "--steps", "2", "--train-size", "100", "--test-size", "20", "--batch", "16",
                    "--threads", "1", "--probe-size", "8", "--run-dir", dir, NULL};
    CHECK(run_argv(NULL, argv, out, sizeof out) == 0, "train: %s", out);
    char *cfg = valid_json(dir, "config.json");
    char v[400];
    json_string_value(cfg, "data_dir", v, sizeof v);
    CHECK(strcmp(v, data) == 0, "data_dir reads back as written: '%s'", v);
    free(cfg);
}

SUITE(diverge_tests) = {
    {"diverge_stops_keeps_checkpoint", test_diverge_stops_keeps_checkpoint},
    {"diverge_before_first_checkpoint", test_diverge_before_first_checkpoint},
    {"json_put", test_json_put},
    {"json_text_value", test_json_text_value},
    {"json_files_valid", test_json_files_valid},
    END_SUITE,
};
