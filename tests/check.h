/* A tiny test harness: a test is a function; it fails if any CHECK in it fails. */
#ifndef CHECK_H
#define CHECK_H
#include <math.h>
#include <stdio.h>

typedef struct { const char *name; void (*fn)(void); } TestCase;

extern int check_failures;   /* failed checks in the running test */
extern int check_skipped;    /* set by SKIP: the running test could not run here */

/* Marks the running test as skipped (with the reason) and returns from it. */
#define SKIP(...) do { check_skipped = 1; fprintf(stderr, "    skipped: "); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); return; } while (0)

#define CHECK(cond, ...) do { if (!(cond)) { check_failures++; \
    fprintf(stderr, "    check failed at %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

/* |a - b| <= atol + rtol * |b| */
#define CHECK_CLOSE(a, b, atol, rtol, what) do { double a_ = (a), b_ = (b); \
    CHECK(fabs(a_ - b_) <= (atol) + (rtol) * fabs(b_), "%s: got %.9g, want %.9g", what, a_, b_); } while (0)

/* Every test file exports one suite. */
#define SUITE(name) const TestCase name[]
#define END_SUITE {0, 0}
#endif
