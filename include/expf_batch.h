/* expf over an array: y[i] = expf(x[i]), the very float the C library's expf returns,
   bit for bit, eight at a time on CPUs with AVX2 + FMA.

   Why: the softmax of attention and the GELU of the MLP call expf once per element, and
   a call per element keeps those loops scalar (perf, wide model: 8% of a step in them).
   Why the C library's numbers and not our own: every number a run produced so far
   (the pinned hashes, the claim-1 map's records) went through glibc's expf; computing the
   same floats keeps them all valid. glibc (Debian 12's 2.36) computes expf in double:
   x / ln2 * 32 = k + r, exp(x) = 2^(k/32) * p(r) with a table of the 32 values 2^(i/32)
   and a cubic p. On a CPU with AVX2 + FMA glibc runs its FMA build of that code
   (__expf_fma); expf_batch runs the same operations, in the same order, with the same
   constants, on four doubles at a time. Inputs glibc treats apart (|x| >= 88, inf, NaN:
   overflow, underflow, errno) go to expf itself. tests/test_expf_batch.c compares every
   4099th float and the edges with expf; `make check-expf` compares all 2^32 of them, with
   whichever libm is installed (another glibc with another expf would fail them, not
   change numbers silently).
   CPUs without AVX2 + FMA (where glibc runs another build) call expf for every element.

   y may be x (in place); otherwise they must not overlap. */
#ifndef EXPF_BATCH_H
#define EXPF_BATCH_H
#include <stddef.h>

void expf_batch(float *y, const float *x, size_t n);

/* 1 where expf_batch uses its vector kernel on this CPU (tests say which path they ran). */
int expf_batch_vectorized(void);

#endif
