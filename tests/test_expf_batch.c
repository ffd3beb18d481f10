/* expf_batch against the C library's expf, bit for bit: every 4099th float (about a
   million, all signs and exponents), the edges glibc treats apart, inputs that tell a
   fused from an unfused reduction, tails, special lanes among ordinary ones, in place.
   `make check-expf` compares all 2^32 floats (too long for the suite). */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "expf_batch.h"

static float from_bits(uint32_t b) {
    float x;
    memcpy(&x, &b, 4);
    return x;
}

/* Count of i < n where expf_batch's y[i] is not expf(x[i]) bit for bit. */
static int mismatches(const float *x, const float *y, size_t n) {
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        float want = expf(x[i]);
        if (memcmp(&want, &y[i], 4) != 0) {
            if (bad++ < 5) fprintf(stderr, "    x %a: expf %a, expf_batch %a\n", x[i], want, y[i]);
        }
    }
    return bad;
}

static void test_expf_batch_sampled_floats(void) {
    enum { STRIDE = 4099, BLOCK = 4096 };
    static float x[BLOCK], y[BLOCK];
    int bad = 0, fill = 0;
    for (uint64_t b = 0; b < ((uint64_t)1 << 32); b += STRIDE) {
        x[fill++] = from_bits((uint32_t)b);
        if (fill == BLOCK || b + STRIDE >= ((uint64_t)1 << 32)) {
            expf_batch(y, x, fill);
            bad += mismatches(x, y, fill);
            fill = 0;
        }
    }
    CHECK(bad == 0, "%d sampled floats differ from expf (path: %s)", bad,
          expf_batch_vectorized() ? "AVX2 + FMA" : "scalar");
}

static void test_expf_batch_edges(void) {
    /* 0, -0, tiny, the 88.0 switch to glibc's special path (bits 0x42b00000) and the
       floats next to it, overflow, the underflow thresholds, subnormal results, inf, NaN;
       then two inputs where a reduction r = x 32/ln2 - k without the fused multiply-subtract
       gives another float (found by make check-expf on such a variant). */
    const uint32_t bits[] = {0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x3f800000,
                             0xbf800000, 0x42afffff, 0x42b00000, 0x42b00001, 0xc2afffff,
                             0xc2b00000, 0xc2b00001, 0x42b17217, 0x42b17218, 0xc2cff1b4,
                             0xc2cff1b5, 0xc2ce8ecf, 0xc2ce8ed0, 0xc2c80000, 0x7f800000,
                             0xff800000, 0x7fc00000, 0xffc00001, 0x7f7fffff, 0xff7fffff,
                             0x4202422f, 0xc27c65d9};
    enum { K = sizeof bits / sizeof bits[0] };
    float x[K], y[K];
    for (int i = 0; i < K; i++) x[i] = from_bits(bits[i]);
    expf_batch(y, x, K);
    CHECK(mismatches(x, y, K) == 0, "edges differ from expf");
    /* each edge alone in a block of ordinary inputs, at every lane */
    for (int i = 0; i < K; i++)
        for (int lane = 0; lane < 8; lane++) {
            float v[8], w[8];
            for (int j = 0; j < 8; j++) v[j] = -0.37f * (float)(j + 1);
            v[lane] = x[i];
            expf_batch(w, v, 8);
            CHECK(mismatches(v, w, 8) == 0, "edge %08x at lane %d", bits[i], lane);
        }
}

static void test_expf_batch_lengths_and_in_place(void) {
    float x[37], y[37], z[37];
    for (int n = 0; n <= 37; n++) {
        for (int i = 0; i < 37; i++) x[i] = z[i] = y[i] = 0.25f * (float)(i - 20) + 1e-3f * (float)n;
        y[n < 37 ? n : 36] = 123.0f;   /* past the end: must stay */
        expf_batch(y, x, n);
        CHECK(mismatches(x, y, n) == 0, "length %d", n);
        if (n < 37) CHECK(y[n] == 123.0f, "length %d wrote past the end", n);
        expf_batch(z, z, n);           /* in place */
        CHECK(mismatches(x, z, n) == 0, "in place, length %d", n);
    }
}

SUITE(expf_batch_tests) = {
    {"expf_batch_sampled_floats", test_expf_batch_sampled_floats},
    {"expf_batch_edges", test_expf_batch_edges},
    {"expf_batch_lengths_and_in_place", test_expf_batch_lengths_and_in_place},
    END_SUITE,
};
