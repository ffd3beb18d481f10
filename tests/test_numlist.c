/* The list flags of ./simulate (--betas, --ds, --depths): lists, ranges, and refusals. */
#include <string.h>

#include "check.h"
#include "numlist.h"

static void test_numlist_parse(void) {
    double v[64];
    char err[256];
    CHECK(numlist_parse("0:0.25:5", v, 64, err, sizeof err) == 21 && v[20] == 5.0, "range 0:0.25:5");
    CHECK(numlist_parse("2,3,128", v, 64, err, sizeof err) == 3 && v[2] == 128, "list");
    CHECK(numlist_parse("2.5", v, 64, err, sizeof err) == 1 && v[0] == 2.5, "one number");
    CHECK(numlist_parse("2,,3", v, 64, err, sizeof err) < 0, "empty entry refused");
    CHECK(numlist_parse("2,inf", v, 64, err, sizeof err) < 0, "a non-finite number refused");
    CHECK(numlist_parse("1:0:3", v, 64, err, sizeof err) < 0, "zero step refused");
    CHECK(numlist_parse("3:1:1", v, 64, err, sizeof err) < 0, "stop before start refused");
    CHECK(numlist_parse("0:1:100", v, 64, err, sizeof err) < 0 && strstr(err, "more than 64"),
          "too many values refused: %s", err);
}

SUITE(numlist_tests) = {
    {"numlist_parse", test_numlist_parse},
    END_SUITE
};
