/* End-to-end runs of ./train on a small synthetic task: determinism, resume bit for bit,
   Ctrl-C, the run directory's contents and learning. Run from the repository root. */
#define _DEFAULT_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "proc.h"
#include "safetensors.h"
#include "util.h"

/* Small and quick, but every part of the model is in it (multi-head, MLP, beta != 1). */
#define SMALL "./train --dataset repeat --d 16 --layers 3 --heads 2 --mlp 8 --beta 1.5 " \
              "--train-size 2000 --test-size 300 --batch 32 --threads 1 --eval-every 10 " \
              "--cluster-every 10 --log-every 5 --probe-size 16 --warmup 5"

static char out[1 << 16];

static int train(const char *dir, const char *flags) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, SMALL " --run-dir %s %s", dir, flags);
    int rc = run_cmd(cmd, out, sizeof out);
    if (rc != 0 && rc != 130) fprintf(stderr, "    %s\n    -> exit %d: %s\n", cmd, rc, out);
    return rc;
}

static int same_file(const char *a, const char *b, const char *name) {
    char pa[512], pb[512];
    snprintf(pa, sizeof pa, "%s/%s", a, name);
    snprintf(pb, sizeof pb, "%s/%s", b, name);
    return files_equal(pa, pb);
}

static void test_train_deterministic(void) {
    char root[256], a[300], b[300];
    make_temp_dir(root, sizeof root);
    snprintf(a, sizeof a, "%s/a", root);
    snprintf(b, sizeof b, "%s/b", root);
    CHECK(train(a, "--steps 20") == 0, "run a");
    CHECK(train(b, "--steps 20") == 0, "run b");
    CHECK(same_file(a, b, "model.safetensors"), "same seed and flags give the same weights");
    CHECK(same_file(a, b, "clusters.csv"), "and the same clustering metrics");
    CHECK(same_file(a, b, "eval.csv"), "and the same evaluation");
    char c[300];
    snprintf(c, sizeof c, "%s/c", root);
    CHECK(train(c, "--steps 20 --seed 2") == 0, "run c");
    CHECK(!same_file(a, c, "model.safetensors"), "another seed gives other weights");
    /* two threads split every batch in two: reproducible at that thread count too */
    char d2[300], e2[300];
    snprintf(d2, sizeof d2, "%s/d2", root);
    snprintf(e2, sizeof e2, "%s/e2", root);
    CHECK(train(d2, "--steps 20 --threads 2") == 0, "run d2");
    CHECK(train(e2, "--steps 20 --threads 2") == 0, "run e2");
    CHECK(same_file(d2, e2, "model.safetensors"), "same thread count, same weights");
}

/* k steps, stop, resume for the rest == all steps at once, with the cosine schedule. */
static void test_train_resume_bit_for_bit(void) {
    char root[256], full[300], part[300];
    make_temp_dir(root, sizeof root);
    snprintf(full, sizeof full, "%s/full", root);
    snprintf(part, sizeof part, "%s/part", root);
    CHECK(train(full, "--steps 25") == 0, "uninterrupted run");
    CHECK(train(part, "--steps 25 --stop-after 12") == 0, "first 12 steps");
    char *s = slurp(strcat(strcpy((char[400]){0}, part), "/summary.json"));
    CHECK(s && strstr(s, "\"stopped\"") && json_number(s, "step") == 12, "stopped at 12: %s", s ? s : "none");
    free(s);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "./train --resume --run-dir %s", part);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "resume exits 0, got %d: %s", rc, out);
    const char *files[] = {"model.safetensors", "optimizer.safetensors", "eval.csv", "clusters.csv"};
    for (int i = 0; i < 4; i++)
        CHECK(same_file(full, part, files[i]), "%s equal after resume", files[i]);
    /* train.csv too, but for its last column: the measured milliseconds */
    snprintf(cmd, sizeof cmd, "cmp <(cut -d, -f1-6 %s/train.csv) <(cut -d, -f1-6 %s/train.csv)", full, part);
    char bash[1200];
    snprintf(bash, sizeof bash, "bash -c '%s'", cmd);
    CHECK(run_cmd(bash, out, sizeof out) == 0, "train.csv equal after resume: %s", out);
}

/* With a constant learning rate, k steps then --resume --steps k+m == k+m steps. */
static void test_train_resume_extends_steps(void) {
    char root[256], full[300], part[300], cmd[1024];
    make_temp_dir(root, sizeof root);
    snprintf(full, sizeof full, "%s/full", root);
    snprintf(part, sizeof part, "%s/part", root);
    CHECK(train(full, "--steps 20 --schedule constant") == 0, "20 steps");
    CHECK(train(part, "--steps 8 --schedule constant") == 0, "8 steps");
    snprintf(cmd, sizeof cmd, "./train --resume --run-dir %s --steps 20", part);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "resume to 20: %s", out);
    CHECK(same_file(full, part, "model.safetensors"), "8 + 12 steps == 20 steps");
    CHECK(same_file(full, part, "optimizer.safetensors"), "optimizer state too");
}

