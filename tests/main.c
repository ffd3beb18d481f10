/* Runs every test suite; prints one line per test and "N passed, N failed, N skipped" last.
   Usage: tests/run_tests [substring]   (runs only tests whose name contains it)
   A skipped test (something it needs is missing here) fails the run like a failed one,
   unless ALLOW_SKIP=1 is set in the environment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"

int check_failures, check_skipped;

extern const TestCase rng_tests[], grad_tests[], optim_tests[], init_tests[],
    metrics_tests[], safetensors_tests[], data_tests[], train_tests[], cli_tests[],
    parity_tests[], simulate_tests[], sde_tests[], experiment_tests[], checkpoint_tests[],
    resources_tests[], pinned_tests[], plots_tests[], diverge_tests[], pair_exact_tests[],
    sde_network_tests[], proc_tests[], freeze_tests[], escape_tests[], smallmm_tests[],
    expf_batch_tests[], records_tests[], paper_init_tests[], rates_tests[], json_tests[],
    numlist_tests[];

static const TestCase *const suites[] = {
    rng_tests, grad_tests, optim_tests, init_tests, metrics_tests,
    safetensors_tests, data_tests, train_tests, cli_tests,
    parity_tests, simulate_tests, sde_tests, experiment_tests, checkpoint_tests,
    resources_tests, pinned_tests, plots_tests, diverge_tests, pair_exact_tests,
    sde_network_tests, proc_tests, freeze_tests, escape_tests, smallmm_tests,
    expf_batch_tests, records_tests, paper_init_tests, rates_tests, json_tests,
    numlist_tests,
};

int main(int argc, char **argv) {
    const char *filter = argc > 1 ? argv[1] : NULL;
    int passed = 0, failed = 0, skipped = 0;
    for (size_t s = 0; s < sizeof suites / sizeof *suites; s++) {
        for (const TestCase *t = suites[s]; t->name; t++) {
            if (filter && !strstr(t->name, filter)) continue;
            check_failures = check_skipped = 0;
            fprintf(stderr, "  %-44s ...\n", t->name);
            t->fn();
            const char *verdict = check_failures ? "FAIL" : check_skipped ? "SKIP" : "ok  ";
            printf("%s %s\n", verdict, t->name);
            fflush(stdout);
            if (check_failures) failed++;
            else if (check_skipped) skipped++;
            else passed++;
        }
    }
    const char *allow = getenv("ALLOW_SKIP");
    int skip_fails = skipped > 0 && !(allow && strcmp(allow, "1") == 0);
    if (skip_fails)
        printf("%d skipped (see \"skipped:\" above): what they need is missing here, which fails "
               "the run; make test installs it on Debian; ALLOW_SKIP=1 accepts skips\n", skipped);
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed || skip_fails || passed == 0 ? 1 : 0;
}
