/* What a run directory guarantees to the records made from it (docs/RECORDS.md): it is
   claimed by one process only, and --resume continues only the run its checkpoint holds.
   Run from the repository root. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "rundir.h"
#include "util.h"

static char out[1 << 16];

#define FASHION "/usr/share/datasets/fashion-mnist"
/* A quick run of the repeat task that saves a checkpoint at step 2. */
#define QUICK "./train --dataset repeat --d 8 --layers 2 --train-size 256 --test-size 64 " \
              "--batch 16 --threads 1 --eval-every 2 --cluster-every 2 --log-every 1 "      \
              "--probe-size 16 --warmup 1"

/* Opens the write end of a FIFO once a reader has opened it (blocking writes), -1 after 20 s. */
static int open_fifo_writer(const char *path) {
    for (int i = 0; i < 400; i++) {
        int fd = open(path, O_WRONLY | O_NONBLOCK);
        if (fd >= 0) {
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
            return fd;
        }
        usleep(50000);
    }
    return -1;
}

static int write_all(int fd, const uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The race of two ./train on one new run directory: the second passed its check that the
   directory does not exist, then spent seconds loading its data while the first claimed the
   directory and finished. The second must not take the directory over: its data comes
   through a FIFO, so it waits inside the data loading for exactly as long as the test
   wants. */
static void test_records_second_train_on_new_dir_refused(void) {
    if (!file_exists(FASHION "/train-images-idx3-ubyte.gz")) SKIP("Fashion-MNIST is not installed");
    char root[256], data[300], fifo[400], dir[300], cmd[2048], path[400], keep[3][400];
    make_temp_dir(root, sizeof root);
    snprintf(data, sizeof data, "%s/data", root);
    snprintf(dir, sizeof dir, "%s/run", root);
    snprintf(cmd, sizeof cmd, "mkdir %s && ln -s " FASHION "/train-labels-idx1-ubyte.gz " FASHION
             "/t10k-images-idx3-ubyte.gz " FASHION "/t10k-labels-idx1-ubyte.gz %s/", data, data);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "data folder: %s", out);
    snprintf(fifo, sizeof fifo, "%s/train-images-idx3-ubyte.gz", data);
    CHECK(mkfifo(fifo, 0600) == 0, "mkfifo %s", fifo);
    snprintf(cmd, sizeof cmd, "./train --data-dir %s --d 8 --layers 1 --steps 1 --eval-every 1 "
             "--threads 1 --lr 0.5 --run-dir %s", data, dir);
    pid_t second = start_background(cmd);
    int fd = open_fifo_writer(fifo);   /* the second is past its check, inside its data loading */
    CHECK(fd >= 0, "the second run opened its data");
    snprintf(cmd, sizeof cmd, QUICK " --steps 4 --run-dir %s", dir);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "the first run, on the same directory, finishes: exit %d: %s", rc, out);
    const char *names[3] = {"config.json", "train.csv", "eval.csv"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        snprintf(keep[i], sizeof keep[i], "%s/%s.keep", root, names[i]);
        snprintf(cmd, sizeof cmd, "cp %s %s", path, keep[i]);
        run_cmd(cmd, out, sizeof out);
    }
    size_t len;
    char err[256];
    uint8_t *gz = read_whole_file(FASHION "/train-images-idx3-ubyte.gz", &len, err, sizeof err);
    CHECK(gz && fd >= 0 && write_all(fd, gz, len) == 0, "the second run's data is handed over");
    free(gz);
    if (fd >= 0) close(fd);
    int status = 0;
    waitpid(second, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 2,
          "the second run is refused with exit 2, got status %d", status);
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        CHECK(files_equal(path, keep[i]), "%s is the first run's, unchanged", names[i]);
    }
}

/* The claim itself (./train and ./simulate share it): an existing directory is refused
   without --force, also when the earlier check did not see it. */
