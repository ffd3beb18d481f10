/* Hardening of checkpoints and run directories: a kill at any point of a save,
   strict reading of checkpoint metadata and tensors, the run-directory lock, failing CSV
   writes. Run from the repository root. */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "safetensors.h"
#include "util.h"

/* As tests/test_train.c: small and quick; saves at steps 10 and 20 and at the end. */
#define SMALL "./train --dataset repeat --d 16 --layers 3 --heads 2 --mlp 8 --beta 1.5 " \
              "--train-size 2000 --test-size 300 --batch 32 --threads 1 --eval-every 10 " \
              "--cluster-every 10 --log-every 5 --probe-size 16 --warmup 5"

static char out[1 << 16];

static int same_file(const char *a, const char *b, const char *name) {
    char pa[512], pb[512];
    snprintf(pa, sizeof pa, "%s/%s", a, name);
    snprintf(pb, sizeof pb, "%s/%s", b, name);
    return files_equal(pa, pb);
}

/* The files a resumed run must reproduce bit for bit (train.csv has timings in it). */
static const char *const RESULT_FILES[] = {"model.safetensors", "optimizer.safetensors",
                                           "eval.csv", "clusters.csv"};

/* Killed at save point n (TRAIN_TEST_ABORT_AT), then resumed with the same n (so the resumed
   run may be killed in one of its own saves too), then resumed to the end: the result must
   equal the uninterrupted run. Stops at the first n past the last save point. */
static void test_checkpoint_kill_at_every_save_point(void) {
    char root[256], full[300], dir[300], cmd[1024];
    make_temp_dir(root, sizeof root);
    snprintf(full, sizeof full, "%s/full", root);
    snprintf(cmd, sizeof cmd, SMALL " --steps 25 --run-dir %s", full);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "uninterrupted run: %s", out);
    int kills = 0;
    for (int n = 1; n <= 40; n++) {
        snprintf(dir, sizeof dir, "%s/k%d", root, n);
        snprintf(cmd, sizeof cmd, "TRAIN_TEST_ABORT_AT=%d " SMALL " --steps 25 --run-dir %s", n, dir);
        int rc = run_cmd(cmd, out, sizeof out);
        if (rc == 0) break;   /* n is past the last save point */
        CHECK(rc == 128 + SIGKILL, "n=%d: killed, got exit %d: %s", n, rc, out);
        kills++;
        snprintf(cmd, sizeof cmd, "TRAIN_TEST_ABORT_AT=%d ./train --resume --run-dir %s", n, dir);
        rc = run_cmd(cmd, out, sizeof out);
        CHECK(rc == 0 || rc == 128 + SIGKILL, "n=%d: first resume: exit %d: %s", n, rc, out);
        snprintf(cmd, sizeof cmd, "./train --resume --run-dir %s", dir);
        rc = run_cmd(cmd, out, sizeof out);
        CHECK(rc == 0, "n=%d: resume after the kill: exit %d: %s", n, rc, out);
        for (int i = 0; i < 4; i++)
            CHECK(same_file(full, dir, RESULT_FILES[i]), "n=%d: %s equal to the uninterrupted run",
                  n, RESULT_FILES[i]);
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        run_cmd(cmd, out, sizeof out);
    }
    fprintf(stderr, "    killed at %d save points\n", kills);
    CHECK(kills >= 3 * 4, "a kill at every point of 3 saves (4 points each), got %d", kills);
}

/* ---- strict reading of a checkpoint ---------------------------------------------------- */

typedef enum { SET_META, TRANSPOSE, PUT_NAN } Tamper;

/* Rewrites the safetensors file at path with one change: metadata `name` set to value
   (SET_META), tensor `name` stored with its two dimensions swapped (TRANSPOSE), or one of
   its elements set to NaN (PUT_NAN). Returns 0 on success. */