static void test_train_ctrl_c_saves(void) {
    char root[256], dir[300], cmd[1024], csv[400];
    make_temp_dir(root, sizeof root);
    snprintf(dir, sizeof dir, "%s/run", root);
    snprintf(csv, sizeof csv, "%s/train.csv", dir);
    pid_t pid = fork();
    if (pid == 0) {
        char resolved[1000];
        snprintf(cmd, sizeof cmd, SMALL " --run-dir %s --steps 100000 >/dev/null 2>&1", dir);
        resolve_cmd(cmd, resolved, sizeof resolved);
        snprintf(cmd, sizeof cmd, "exec %s", resolved);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    /* wait until training is under way (a few rows logged), then interrupt */
    for (int i = 0; i < 200; i++) {
        char *t = slurp(csv);
        int rows = 0;
        for (char *p = t; p && *p; p++) rows += *p == '\n';
        free(t);
        if (rows >= 3) break;
        usleep(50000);
    }
    kill(pid, SIGINT);   /* "exec" made the shell's pid the trainer's */
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 130, "interrupted run exits 130");
    snprintf(cmd, sizeof cmd, "%s/summary.json", dir);
    char *s = slurp(cmd);
    CHECK(s && strstr(s, "\"interrupted\""), "summary says interrupted: %s", s ? s : "(none)");
    double step = json_number(s, "step");
    CHECK(step > 0 && step < 100000, "stopped mid-run at step %g", step);
    free(s);
    snprintf(cmd, sizeof cmd, "%s/model.safetensors", dir);
    StFile f;
    char err[512];
    CHECK(st_read(&f, cmd, err, sizeof err) == 0, "checkpoint readable: %s", err);
    if (f.file) {
        const char *ms = st_meta(&f, "step");
        CHECK(ms && atof(ms) == step, "checkpoint at the interrupted step");
        st_free(&f);
    }
}

static void test_train_run_directory(void) {
    char root[256], dir[300], path[400];
    make_temp_dir(root, sizeof root);
    snprintf(dir, sizeof dir, "%s/run", root);
    CHECK(train(dir, "--steps 20") == 0, "run");
    snprintf(path, sizeof path, "%s/config.json", dir);
    char *cfg = slurp(path);
    CHECK(cfg && strstr(cfg, "\"noise_scale\": 1") && strstr(cfg, "\"git_commit\"") &&
          strstr(cfg, "\"threads\": 1") && json_number(cfg, "seed") == 1, "config.json complete");
    free(cfg);
    snprintf(path, sizeof path, "%s/clusters.csv", dir);
    char *cl = slurp(path);
    CHECK(cl && strstr(cl, "step,layer,mean_cos,mean_abs_cos,frac_clustered,frac_antipodal,order,n_clusters,stable_rank,energy\n"),
          "clusters.csv header");
    CHECK(cl && strstr(cl, "\n0,0,") && strstr(cl, "\n0,3,") && strstr(cl, "\n20,3,"),
          "clusters.csv has layers 0..L at step 0 and at the end");
    free(cl);
    snprintf(path, sizeof path, "%s/eval.csv", dir);
    char *ev = slurp(path);
    CHECK(ev && strstr(ev, "\n20,"), "last eval row at the final step");
    free(ev);
    const char *pngs[] = {"curves.png", "clusters.png"};
    for (int i = 0; i < 2; i++) {   /* gnuplot-nox is a dependency (make deps, .ci/run) */
        snprintf(path, sizeof path, "%s/%s", dir, pngs[i]);
        char *png = slurp(path);
        CHECK(png && memcmp(png, "\x89PNG", 4) == 0, "%s is a PNG", pngs[i]);
        free(png);
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    StFile f;
    char err[512];
    CHECK(st_read(&f, path, err, sizeof err) == 0, "model.safetensors: %s", err);
    if (!f.file) return;
    const char *names[] = {"embed", "pos", "layers.0.q", "layers.2.v", "layers.1.w1",
                           "layers.1.w2", "head.weight", "head.bias"};
    for (int i = 0; i < 8; i++) CHECK(st_find(&f, names[i]), "tensor %s present", names[i]);
    const struct StEntry *e = st_find(&f, "layers.1.w1");
    CHECK(e && e->shape[0] == 16 && e->shape[1] == 8, "w1 is (d, M)");
    e = st_find(&f, "embed");
    CHECK(e && e->shape[0] == 8 && e->shape[1] == 16, "embed is (vocab, d)");
    const char *keys[] = {"d", "L", "H", "n", "patch", "beta", "alpha", "mlp", "noise_scale",
                          "value_mean", "seed", "dataset"};
    for (int i = 0; i < 12; i++) CHECK(st_meta(&f, keys[i]), "metadata %s", keys[i]);
    CHECK(st_meta(&f, "L") && strcmp(st_meta(&f, "L"), "3") == 0, "metadata L = 3");
    st_free(&f);
}

/* A short run on a synthetic task that needs attention must learn it. */
static void test_train_learns_repeat_task(void) {
    char root[256], dir[300], cmd[1024];
    make_temp_dir(root, sizeof root);
    snprintf(dir, sizeof dir, "%s/run", root);
    snprintf(cmd, sizeof cmd, "./train --dataset repeat --d 32 --layers 4 --steps 400 --batch 64 "
             "--lr 3e-3 --warmup 50 --eval-every 400 --cluster-every 400 --threads 1 --run-dir %s", dir);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "train: %s", out);
    snprintf(cmd, sizeof cmd, "%s/summary.json", dir);
    char *s = slurp(cmd);
    double acc = json_number(s, "test_acc");
    fprintf(stderr, "    repeat task test accuracy %.4f\n", acc);
    CHECK(acc > 0.90, "test accuracy %.4f > 0.90", acc);
    free(s);
}

