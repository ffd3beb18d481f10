/* experiments/: the aggregation of a sweep (mean, sd, Welch interval) on a fixed input,
   the sweep script's command line, a tiny sweep end to end, and resuming a sweep (finished
   runs are skipped, a stopped one is continued). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "proc.h"

static char out[1 << 16];

/* The tiny sweep: 2 settings (noise 0 and 1 at L 2 on repeat) x 2 seeds, 5 updates of a
   d 8 model; about a second. */
#define TINY "bash experiments/sweep.sh --datasets repeat --depths 2 --noise 0,1 --seeds 1,2 " \
    "--steps-syn 5 --steps-syn-deep 5 --syn-flags '--seq-len 8 --vocab 4 --train-size 256 --test-size 64' " \
    "--train-flags '--d 8 --probe-size 16 --batch 16 --log-every 1'"

static int write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

/* Field `col` (0-based) of the CSV line of `text` that starts with `prefix`, or NAN. */
static double csv_field(const char *text, const char *prefix, int col) {
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, prefix, strlen(prefix))) continue;
        const char *p = line;
        for (int c = 0; c < col; c++) {
            p = strchr(p, ',');
            if (!p) return NAN;
            p++;
        }
        if (*p == ',' || *p == '\n' || !*p) return NAN;   /* empty field */
        return strtod(p, NULL);
    }
    return NAN;
}

static int count(const char *text, const char *word) {
    int n = 0;
    for (const char *p = text; (p = strstr(p, word)); p += strlen(word)) n++;
    return n;
}