static int tamper(const char *path, Tamper what, const char *name, const char *value) {
    StFile f;
    char err[512];
    if (st_read(&f, path, err, sizeof err) != 0) return fprintf(stderr, "    %s\n", err), -1;
    StTensor *t = xcalloc(f.count, sizeof *t);
    float **data = xcalloc(f.count, sizeof *data);
    for (int i = 0; i < f.count; i++) {
        const struct StEntry *e = &f.entries[i];
        size_t n = (e->end - e->begin) / 4;
        data[i] = xmalloc(4 * n + 4);
        st_get(&f, e->name, data[i], n);
        t[i] = (StTensor){e->name, data[i], e->ndim, {e->shape[0], e->ndim == 2 ? e->shape[1] : 0}};
        if (strcmp(e->name, name) != 0) continue;
        if (what == TRANSPOSE) t[i].shape[0] = e->shape[1], t[i].shape[1] = e->shape[0];
        if (what == PUT_NAN) data[i][n / 2] = NAN;
    }
    StMeta *meta = xcalloc(f.meta_count, sizeof *meta);
    for (int i = 0; i < f.meta_count; i++) {
        meta[i] = f.meta[i];
        if (what == SET_META && strcmp(meta[i].key, name) == 0) meta[i].value = value;
    }
    int rc = st_write(path, t, f.count, meta, f.meta_count, err, sizeof err);
    if (rc != 0) fprintf(stderr, "    %s\n", err);
    for (int i = 0; i < f.count; i++) free(data[i]);
    free(data);
    free(t);
    free(meta);
    st_free(&f);
    return rc;
}

/* The files of a run directory that a refused --resume must leave as they are. */
static const char *const RUN_FILES[] = {"train.csv", "eval.csv", "clusters.csv", "config.json",
                                        "model.safetensors", "optimizer.safetensors"};
#define NUM_RUN_FILES 6

/* A run stopped at step 15 (after a save at 10) in root/base; copied for each case. */
static void make_stopped_run(const char *root, char *base, size_t len) {
    char cmd[1024];
    snprintf(base, len, "%s/base", root);
    snprintf(cmd, sizeof cmd, SMALL " --steps 30 --stop-after 15 --run-dir %s", base);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "stopped run: %s", out);
}

static int one_line(const char *text) {
    const char *nl = strchr(text, '\n');
    return nl && nl[1] == '\0';
}

/* Copies base to root/NAME, applies the tampering to FILE in it, runs --resume: it must
   exit 1 with a message naming the file and `names`, and leave every file unchanged. */
static void check_refused(const char *root, const char *base, const char *case_name,
                          const char *file, Tamper what, const char *name, const char *value,
                          const char *names) {
    char dir[400], keep[400], path[600], cmd[2200];
    snprintf(dir, sizeof dir, "%s/%s", root, case_name);
    snprintf(keep, sizeof keep, "%s/%s.before", root, case_name);
    snprintf(cmd, sizeof cmd, "cp -r %s %s", base, dir);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "copy: %s", out);
    snprintf(path, sizeof path, "%s/%s", dir, file);
    CHECK(tamper(path, what, name, value) == 0, "%s: tampered with %s", case_name, file);
    snprintf(cmd, sizeof cmd, "cp -r %s %s", dir, keep);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "copy: %s", out);
    snprintf(cmd, sizeof cmd, "./train --resume --run-dir %s", dir);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 1 && strstr(out, file) && strstr(out, names) && one_line(out),
          "%s: refused with one line naming %s and '%s': exit %d: %s", case_name, file, names, rc, out);
    for (int i = 0; i < NUM_RUN_FILES; i++)
        CHECK(same_file(dir, keep, RUN_FILES[i]), "%s: %s unchanged", case_name, RUN_FILES[i]);
}

