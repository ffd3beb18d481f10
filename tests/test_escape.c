/* experiments/escape.py: its report on constructed records (tests/test_escape.py,
   Python's unittest: intervals and paired differences worked out by hand, the depth
   profile, CSVs read by column name, bad arguments). Fails with its output if a check fails. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "proc.h"

static char out[1 << 16];

static void test_escape_report_python(void) {
    int rc = run_cmd("/usr/bin/python3 tests/test_escape.py 2>&1", out, sizeof out);
    CHECK(rc == 0, "tests/test_escape.py exits 0, got %d:\n%s", rc, out);
    const char *ran = strstr(out, "\nRan ");
    int n = 0;
    CHECK(ran && sscanf(ran, "\nRan %d test", &n) == 1 && n >= 4,
          "tests/test_escape.py ran its tests (at least 4), got %d:\n%s", n, out);
    if (!check_failures) fprintf(stderr, "    tests/test_escape.py: %d Python tests passed\n", n);
}

SUITE(escape_tests) = {
    {"escape_report_python", test_escape_report_python},
    END_SUITE
};
