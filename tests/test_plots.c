/* Plots of ./train and ./simulate: names and paths never become gnuplot text (no injection),
   a gnuplot failure is reported as such, and clusters.png is a heatmap per metric. */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "plot.h"
#include "proc.h"
#include "runplots.h"
#include "util.h"

static char out[1 << 16];

/* A gnuplot injection: closes the quote, runs a shell command. */
#define INJECTION "a'; system 'touch injected'; a='"

/* Width of a PNG file (its IHDR), or -1 if path is not a PNG. */
static long png_width(const char *path) {
    char *png = slurp(path);
    long w = -1;
    if (png && memcmp(png, "\x89PNG", 4) == 0) {
        const unsigned char *u = (const unsigned char *)png + 16;
        w = ((long)u[0] << 24) | (u[1] << 16) | (u[2] << 8) | u[3];
    }
    free(png);
    return w;
}

static int is_png(const char *dir, const char *name) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return png_width(path) > 0;
}

/* ./train, small and quick, in directory cwd, with --name name and the flags of the
   NULL-ended list extra (may be NULL); returns the exit status. */
static int train_with(const char *cwd, const char *name, const char *const *extra) {
    char bin[1024];
    repo_path(bin, sizeof bin, "train");
    char *argv[48] = {bin, "--dataset", "repeat", "--d", "8", "--layers", "2", "--steps", "6",
                      "--train-size", "200", "--test-size", "50", "--batch", "16", "--threads", "1",
                      "--probe-size", "8", "--cluster-every", "2", "--eval-every", "3",
                      "--name", (char *)name};
    int n = 25;
    for (; extra && *extra && n < 47; extra++) argv[n++] = (char *)*extra;
    argv[n] = NULL;
    return run_argv(cwd, argv, out, sizeof out);
}

/* The same with at most one extra flag. */
static int train_named(const char *cwd, const char *name, const char *extra) {
    const char *list[] = {extra, NULL};
    return train_with(cwd, name, list);
}

static void test_plot_quote(void) {
    char q[64];
    plot_quote(q, sizeof q, "it's `id` @x $(id) \\n\nend");
    CHECK(strcmp(q, "'it''s `id` @x $(id) \\n?end'") == 0, "quoted: %s", q);
    plot_quote(q, 8, "abcd'efgh");   /* shortened: never cut a '' pair, always closed */
    CHECK(strcmp(q, "'abcd'") == 0, "shortened: %s", q);
    plot_quote(q, 9, "abcd'efgh");
    CHECK(strcmp(q, "'abcd'''") == 0, "shortened after a quote: %s", q);
}

/* The injection name creates no file, and the run gets its plots. */
static void test_plots_train_injection_name(void) {
    char root[256], dir[1024], path[1200];
    make_temp_dir(root, sizeof root);
    int rc = train_named(root, INJECTION, NULL);
    CHECK(rc == 0, "train exits 0, got %d: %s", rc, out);
    snprintf(path, sizeof path, "%s/injected", root);
    CHECK(!file_exists(path), "the name ran a command: %s exists", path);
    snprintf(dir, sizeof dir, "%s/runs/%s", root, INJECTION);
    CHECK(is_png(dir, "curves.png") && is_png(dir, "clusters.png"), "plots drawn: %s", out);
    CHECK(!strstr(out, "gnuplot"), "no gnuplot message: %s", out);
}

/* Quotes, spaces, $, backticks, backslashes, a newline: every name gets its plots and
   valid files. */
static void test_plots_train_odd_names(void) {
    const char *names[] = {"double \"quoted\" name", "dollar $HOME and $(id)", "back`tick`s",
                           "back\\slash", "new\nline", "utf-8 \xc3\xa9t\xc3\xa9", "@macro"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char root[256], dir[1024];
        make_temp_dir(root, sizeof root);
        int rc = train_named(root, names[i], NULL);
        CHECK(rc == 0, "name %zu: exit %d: %s", i, rc, out);
        snprintf(dir, sizeof dir, "%s/runs/%s", root, names[i]);
        CHECK(is_png(dir, "curves.png") && is_png(dir, "clusters.png"),
              "name %zu gets its plots: %s", i, out);
        CHECK(!strstr(out, "gnuplot"), "name %zu: no gnuplot message: %s", i, out);
    }
}