static void test_checkpoint_bad_metadata_refused(void) {
    char root[256], base[300];
    make_temp_dir(root, sizeof root);
    make_stopped_run(root, base, sizeof base);
    /* both files, so that they still agree with each other: only the value is wrong */
    const char *bad[] = {"abc", "-5", "15abc", "", " 15", "99999999999999999999999"};
    for (int i = 0; i < 6; i++) {
        char name[32], dir[400], path[600], cmd[1400];
        snprintf(name, sizeof name, "step%d", i);
        snprintf(dir, sizeof dir, "%s/%s.opt", root, name);   /* base, optimizer step bad */
        snprintf(cmd, sizeof cmd, "rm -rf %s && cp -r %s %s", dir, base, dir);
        run_cmd(cmd, out, sizeof out);
        snprintf(path, sizeof path, "%s/optimizer.safetensors", dir);
        CHECK(tamper(path, SET_META, "step", bad[i]) == 0, "optimizer step %s", bad[i]);
        check_refused(root, dir, name, "model.safetensors", SET_META, "step", bad[i], "'step'");
    }
    check_refused(root, base, "width", "model.safetensors", SET_META, "d", "32", "'d'");
    check_refused(root, base, "updates", "optimizer.safetensors", SET_META, "updates", "x", "'updates'");
    check_refused(root, base, "optstep", "optimizer.safetensors", SET_META, "step", "10", "inconsistent");
}

static void test_checkpoint_bad_tensors_refused(void) {
    char root[256], base[300];
    make_temp_dir(root, sizeof root);
    make_stopped_run(root, base, sizeof base);
    /* layers.1.w1 is (d, M) = (16, 8): stored as (8, 16) it has the right element count */
    check_refused(root, base, "transposed", "model.safetensors", TRANSPOSE, "layers.1.w1", NULL,
                  "layers.1.w1");
    check_refused(root, base, "nan", "model.safetensors", PUT_NAN, "layers.0.q", NULL, "layers.0.q");
    check_refused(root, base, "nan_moment", "optimizer.safetensors", PUT_NAN, "v", NULL, "'v'");
}

/* ---- one process per run directory ---------------------------------------------------- */

/* Starts `cmd` (run by sh, exec'd so the pid is the program's) in the background. */
/* Waits (up to 10 s) until the file has at least `lines` lines. */
static int wait_for_lines(const char *path, int lines) {
    for (int i = 0; i < 200; i++) {
        char *t = slurp(path);
        int n = 0;
        for (char *p = t; p && *p; p++) n += *p == '\n';
        free(t);
        if (n >= lines) return 1;
        usleep(50000);
    }
    return 0;
}

static void test_checkpoint_second_process_refused(void) {
    char root[256], dir[300], cmd[1024], path[400], keep[400];
    make_temp_dir(root, sizeof root);
    snprintf(dir, sizeof dir, "%s/run", root);
    snprintf(cmd, sizeof cmd, SMALL " --steps 100000 --run-dir %s", dir);
    pid_t first = start_background(cmd);
    snprintf(path, sizeof path, "%s/train.csv", dir);
    CHECK(wait_for_lines(path, 3), "the first run is under way");
    snprintf(path, sizeof path, "%s/config.json", dir);
    snprintf(keep, sizeof keep, "%s/config.keep", root);
    snprintf(cmd, sizeof cmd, "cp %s %s", path, keep);
    run_cmd(cmd, out, sizeof out);
    snprintf(cmd, sizeof cmd, "./train --resume --run-dir %s", dir);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 1 && strstr(out, "in use by another process") && strstr(out, dir),
          "a second --resume is refused: exit %d: %s", rc, out);
    snprintf(cmd, sizeof cmd, SMALL " --steps 20 --seed 7 --force --run-dir %s", dir);
    rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 1 && strstr(out, "in use by another process"), "a second --force is refused: "
          "exit %d: %s", rc, out);
    CHECK(files_equal(path, keep), "the running run's config.json is untouched");
    kill(first, SIGINT);
    int status;
    waitpid(first, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 130, "the first run ends normally");
    /* the lock went with the first process */
    snprintf(path, sizeof path, "%s/run.lock", dir);
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0, "run.lock is free after the run");
    if (fd >= 0) close(fd);
}