/* Known input -> known mean, sd, difference, Welch df and interval. */
static void test_experiment_aggregate_fixed_input(void) {
    char dir[256], in[512], cmd[2048];
    make_temp_dir(dir, sizeof dir);
    snprintf(in, sizeof in, "%s/summary.csv", dir);
    /* x: equal variances, 3 + 3 runs: diff -0.1, se sqrt(2 * 0.0004 / 3), Welch df 4,
          t(0.975, 4) = 2.776, half width 0.045332.
       y: unequal, 2 runs at noise 1 (0.5, 0.6: var 0.005) and 3 at noise 2 (0.30, 0.30,
          0.36: mean 0.32, var 0.0012): df = 0.0029^2 / (0.0025^2 / 1 + 0.0004^2 / 2)
          = 1.3286, t interpolated in 1/df between df 1 and 2.
       z: a single run: mean only, no sd and no interval; a missing accuracy is skipped. */
    CHECK(write_file(in, "dataset,depth,noise,seed,test_acc,steps,name\n"
                         "x,16,1,1,0.80,5,a\nx,16,1,2,0.82,5,a\nx,16,1,3,0.84,5,a\n"
                         "x,16,0,1,0.70,5,a\nx,16,0,2,0.72,5,a\nx,16,0,3,0.74,5,a\n"
                         "y,4,1,1,0.5,5,a\ny,4,1,2,0.6,5,a\n"
                         "y,4,2,1,0.30,5,a\ny,4,2,2,0.30,5,a\ny,4,2,3,0.36,5,a\n"
                         "z,2,1,1,0.9,5,a\nz,2,1,2,,5,a\n") == 0, "write %s", in);
    snprintf(cmd, sizeof cmd, "awk -f experiments/aggregate.awk %s", in);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "aggregate.awk exits 0, got %d: %s", rc, out);
    CHECK(!strncmp(out, "dataset,depth,noise,n,mean,sd,diff,ci_lo,ci_hi,df\n", 50), "header: %s", out);

    CHECK_CLOSE(csv_field(out, "x,16,0,", 3), 3, 0, 0, "x noise 0: n");
    CHECK_CLOSE(csv_field(out, "x,16,0,", 4), 0.72, 1e-6, 0, "x noise 0: mean");
    CHECK_CLOSE(csv_field(out, "x,16,0,", 5), 0.02, 1e-6, 0, "x noise 0: sd");
    CHECK_CLOSE(csv_field(out, "x,16,0,", 6), -0.10, 1e-6, 0, "x noise 0: diff to noise 1");
    CHECK_CLOSE(csv_field(out, "x,16,0,", 7), -0.1 - 2.776 * sqrt(0.0008 / 3), 1e-6, 0, "x: ci_lo");
    CHECK_CLOSE(csv_field(out, "x,16,0,", 8), -0.1 + 2.776 * sqrt(0.0008 / 3), 1e-6, 0, "x: ci_hi");
    CHECK_CLOSE(csv_field(out, "x,16,0,", 9), 4.0, 1e-9, 0, "x: Welch df");
    CHECK_CLOSE(csv_field(out, "x,16,1,", 4), 0.82, 1e-6, 0, "x noise 1: mean");
    CHECK_CLOSE(csv_field(out, "x,16,1,", 6), 0, 1e-9, 0, "x noise 1: diff to itself");

    double df = 0.0029 * 0.0029 / (0.0025 * 0.0025 + 0.0004 * 0.0004 / 2);
    double w = (1 / df - 0.5) / (1 - 0.5), t = 4.303 + w * (12.706 - 4.303);
    double se = sqrt(0.0029);
    CHECK_CLOSE(csv_field(out, "y,4,2,", 4), 0.32, 1e-6, 0, "y noise 2: mean");
    CHECK_CLOSE(csv_field(out, "y,4,2,", 5), sqrt(0.0012), 1e-6, 0, "y noise 2: sd");
    CHECK_CLOSE(csv_field(out, "y,4,1,", 5), sqrt(0.005), 1e-6, 0, "y noise 1: sd");
    CHECK_CLOSE(csv_field(out, "y,4,2,", 6), -0.23, 1e-6, 0, "y: diff");
    CHECK_CLOSE(csv_field(out, "y,4,2,", 9), df, 0.005, 0, "y: Welch df");
    CHECK_CLOSE(csv_field(out, "y,4,2,", 7), -0.23 - t * se, 1e-5, 0, "y: ci_lo");
    CHECK_CLOSE(csv_field(out, "y,4,2,", 8), -0.23 + t * se, 1e-5, 0, "y: ci_hi");

    CHECK_CLOSE(csv_field(out, "z,2,1,", 3), 1, 0, 0, "z: the empty accuracy is not counted");
    CHECK_CLOSE(csv_field(out, "z,2,1,", 4), 0.9, 1e-6, 0, "z: mean");
    CHECK(isnan(csv_field(out, "z,2,1,", 5)), "z: one run has no sd");
    /* sorted by dataset, depth, noise */
    const char *px = strstr(out, "x,16,0,"), *px1 = strstr(out, "x,16,1,"), *py = strstr(out, "y,4,1,");
    CHECK(px && px1 && py && px < px1 && px1 < py, "rows sorted: %s", out);

    /* the markdown table: percent, signed difference, interval */
    snprintf(cmd, sizeof cmd, "awk -f experiments/aggregate.awk %s > %s/t.csv && "
             "bash experiments/table_md.sh %s/t.csv", in, dir, dir);
    rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "table_md.sh exits 0, got %d: %s", rc, out);
    CHECK(strstr(out, "| x | 16 | 0 | 3 | 72.00 | 2.00 | -10.00 | [-14.53, -5.47] |"),
          "markdown row of x noise 0: %s", out);
    CHECK(strstr(out, "| x | 16 | 1 | 3 | 82.00 | 2.00 | (reference) | - |"), "reference row: %s", out);

    /* another column (-v value=...): the training loss, and its markdown table as is */
    CHECK(write_file(in, "dataset,depth,noise,seed,test_acc,steps,name,train_loss_end\n"
                         "x,16,1,1,0.8,5,a,0.20\nx,16,1,2,0.8,5,a,0.22\n"
                         "x,16,0,1,0.8,5,a,0.30\nx,16,0,2,0.8,5,a,0.34\n") == 0, "write %s", in);
    snprintf(cmd, sizeof cmd, "awk -v value=train_loss_end -f experiments/aggregate.awk %s > %s/t.csv && "
             "cat %s/t.csv && bash experiments/table_md.sh %s/t.csv loss", in, dir, dir, dir);
    rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "aggregate.awk -v value=train_loss_end exits 0, got %d: %s", rc, out);
    CHECK_CLOSE(csv_field(out, "x,16,0,", 4), 0.32, 1e-6, 0, "x noise 0: mean loss");
    CHECK_CLOSE(csv_field(out, "x,16,0,", 6), 0.11, 1e-6, 0, "x noise 0: loss diff to noise 1");
    CHECK(strstr(out, "| x | 16 | 0 | 2 | 0.3200 | 0.0283 | +0.1100 |"), "markdown loss row: %s", out);
    snprintf(cmd, sizeof cmd, "awk -v value=nope -f experiments/aggregate.awk %s", in);
    rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 2 && strstr(out, "header needs dataset,depth,noise,nope"), "a missing column: exit 2, got %d: %s",
          rc, out);
}

