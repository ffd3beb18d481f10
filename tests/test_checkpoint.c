/* Hardening of checkpoints and run directories (issue 9): a kill at any point of a save,
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

SUITE(checkpoint_tests) = {
    {"checkpoint_kill_at_every_save_point", test_checkpoint_kill_at_every_save_point},
    END_SUITE,
};