/* A stopped run's hint "continue with: ./train --resume --run-dir DIR" can be pasted into
   a shell as it is, also when DIR holds a quote and a space. */
static void test_plots_resume_hint_quoted(void) {
    char root[256];
    make_temp_dir(root, sizeof root);
    CHECK(train_named(root, "it's here", "--stop-after=2") == 0, "stopped run: %s", out);
    const char *hint = strstr(out, "continue with: ");
    CHECK(hint && strstr(hint, "--run-dir 'runs/it'\\''s here'\n"), "quoted hint: %s", out);
    if (!hint) return;
    char cmd[2048], line[512], bin[1024];
    snprintf(line, sizeof line, "%.*s", (int)strcspn(hint + 15, "\n"), hint + 15);
    repo_path(bin, sizeof bin, "train");   /* the hint's "./train", from the test's directory */
    CHECK(strncmp(line, "./train ", 8) == 0, "hint: %s", line);
    snprintf(cmd, sizeof cmd, "cd %s && %s%s", root, bin, line + 7);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "done: runs/it's here"), "the hint resumes the run, got %d: %s", rc, out);
}

/* Every command of ./simulate with the injection name: no file made, plots drawn. */
static void test_plots_simulate_injection_name(void) {
    const char *cmds[][8] = {
        {"depth", "--n", "4", "--d", "4", "--layers", "3", "--draws"},
        {"pair", "--betas", "0,1", "--ds", "3", "--runs", "5", "--T"},
        {"tokens", "--n", "4", "--runs", "5", "--depths", "0,1", "--T"}};
    const char *last[] = {"2", "1", "1"}, *png[] = {"depth.png", "pair.png", "hist.png"};
    char bin[1024];
    repo_path(bin, sizeof bin, "simulate");
    for (int c = 0; c < 3; c++) {
        char root[256], dir[1024], path[1200];
        make_temp_dir(root, sizeof root);
        char *argv[16] = {bin};
        int n = 1;
        for (int i = 0; i < 8; i++) argv[n++] = (char *)cmds[c][i];
        argv[n++] = (char *)last[c];
        argv[n++] = "--name";
        argv[n++] = INJECTION;
        argv[n] = NULL;
        int rc = run_argv(root, argv, out, sizeof out);
        CHECK(rc == 0, "simulate %s exits 0, got %d: %s", cmds[c][0], rc, out);
        snprintf(path, sizeof path, "%s/injected", root);
        CHECK(!file_exists(path), "simulate %s: the name ran a command", cmds[c][0]);
        snprintf(dir, sizeof dir, "%s/runs/%s", root, INJECTION);
        CHECK(is_png(dir, png[c]), "simulate %s draws %s: %s", cmds[c][0], png[c], out);
    }
}

/* gnuplot missing, and gnuplot failing, are told apart (a fake gnuplot on PATH). */
static void test_plots_gnuplot_failure_reported(void) {
    char root[256], bin[1024], fake[300], cmd[2048];
    make_temp_dir(root, sizeof root);
    repo_path(bin, sizeof bin, "train");
    snprintf(fake, sizeof fake, "%s/fakebin", root);
    snprintf(cmd, sizeof cmd, "mkdir -p %s && printf '#!/bin/sh\\necho \"line 3: boom\" >&2\\nexit 4\\n' "
             "> %s/gnuplot && chmod +x %s/gnuplot", fake, fake, fake);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "fake gnuplot: %s", out);
    char path_failing[600], path_none[600];
    snprintf(path_failing, sizeof path_failing, "PATH=%s", fake);
    snprintf(path_none, sizeof path_none, "PATH=%s/empty", root);
    const char *paths[] = {path_failing, path_none};
    const char *want[] = {"gnuplot failed (exit status 4): line 3: boom", "gnuplot is not installed"};
    for (int i = 0; i < 2; i++) {
        char *argv[] = {"/usr/bin/env", (char *)paths[i], bin, "--dataset", "repeat", "--d", "8",
                        "--layers", "2", "--steps", "2", "--train-size", "100", "--test-size", "20",
                        "--batch", "16", "--threads", "1", "--probe-size", "8", "--name",
                        i ? "none" : "failing", NULL};
        int rc = run_argv(root, argv, out, sizeof out);
        CHECK(rc == 0, "a run without plots still exits 0, got %d: %s", rc, out);
        CHECK(strstr(out, want[i]), "says '%s'; it said: %s", want[i], out);
    }
}