static void test_experiment_sweep_bad_args(void) {
    int rc = run_cmd("bash experiments/sweep.sh --help", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "--quick") && strstr(out, "--full") && strstr(out, "--noise"),
          "--help exits 0 and lists the flags, got %d: %s", rc, out);
    const char *bad[][2] = {
        {"--bogus", "unknown argument '--bogus'"},
        {"--noise 0,2", "--noise must contain 1"},
        {"--noise 0,x,1", "--noise: 'x' is not valid"},
        {"--seeds 0", "--seeds: '0' is not valid"},
        {"--datasets cifar", "--datasets: 'cifar' is not valid"},
        {"--jobs 0", "--jobs: '0' is not a positive integer"},
        {"--out", "--out needs a value"},
        {"--quick --full", "--quick and --full together"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "bash experiments/sweep.sh %s --out /tmp/sweep-test-never-created", bad[i][0]);
        rc = run_cmd(cmd, out, sizeof out);
        CHECK(rc == 2, "'%s' exits 2, got %d: %s", bad[i][0], rc, out);
        CHECK(strstr(out, bad[i][1]), "'%s' says '%s'; it said: %s", bad[i][0], bad[i][1], out);
    }
    struct stat st;
    CHECK(stat("/tmp/sweep-test-never-created", &st) != 0, "bad arguments create nothing");
    /* --dry-run prints the plan and the expected time, runs nothing */
    rc = run_cmd("bash experiments/sweep.sh --quick --dry-run --out /tmp/sweep-test-never-created", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "36 runs") && strstr(out, "expected time about"),
          "--quick --dry-run: 36 runs and the expected time, got %d: %s", rc, out);
    rc = run_cmd("bash experiments/sweep.sh --dry-run --out /tmp/sweep-test-never-created", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "60 runs") && strstr(out, "expected time about"),
          "full --dry-run: 60 runs, got %d: %s", rc, out);
    CHECK(stat("/tmp/sweep-test-never-created", &st) != 0, "--dry-run creates nothing");
    rc = run_cmd("bash experiments/sweep.sh --report --out /tmp/sweep-test-never-created", out, sizeof out);
    CHECK(rc == 1 && strstr(out, "no finished run"), "--report with no finished run: exit 1, got %d: %s",
          rc, out);
    CHECK(stat("/tmp/sweep-test-never-created", &st) != 0, "--report with nothing to report creates nothing");
}

static const char *const tiny_runs[] = {"repeat-L2-ns0-s1", "repeat-L2-ns0-s2",
                                        "repeat-L2-ns1-s1", "repeat-L2-ns1-s2"};