/* ./simulate uses the same run-directory code: refused while another process holds it. */
static void test_checkpoint_simulate_locked(void) {
    char root[256], dir[300], cmd[1024], path[400];
    make_temp_dir(root, sizeof root);
    snprintf(dir, sizeof dir, "%s/sim", root);
    snprintf(cmd, sizeof cmd, "./simulate depth --tokens repeat --n 12 --d 16 --layers 4 "
             "--draws 3 --batch 4 --run-dir %s", dir);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "simulate: %s", out);
    snprintf(path, sizeof path, "%s/run.lock", dir);
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0, "this test holds the lock");
    snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " --force");
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 1 && strstr(out, "in use by another process"), "simulate --force refused while "
          "locked: exit %d: %s", rc, out);
    snprintf(path, sizeof path, "%s/depth.csv", dir);
    CHECK(file_exists(path), "the locked run's results are kept");
    if (fd >= 0) close(fd);
    rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "and accepted once the lock is free: exit %d: %s", rc, out);
}

/* ---- failing writes of the CSV logs ------------------------------------------------------ */

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* A run resumed at step 10 under a file size limit just above its largest text file (and
   far below the checkpoint files): the first CSV row past it fails. The run must stop with a message
   naming the file, keep the checkpoint of step 10, and resume from it bit for bit. */
static void test_checkpoint_csv_write_failure(void) {
    char root[256], full[300], dir[300], cmd[1024], path[400], keep[400], log[400];
    make_temp_dir(root, sizeof root);
    snprintf(full, sizeof full, "%s/full", root);
    snprintf(dir, sizeof dir, "%s/run", root);
    snprintf(cmd, sizeof cmd, SMALL " --steps 30 --run-dir %s", full);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "uninterrupted run: %s", out);
    snprintf(cmd, sizeof cmd, SMALL " --steps 30 --stop-after 10 --run-dir %s", dir);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "first 10 steps: %s", out);
    long limit = 0;   /* just above the largest text file; the checkpoints are far larger */
    const char *texts[] = {"clusters.csv", "config.json", "train.csv", "eval.csv", "summary.json"};
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, texts[i]);
        if (file_size(path) + 100 > limit) limit = file_size(path) + 100;
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    CHECK(file_size(path) > 4 * limit, "the checkpoint cannot be written under the limit");
    snprintf(keep, sizeof keep, "%s/model.keep", root);
    snprintf(cmd, sizeof cmd, "cp %s %s", path, keep);
    run_cmd(cmd, out, sizeof out);
    /* clusters.csv rows every step: 4 rows of about 60 bytes a step cross the limit soon */
    snprintf(cmd, sizeof cmd, "./train --resume --cluster-every 1 --run-dir %s", dir);
    snprintf(log, sizeof log, "%s/log.txt", root);
    int rc = run_with_file_limit(cmd, limit, log);
    char *text = slurp(log);
    CHECK(rc == 1 && text && strstr(text, "clusters.csv: write failed"),
          "the failed write stops the run: exit %d: %s", rc, text ? text : "(no output)");
    free(text);
    CHECK(files_equal(path, keep), "the checkpoint of step 10 is kept");
    snprintf(cmd, sizeof cmd, "./train --resume --run-dir %s", dir);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "resume without the limit: %s", out);
    CHECK(same_file(full, dir, "model.safetensors"), "same weights as the uninterrupted run");
    CHECK(same_file(full, dir, "eval.csv"), "same evaluation rows");
}

/* A SMALL run with the extra flags in root/run (its path in dir); checks it exits 0. */
static void small_run(const char *root, char *dir, size_t len, const char *flags) {
    char cmd[2048];
    snprintf(dir, len, "%s/run", root);
    snprintf(cmd, sizeof cmd, SMALL " %s --run-dir %s 2>&1", flags, dir);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "%s: %s", cmd, out);
}

/* Killed after its final save but before summary.json: --resume writes the summary (status
   finished, the test accuracy of eval.csv's last row) instead of saying there is nothing to
   do, and changes no result file. */