/* A PNG at dir/name is absent or whole (its last chunk IEND): never a picture cut short. */
static int absent_or_whole_png(const char *dir, const char *name) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t len;
    char err[256];
    uint8_t *png = read_whole_file(path, &len, err, sizeof err);
    int ok = !png || (len >= 20 && memcmp(png, "\x89PNG", 4) == 0 && memcmp(png + len - 8, "IEND", 4) == 0);
    free(png);
    return ok;
}

/* Plots on a full disk (a file size limit below a picture's size, above every other file
   of the run): gnuplot's picture is cut short. Neither PNG may be left truncated, the run
   says that only the plots failed (its results are complete, exit 0), and --resume of the
   finished run draws the missing plots. */
static void test_plots_full_disk_leaves_no_truncated_png(void) {
    char root[256], dir[300], cmd[1024], log[400];
    make_temp_dir(root, sizeof root);
    snprintf(dir, sizeof dir, "%s/run", root);
    snprintf(log, sizeof log, "%s/log", root);
    snprintf(cmd, sizeof cmd, "./train --dataset repeat --d 8 --layers 2 --steps 6 --train-size 200 "
             "--test-size 50 --batch 16 --threads 1 --probe-size 8 --cluster-every 2 --eval-every 3 "
             "--run-dir %s", dir);
    int rc = run_with_file_limit(cmd, 12000, log);
    char *text = slurp(log);
    CHECK(rc == 0 && text && strstr(text, "only the plots failed"), "exit 0 and the plots' failure "
          "said: exit %d: %s", rc, text ? text : "");
    free(text);
    CHECK(absent_or_whole_png(dir, "curves.png") && absent_or_whole_png(dir, "clusters.png"),
          "no truncated PNG");
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%s/curves.png.tmp", dir);
    CHECK(!file_exists(tmp), "no temporary file left");
    snprintf(cmd, sizeof cmd, "./train --resume --run-dir %s", dir);
    rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0 && is_png(dir, "curves.png") && is_png(dir, "clusters.png") &&
          absent_or_whole_png(dir, "curves.png") && absent_or_whole_png(dir, "clusters.png"),
          "--resume draws the missing plots: exit %d: %s", rc, out);
}

/* clusters.png: a normal run (clusters.csv ends with the energy column) draws 5 heatmaps
   (3 columns); without the energy column, 4 (2 columns): the panels follow the header.
   The old single plot was 900 pixels wide. */
static void test_plots_clusters_png(void) {
    char root[256], dir[1024], path[1200], csvpath[1200], err[512];
    make_temp_dir(root, sizeof root);
    CHECK(train_named(root, "run", NULL) == 0, "train: %s", out);
    snprintf(dir, sizeof dir, "%s/runs/run", root);
    snprintf(path, sizeof path, "%s/clusters.png", dir);
    snprintf(csvpath, sizeof csvpath, "%s/clusters.csv", dir);
    long w5 = png_width(path);
    CHECK(w5 == 3 * 560, "with energy, clusters.png is 3 panels wide: width %ld", w5);
    char *csv = slurp(csvpath);
    CHECK(csv && strstr(csv, ",energy\n"), "clusters.csv ends with the energy column");
    if (!csv) return;
    /* the same run without its last column */
    FILE *f = fopen(csvpath, "w");
    for (char *line = strtok(csv, "\n"); line; line = strtok(NULL, "\n")) {
        char *comma = strrchr(line, ',');
        if (comma) *comma = 0;
        fprintf(f, "%s\n", line);
    }
    fclose(f);
    free(csv);
    CHECK(runplots_write(dir, err, sizeof err) == 0, "runplots_write: %s", err);
    long w4 = png_width(path);
    CHECK(w4 == 2 * 560, "without energy, clusters.png is 2 panels wide: width %ld", w4);
}

