/* experiments/: the sweep (sweep.py) and its reports (analyze.py, contrast.py, stats.py,
   compare.py). The checks live in tests/test_sweep.py, tests/test_contrast.py and
   tests/test_compare.py, Python's unittest: the statistics against known values,
   CSVs read by column name, a tiny sweep interrupted and continued against one that ran
   through, bad arguments. This test runs it and fails with its output if any check fails. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "proc.h"

static char out[1 << 16];

/* Runs a unittest file; fails with its output unless it exits 0 having run at least `least`. */
static void python_suite(const char *file, int least) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s 2>&1", file);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "%s exits 0, got %d:\n%s", file, rc, out);
    /* unittest closes with "OK" after "Ran N tests": make sure it ran some */
    const char *ran = strstr(out, "\nRan ");
    int n = 0;
    CHECK(ran && sscanf(ran, "\nRan %d test", &n) == 1 && n >= least,
          "%s ran its tests (at least %d), got %d:\n%s", file, least, n, out);
    if (!check_failures) fprintf(stderr, "    %s: %d Python tests passed\n", file, n);
}

static void test_experiment_python_suite(void) { python_suite("tests/test_sweep.py", 10); }

/* The edges between runs, records and the analysis (tests/test_records.py): plans checked
   before anything runs, records identified by their settings, saves that never meet,
   truncated or non-finite records never taken as results. */
static void test_experiment_records_suite(void) { python_suite("tests/test_records.py", 9); }

/* The contrast report (contrast.py): tie-aware Wilcoxon and Holm against hand-computed
   values, arms from config.json, records with other settings never counted. */
static void test_experiment_contrast_suite(void) { python_suite("tests/test_contrast.py", 10); }

/* experiments/compare.py on two tiny runs made by the test (tests/test_compare.py): the
   report against the CSV files, compare.png, bad input one line and exit 2. */
static void test_experiment_compare_suite(void) { python_suite("tests/test_compare.py", 4); }

/* The Slurm engine against a real single-node Slurm (tests/test_slurm.py starts and stops
   it): 4 runs as a job array, byte-identical to the local engine; a lost record is
   resubmitted alone. Skipped only where slurm-wlm and munge are not installed. */
static void test_experiment_slurm_sweep(void) {
    int rc = run_cmd("/usr/bin/python3 tests/test_slurm.py 2>&1", out, sizeof out);
    if (rc == 77) SKIP("%s", out);
    CHECK(rc == 0 && strstr(out, "slurm test: every check passed"), "tests/test_slurm.py, exit %d:\n%s", rc, out);
    if (!check_failures) fprintf(stderr, "%s", out);
}

SUITE(experiment_tests) = {
    {"experiment_python_suite", test_experiment_python_suite},
    {"experiment_records_suite", test_experiment_records_suite},
    {"experiment_contrast_suite", test_experiment_contrast_suite},
    {"experiment_compare_suite", test_experiment_compare_suite},
    {"experiment_slurm_sweep", test_experiment_slurm_sweep},
    END_SUITE
};