/* The first field of each line of dir/name after the header, joined by spaces. */
static void first_column(const char *dir, const char *name, char *buf, size_t len) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = slurp(path), *line = text ? strchr(text, '\n') : NULL;
    size_t n = 0;
    buf[0] = '\0';
    for (; line && line[1] && n + 32 < len; line = strchr(line + 1, '\n'))
        n += (size_t)snprintf(buf + n, len - n, "%s%.*s", n ? " " : "",
                              (int)strcspn(line + 1, ",\n"), line + 1);
    free(text);
}

/* --eval-every and --cluster-every follow the run's length when not given: updates / 4
   and / 16, rounded (1000 and 250 at the default 4000, their old fixed values); given,
   or saved in config.json for --resume, they stand. */
static void test_train_intervals_follow_steps(void) {
    static Config c;
    char *argv[] = {"train", "--cluster-every", "7", NULL}, err[256];
    long cases[][3] = {{4000, 1000, 250}, {12000, 3000, 750}, {30, 8, 2}, {10, 3, 1}, {1, 1, 1}};
    for (int i = 0; i < 5; i++) {
        CHECK(config_parse(&c, 1, argv, err, sizeof err) == CONFIG_OK, "defaults: %s", err);
        config_resolve_intervals(&c, cases[i][0]);
        CHECK(c.eval_every == cases[i][1] && c.cluster_every == cases[i][2],
              "%ld updates: eval every %ld, clusters every %ld", cases[i][0], c.eval_every, c.cluster_every);
    }
    CHECK(config_parse(&c, 3, argv, err, sizeof err) == CONFIG_OK, "--cluster-every 7: %s", err);
    config_resolve_intervals(&c, 4000);
    CHECK(c.eval_every == 1000 && c.cluster_every == 7, "given: %ld %ld", c.eval_every, c.cluster_every);

    char root[256], dir[300], cmd[1024], col[512];
    make_temp_dir(root, sizeof root);
    snprintf(dir, sizeof dir, "%s/run", root);
    snprintf(cmd, sizeof cmd, "./train --dataset repeat --d 8 --layers 2 --steps 30 --train-size 200 "
             "--test-size 50 --batch 16 --threads 1 --probe-size 8 --stop-after 20 --run-dir %s", dir);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "stopped run: %s", out);
    snprintf(cmd, sizeof cmd, "./train --resume --run-dir %s", dir);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "resumed: %s", out);
    first_column(dir, "eval.csv", col, sizeof col);
    CHECK(strcmp(col, "8 16 24 30") == 0, "evaluations at 30 / 4 = 8 and the end: %s", col);
    first_column(dir, "clusters.csv", col, sizeof col);
    CHECK(strncmp(col, "0 0 0 2 2 2 4", 13) == 0, "clusters every 30 / 16 = 2: %s", col);
    char path[400];
    snprintf(path, sizeof path, "%s/config.json", dir);
    char *cfg = slurp(path);
    CHECK(cfg && strstr(cfg, "\"eval_every\": 8,") && strstr(cfg, "\"cluster_every\": 2,"),
          "config.json holds the values used: %s", cfg ? cfg : "");
    free(cfg);
    snprintf(cmd, sizeof cmd, "./train --resume --steps 60 --run-dir %s", dir);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "extended: %s", out);
    first_column(dir, "eval.csv", col, sizeof col);
    CHECK(strcmp(col, "8 16 24 30 32 40 48 56 60") == 0, "--resume keeps the saved interval: %s", col);
}

SUITE(train_tests) = {
    {"train_deterministic", test_train_deterministic},
    {"train_resume_bit_for_bit", test_train_resume_bit_for_bit},
    {"train_resume_extends_steps", test_train_resume_extends_steps},
    {"train_ctrl_c_saves", test_train_ctrl_c_saves},
    {"train_run_directory", test_train_run_directory},
    {"train_learns_repeat_task", test_train_learns_repeat_task},
    {"train_intervals_follow_steps", test_train_intervals_follow_steps},
    END_SUITE,
};