static void test_checkpoint_summary_after_final_save(void) {
    char root[256], dir[300], cmd[2048], path[400];
    make_temp_dir(root, sizeof root);
    small_run(root, dir, sizeof dir, "--steps 20");
    snprintf(path, sizeof path, "%s/summary.json", dir);
    char *before = slurp(path);
    CHECK(before && unlink(path) == 0, "summary.json written, then removed");
    char keep[300];
    snprintf(keep, sizeof keep, "%s/keep", root);
    snprintf(cmd, sizeof cmd, "mkdir %s && cp %s/model.safetensors %s/eval.csv %s/", keep, dir, dir, keep);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "copy: %s", out);
    snprintf(cmd, sizeof cmd, "./train --resume --run-dir %s 2>&1", dir);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "summary was missing"), "resume writes the summary, exit %d: %s", rc, out);
    char *after = slurp(path);
    CHECK(after && strstr(after, "\"status\": \"finished\""), "summary says finished: %s", after ? after : "");
    CHECK(before && after && json_number(after, "test_acc") == json_number(before, "test_acc") &&
          json_number(after, "test_loss") == json_number(before, "test_loss"),
          "same test loss and accuracy as the uninterrupted summary");
    CHECK(same_file(dir, keep, "model.safetensors") && same_file(dir, keep, "eval.csv"),
          "model.safetensors and eval.csv untouched");
    free(before);
    free(after);
}

/* A run of an older build (clusters.csv without the energy column) continued by this one:
   the log gets this build's header, its old rows an empty energy field, so every row has
   the header's field count; a log with other columns is refused and left as it was. */
static void test_checkpoint_resume_older_log(void) {
    char root[256], dir[300], cmd[2048], path[400];
    make_temp_dir(root, sizeof root);
    small_run(root, dir, sizeof dir, "--steps 20 --stop-after 10");
    snprintf(path, sizeof path, "%s/clusters.csv", dir);
    /* drop the last column, as the build before the energy metric wrote it */
    snprintf(cmd, sizeof cmd, "sed -i 's/,[^,]*$//' %s", path);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "sed: %s", out);
    char *old = slurp(path);
    CHECK(old && !strstr(old, "energy"), "the older log has no energy column");
    snprintf(cmd, sizeof cmd, "./train --resume --run-dir %s 2>&1", dir);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "resume exits 0, got %d: %s", rc, out);
    char *now = slurp(path);
    CHECK(now && strstr(now, ",stable_rank,energy\n"), "this build's header: %.80s", now ? now : "");
    int rows = 0, bad = 0;
    for (char *line = now ? strtok(now, "\n") : NULL; line; line = strtok(NULL, "\n"), rows++) {
        int fields = 1;
        for (char *c = line; *c; c++) fields += *c == ',';
        bad += fields != 10;
    }
    CHECK(rows > 10 && bad == 0, "%d rows, %d without the header's 10 fields", rows, bad);
    free(now);
    /* a log with columns this build does not write: refused, nothing changed */
    snprintf(cmd, sizeof cmd, "sed -i '1s/^step,layer/step,depth/' %s", path);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "sed: %s", out);
    char *before = slurp(path);
    snprintf(cmd, sizeof cmd, "./train --resume --steps 30 --run-dir %s 2>&1", dir);
    rc = run_cmd(cmd, out, sizeof out);
    char *after = slurp(path);
    CHECK(rc == 1 && strstr(out, "cannot be continued by this build"), "other columns refused, exit %d: %s", rc, out);
    CHECK(before && after && !strcmp(before, after), "the refused log is unchanged");
    free(old);
    free(before);
    free(after);
}

SUITE(checkpoint_tests) = {
    {"checkpoint_resume_older_log", test_checkpoint_resume_older_log},
    {"checkpoint_summary_after_final_save", test_checkpoint_summary_after_final_save},
    {"checkpoint_kill_at_every_save_point", test_checkpoint_kill_at_every_save_point},
    {"checkpoint_bad_metadata_refused", test_checkpoint_bad_metadata_refused},
    {"checkpoint_bad_tensors_refused", test_checkpoint_bad_tensors_refused},
    {"checkpoint_second_process_refused", test_checkpoint_second_process_refused},
    {"checkpoint_simulate_locked", test_checkpoint_simulate_locked},
    {"checkpoint_csv_write_failure", test_checkpoint_csv_write_failure},
    END_SUITE,
};