/* The gnuplot scripts runplots_write gives for dir, from a fake gnuplot on PATH that keeps
   its input (the plots then fail, as they should); malloc'd, or NULL. */
static char *plot_scripts(const char *root, const char *dir) {
    char fake[400], cmd[4096], keep[450], err[2048];
    snprintf(fake, sizeof fake, "%s/keepbin", root);
    snprintf(keep, sizeof keep, "%s/scripts.txt", root);
    snprintf(cmd, sizeof cmd, "mkdir -p %s && rm -f %s && printf '#!/bin/sh\\n/bin/cat >> %s\\nexit 3\\n' "
             "> %s/gnuplot && chmod +x %s/gnuplot", fake, keep, keep, fake, fake);
    if (run_cmd(cmd, out, sizeof out) != 0) return NULL;
    char *path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    setenv("PATH", fake, 1);
    int rc = runplots_write(dir, err, sizeof err);
    if (path) setenv("PATH", path, 1);
    free(path);
    return rc != 0 ? slurp(keep) : NULL;
}

/* path with its first `from` replaced by `to`; 0, or -1 if from is not there. */
static int replace_in_file(const char *path, const char *from, const char *to) {
    char *text = slurp(path), *at = text ? strstr(text, from) : NULL;
    FILE *f = at ? fopen(path, "w") : NULL;
    if (f) fprintf(f, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from)), fclose(f);
    free(text);
    return f ? 0 : -1;
}

/* Titles carry the run's settings (noise scale, value mean, L, seed, qk when identity);
   clusters.png's colour scales are fixed: mean cos [-1, 1], order and energy [0, 1],
   clusters [1, n], stable rank [1, min(n, d)]. The settings come from config.json as
   numbers formatted by the code: text put into config.json never reaches gnuplot. */
static void test_plots_titles_and_fixed_scales(void) {
    char root[256], dir[300], path[400], err[2048];
    const char *settings[] = {"--noise-scale=0", "--value-mean=1", "--seed=5", "--qk=identity", NULL};
    make_temp_dir(root, sizeof root);
    snprintf(dir, sizeof dir, "%s/runs/run", root);
    CHECK(train_with(root, "run", settings) == 0, "train: %s", out);
    char *script = plot_scripts(root, dir);
    CHECK(script, "the fake gnuplot got the scripts");
    if (!script) return;
    const char *want = "noise scale 0, value mean 1, L 2, seed 5, qk identity'";
    const char *first = strstr(script, want);
    CHECK(first && strstr(first + 1, want), "both titles carry the settings: %s", script);
    const char *scales[] = {"set cbrange [-1:1]", "set cbrange [0:1]", "set cbrange [1:16]",
                            "set cbrange [1:8]"};
    for (int i = 0; i < 4; i++) CHECK(strstr(script, scales[i]), "%s in: %s", scales[i], script);
    free(script);
    /* qk 'identity' only as the code's own words; other text in config.json is left out */
    snprintf(path, sizeof path, "%s/config.json", dir);
    CHECK(replace_in_file(path, "\"qk\": \"identity\"", "\"qk\": \"" INJECTION "\"") == 0 &&
          replace_in_file(path, "\"seed\": 5", "\"seed\": \"5'; system 'touch injected'\"") == 0,
          "config.json edited");
    script = plot_scripts(root, dir);
    CHECK(script && !strstr(script, "injected") && strstr(script, "L 2, seed 0'"),
          "no text of config.json in the script: %s", script ? script : "");
    free(script);
    CHECK(runplots_write(dir, err, sizeof err) == 0, "the real gnuplot draws: %s", err);
    snprintf(path, sizeof path, "%s/injected", dir);
    CHECK(!file_exists(path), "config.json's text ran a command");
}