static void test_records_claim_refuses_existing_dir(void) {
    char root[256], dir[300], err[512];
    make_temp_dir(root, sizeof root);
    snprintf(dir, sizeof dir, "%s/a/b/", root);
    int fd = -1;
    CHECK(rundir_create(dir, 0, &fd, err, sizeof err) == 0, "a new directory (trailing /) is "
          "claimed: %s", err);
    int fd2 = -1;
    int rc = rundir_create(dir, 0, &fd2, err, sizeof err);
    CHECK(rc != 0 && strstr(err, "already exists"), "a second claim is refused: %d %s", rc, err);
    if (fd >= 0) close(fd);
    rc = rundir_create(dir, 1, &fd2, err, sizeof err);
    CHECK(rc == 0, "--force claims it once the lock is free: %s", err);
    if (fd2 >= 0) close(fd2);
}

/* Replaces "key": old by "key": new in the text file at path; 0 if it was there. */
static int edit_setting(const char *path, const char *key, const char *old, const char *new) {
    char *text = slurp(path), from[128], to[128];
    snprintf(from, sizeof from, "\"%s\": %s,", key, old);
    snprintf(to, sizeof to, "\"%s\": %s,", key, new);
    char *at = text ? strstr(text, from) : NULL;
    FILE *f = at ? fopen(path, "w") : NULL;
    if (f) {
        fprintf(f, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
        fclose(f);
    }
    free(text);
    return f ? 0 : -1;
}

/* --resume takes its settings from config.json: one edited by hand (another seed, lr, batch,
   dataset of the same classes and input size, ...) would go on training the checkpoint's
   weights as another run. Each edit is refused with exit 2, naming the setting, and no file
   of the run changes; the unedited run then resumes. */
static void test_records_resume_refuses_edited_config(void) {
    char root[256], dir[300], cmd[2048], path[400];
    make_temp_dir(root, sizeof root);
    snprintf(dir, sizeof dir, "%s/run", root);
    snprintf(cmd, sizeof cmd, QUICK " --steps 4 --stop-after 2 --run-dir %s", dir);
    CHECK(run_cmd(cmd, out, sizeof out) == 0, "first 2 updates: %s", out);
    snprintf(path, sizeof path, "%s/config.json", dir);
    const char *edits[][3] = {
        {"seed", "1", "2"}, {"beta", "1", "2"}, {"residual_scale", "\"sqrt\"", "\"one\""},
        {"lr", "0.001", "0.002"}, {"batch", "16", "8"}, {"train_size", "256", "128"},
        {"noise_scale", "1", "0.5"}, {"value_mean", "0", "1"}, {"dataset", "\"repeat\"", "\"majority\""},
        {"optimizer", "\"adam\"", "\"adamw\""}, {"warmup", "1", "3"},
    };
    for (size_t i = 0; i < sizeof edits / sizeof *edits; i++) {
        snprintf(cmd, sizeof cmd, "rm -rf %s/before && cp -a %s %s/before", root, dir, root);
        run_cmd(cmd, out, sizeof out);
        CHECK(edit_setting(path, edits[i][0], edits[i][1], edits[i][2]) == 0, "edit %s", edits[i][0]);
        snprintf(cmd, sizeof cmd, "./train --resume --run-dir %s", dir);
        int rc = run_cmd(cmd, out, sizeof out);
        char want[96];
        snprintf(want, sizeof want, "'%s' is %s", edits[i][0], edits[i][2]);
        for (char *q = want; *q; q++) if (*q == '"') memmove(q, q + 1, strlen(q));
        CHECK(rc == 2 && strstr(out, want), "%s edited: exit 2 naming it ('%s'), got %d: %s",
              edits[i][0], want, rc, out);
        edit_setting(path, edits[i][0], edits[i][2], edits[i][1]);
        snprintf(cmd, sizeof cmd, "diff -r %s %s/before", dir, root);
        CHECK(run_cmd(cmd, out, sizeof out) == 0, "%s edited: no file changed: %s", edits[i][0], out);
    }
    snprintf(cmd, sizeof cmd, "./train --resume --run-dir %s", dir);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "the unedited run resumes: %d %s", rc, out);
}

SUITE(records_tests) = {
    {"records_second_train_on_new_dir_refused", test_records_second_train_on_new_dir_refused},
    {"records_claim_refuses_existing_dir", test_records_claim_refuses_existing_dir},
    {"records_resume_refuses_edited_config", test_records_resume_refuses_edited_config},
    END_SUITE
};
