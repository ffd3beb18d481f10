/* The test helpers of tests/proc.c: which binaries the tests run (TEST_BIN_DIR, used by
   make test-sanitize to run the sanitized builds). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "proc.h"

static void expect_resolved(const char *cmd, const char *want) {
    char got[256];
    resolve_cmd(cmd, got, sizeof got);
    CHECK(strcmp(got, want) == 0, "'%s' -> '%s', want '%s'", cmd, got, want);
}

static void test_proc_test_bin_dir(void) {
    const char *old = getenv("TEST_BIN_DIR");
    char *saved = old ? strdup(old) : NULL;
    unsetenv("TEST_BIN_DIR");
    expect_resolved("./train --help", "./train --help");
    setenv("TEST_BIN_DIR", "build-san", 1);
    expect_resolved("./train --help", "build-san/train --help");
    expect_resolved("./simulate", "build-san/simulate");
    expect_resolved("./simulate depth --n 4", "build-san/simulate depth --n 4");
    expect_resolved("build/parity a b", "build-san/parity a b");
    expect_resolved("./trainer --x", "./trainer --x");            /* another program */
    expect_resolved("bash experiments/sweep.sh", "bash experiments/sweep.sh");
    expect_resolved("test -e ./train", "test -e ./train");        /* only a leading program */
    expect_resolved("truncate -s 1 f && ./train --resume", "truncate -s 1 f && build-san/train --resume");
    expect_resolved("./train a && ./simulate", "build-san/train a && build-san/simulate");
    setenv("TEST_BIN_DIR", "", 1);
    expect_resolved("./train --help", "./train --help");          /* empty: the default */
    if (saved) setenv("TEST_BIN_DIR", saved, 1);
    else unsetenv("TEST_BIN_DIR");
    free(saved);
}

SUITE(proc_tests) = {
    {"proc_test_bin_dir", test_proc_test_bin_dir},
    END_SUITE,
};