/* One unit for accuracy: the CSV files and summary.json hold fractions, what a person
   reads is percent: curves.png's axis (the fraction times 100) and ./train's lines. */
static void test_plots_accuracy_in_percent(void) {
    char root[256], dir[300], path[400], want[64];
    make_temp_dir(root, sizeof root);
    snprintf(dir, sizeof dir, "%s/runs/run", root);
    CHECK(train_named(root, "run", NULL) == 0, "train: %s", out);
    snprintf(path, sizeof path, "%s/eval.csv", dir);
    char *csv = slurp(path), *last = csv ? strrchr(csv, ',') : NULL;
    double acc = last ? atof(last + 1) : -1;
    CHECK(acc >= 0 && acc <= 1, "eval.csv holds a fraction: %s", csv ? csv : "");
    free(csv);
    snprintf(want, sizeof want, "(test accuracy %.2f%%)\n", 100 * acc);
    CHECK(strstr(out, want), "'%s' in: %s", want, out);
    snprintf(want, sizeof want, "test accuracy %.2f%%\n", 100 * acc);
    CHECK(strstr(out, "eval at step 6: test loss ") && strstr(out, want), "eval line: %s", out);
    char *script = plot_scripts(root, dir);
    CHECK(script && strstr(script, "set ylabel 'accuracy (%)'") && strstr(script, "'eval.csv' using 1:($3*100)") &&
          strstr(script, "'train.csv' using 1:($4*100)"), "curves.png in percent: %s", script ? script : "");
    free(script);
}

/* tools/plot_depth_compare.sh: paths and labels with quotes run nothing. */
static void test_plots_depth_compare_tool(void) {
    char root[256], run[1024], pngpath[1200], bin[1024], tool[1024], path[1200];
    make_temp_dir(root, sizeof root);
    repo_path(bin, sizeof bin, "simulate");
    repo_path(tool, sizeof tool, "tools/plot_depth_compare.sh");
    snprintf(run, sizeof run, "%s/%s", root, INJECTION);
    char *argv[] = {bin, "depth", "--n", "4", "--d", "4", "--layers", "3", "--draws", "2",
                    "--run-dir", run, NULL};
    CHECK(run_argv(root, argv, out, sizeof out) == 0, "simulate depth: %s", out);
    snprintf(pngpath, sizeof pngpath, "%s/cmp '$x`touch injected`.png", root);
    char *targv[] = {"/bin/bash", tool, pngpath, run, INJECTION, run, "two\nlines $(touch injected)", NULL};
    int rc = run_argv(root, targv, out, sizeof out);
    CHECK(rc == 0, "plot_depth_compare.sh exits 0, got %d: %s", rc, out);
    CHECK(png_width(pngpath) > 0, "the PNG is drawn: %s", out);
    snprintf(path, sizeof path, "%s/injected", root);
    CHECK(!file_exists(path), "a label or path ran a command");
}

SUITE(plots_tests) = {
    {"plots_quote", test_plot_quote},
    {"plots_train_injection_name", test_plots_train_injection_name},
    {"plots_train_odd_names", test_plots_train_odd_names},
    {"plots_resume_hint_quoted", test_plots_resume_hint_quoted},
    {"plots_simulate_injection_name", test_plots_simulate_injection_name},
    {"plots_gnuplot_failure_reported", test_plots_gnuplot_failure_reported},
    {"plots_full_disk_leaves_no_truncated_png", test_plots_full_disk_leaves_no_truncated_png},
    {"plots_clusters_png", test_plots_clusters_png},
    {"plots_titles_and_fixed_scales", test_plots_titles_and_fixed_scales},
    {"plots_accuracy_in_percent", test_plots_accuracy_in_percent},
    {"plots_depth_compare_tool", test_plots_depth_compare_tool},
    END_SUITE,
};