/* A tiny sweep end to end, then again (everything skipped), then with one run stopped
   half way (it is resumed, the others skipped). */
static void test_experiment_tiny_sweep_and_resume(void) {
    char dir[256], cmd[2048], path[512];
    make_temp_dir(dir, sizeof dir);
    snprintf(cmd, sizeof cmd, TINY " --out %s/sw", dir);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "tiny sweep exits 0, got %d: %s", rc, out);
    CHECK(count(out, "started ") == 4 && count(out, "finished repeat") == 4,
          "4 runs started and finished: %s", out);
    CHECK(strstr(out, "expected time about"), "states the expected time first: %s", out);
    CHECK(count(out, " left]") == 4 && strstr(out, "[4/4, "),
          "each finished run says how many of 4 are done and the time left: %s", out);
    const char *files[] = {"summary.csv", "table.csv", "table.md", "loss_table.csv",
                           "loss_table.md", "layers.md", "accuracy_vs_noise.png",
                           "heatmap_ns0.png", "heatmap_ns1.png", "layers_init_vs_trained.png",
                           "loss_curves.png"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        struct stat st;
        snprintf(path, sizeof path, "%s/sw/%s", dir, files[i]);
        CHECK(stat(path, &st) == 0 && st.st_size > 0, "%s written and not empty", files[i]);
    }
    snprintf(path, sizeof path, "%s/sw/table.csv", dir);
    char *table = slurp(path);
    CHECK(table && count(table, "\n") == 3, "table.csv: header + 2 settings: %s", table ? table : "(none)");
    CHECK(table && !isnan(csv_field(table, "repeat,2,0,2,", 7)), "noise 0 has an interval: %s",
          table ? table : "");
    free(table);
    /* layers.csv: layers 1 (= L/2) and 2 of both settings; at noise 0 (V = 0) the layers
       are the identity at initialization, so both layers start with the same mean cos */
    snprintf(path, sizeof path, "%s/sw/layers.csv", dir);
    char *layers = slurp(path);
    CHECK(layers && count(layers, "\n") == 5, "layers.csv: header + 2 settings x 2 layers: %s",
          layers ? layers : "(none)");
    double c1 = layers ? csv_field(layers, "repeat,2,0,2,1,", 5) : NAN;
    double c2 = layers ? csv_field(layers, "repeat,2,0,2,2,", 5) : NAN;
    CHECK(!isnan(c1) && c1 == c2, "noise 0: layer 1 and 2 start alike (%g, %g)", c1, c2);
    c1 = layers ? csv_field(layers, "repeat,2,1,2,1,", 5) : NAN;
    c2 = layers ? csv_field(layers, "repeat,2,1,2,2,", 5) : NAN;
    CHECK(!isnan(c1) && !isnan(c2) && c1 != c2, "noise 1: layers 1 and 2 start apart (%g, %g)", c1, c2);
    free(layers);
    char *summaries[4];
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/sw/runs/%s/summary.json", dir, tiny_runs[i]);
        summaries[i] = slurp(path);
        CHECK(summaries[i] && strstr(summaries[i], "\"finished\""), "%s finished", tiny_runs[i]);
    }

    /* again: every run skipped, no run directory touched */
    rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "second sweep exits 0, got %d: %s", rc, out);
    CHECK(count(out, "skipped ") == 4 && !strstr(out, "started ") && !strstr(out, "resumed "),
          "second sweep skips all 4 runs: %s", out);
    CHECK(strstr(out, "4 finished, 0 to run"), "the plan says nothing is left: %s", out);
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/sw/runs/%s/summary.json", dir, tiny_runs[i]);
        char *now = slurp(path);
        CHECK(now && summaries[i] && !strcmp(now, summaries[i]), "%s unchanged", tiny_runs[i]);
        free(now);
    }

    /* an interrupted run: redo one run with --stop-after 2; the sweep continues it and
       reaches the same accuracy as the uninterrupted run (bit for bit resume) */
    double acc_before = json_number(summaries[3], "test_acc");
    snprintf(cmd, sizeof cmd, "./train --dataset repeat --seq-len 8 --vocab 4 --train-size 256 "
             "--test-size 64 --layers 2 --noise-scale 1 --seed 2 --steps 5 --eval-every 5 "
             "--cluster-every 1 --d 8 --probe-size 16 --batch 16 --log-every 1 --threads 1 "
             "--stop-after 2 --force --run-dir %s/sw/runs/%s", dir, tiny_runs[3]);
    rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "stopped run exits 0, got %d: %s", rc, out);

    /* a partial report now: the 3 finished runs, the stopped one left out and untouched */
    snprintf(cmd, sizeof cmd, TINY " --out %s/sw --report", dir);
    rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "--report exits 0, got %d: %s", rc, out);
    CHECK(strstr(out, "report of the 3 finished runs") && !strstr(out, "started ") &&
          !strstr(out, "resumed "), "--report trains nothing and counts 3 runs: %s", out);
    snprintf(path, sizeof path, "%s/sw/summary.csv", dir);
    char *summary = slurp(path);
    CHECK(summary && strstr(summary, "\nrepeat,2,1,2,,5,repeat-L2-ns1-s2,\n"),
          "the unfinished run has no accuracy and no loss in summary.csv: %s", summary ? summary : "(none)");
    free(summary);
    snprintf(path, sizeof path, "%s/sw/table.csv", dir);
    table = slurp(path);
    CHECK(table && strstr(table, "\nrepeat,2,1,1,"), "noise 1 counts 1 run: %s", table ? table : "(none)");
    free(table);

    snprintf(cmd, sizeof cmd, TINY " --out %s/sw", dir);
    rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "third sweep exits 0, got %d: %s", rc, out);
    CHECK(count(out, "skipped ") == 3 && count(out, "resumed ") == 1 && !strstr(out, "started "),
          "third sweep resumes the stopped run and skips the rest: %s", out);
    snprintf(path, sizeof path, "%s/sw/runs/%s/summary.json", dir, tiny_runs[3]);
    char *now = slurp(path);
    CHECK(now && strstr(now, "\"finished\""), "resumed run finished");
    CHECK_CLOSE(now ? json_number(now, "test_acc") : NAN, acc_before, 0, 0, "resumed run's accuracy");
    free(now);
    for (int i = 0; i < 4; i++) free(summaries[i]);

    /* a report over 2 datasets x 2 depths where only repeat L 2 and majority L 3 have
       finished runs: the plots get an empty panel for the other two (gnuplot refuses a
       plot with no point, or a log scale over [0, 1], so this is a real case to test) */
    snprintf(cmd, sizeof cmd, TINY " --datasets majority --depths 3 --noise 1 --seeds 1 --out %s/sw", dir);
    rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "finished majority-L3-ns1-s1"), "majority L 3 run, got %d: %s", rc, out);
    snprintf(cmd, sizeof cmd, TINY " --datasets repeat,majority --depths 2,3 --report --out %s/sw", dir);
    rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "report of the 5 finished runs"),
          "report over a partly empty grid exits 0, got %d: %s", rc, out);
    snprintf(path, sizeof path, "%s/sw/table.csv", dir);
    table = slurp(path);
    CHECK(table && strstr(table, "\nmajority,3,1,1,") && count(table, "\n") == 4,
          "table: repeat L 2 noise 0 and 1, majority L 3 noise 1: %s", table ? table : "(none)");
    free(table);
}

SUITE(experiment_tests) = {
    {"experiment_aggregate_fixed_input", test_experiment_aggregate_fixed_input},
    {"experiment_sweep_bad_args", test_experiment_sweep_bad_args},
    {"experiment_tiny_sweep_and_resume", test_experiment_tiny_sweep_and_resume},
    END_SUITE
};
