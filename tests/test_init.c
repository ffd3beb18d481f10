/* Initialization of MODEL.md and the RNG underneath it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model.h"
#include "rng.h"
#include "util.h"

static ModelShape small_shape(void) {
    return (ModelShape){.d = 64, .L = 6, .H = 2, .n = 16, .in_dim = 49, .C = 10, .M = 32,
                        .beta = 1.0f, .alpha = 0.408f};
}

/* Mean and standard deviation of a tensor, with value_mean*I removed from V. */
static void stats(const float *w, int rows, int cols, double diag, double *mean, double *std) {
    double s = 0, ss = 0;
    size_t n = (size_t)rows * cols;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            double x = w[(size_t)i * cols + j] - (i == j ? diag : 0.0);
            s += x;
            ss += x * x;
        }
    *mean = s / n;
    *std = sqrt(ss / n - *mean * *mean);
}

static void test_init_value_noise_scales(void) {
    const float scales[] = {0.25f, 1.0f, 2.0f};
    for (int k = 0; k < 3; k++) {
        Model m;
        model_build(&m, small_shape(), 1, 1);
        model_init(&m, 5, scales[k], 0.5f);
        double mean_all = 0, std_all = 0;
        for (int l = 0; l < m.s.L; l++) {
            double mean, std;
            stats(m.w.layers[l].wv, 64, 64, 0.5, &mean, &std);
            mean_all += mean / m.s.L;
            std_all += std / m.s.L;
        }
        double want = scales[k] / 8.0;   /* noise_scale / sqrt(d) */
        CHECK_CLOSE(std_all, want, 0, 0.03, "std of V - mean*I");
        CHECK(fabs(mean_all) < 0.05 * want, "mean of V noise %.4g", mean_all);
        model_free(&m);
    }
}

static void test_init_suppressed_noise_is_exact(void) {
    Model m;
    model_build(&m, small_shape(), 1, 1);
    model_init(&m, 9, 0.0f, 0.75f);
    int exact = 1;
    for (int l = 0; l < m.s.L; l++)
        for (int i = 0; i < 64; i++)
            for (int j = 0; j < 64; j++)
                exact &= m.w.layers[l].wv[i * 64 + j] == (i == j ? 0.75f : 0.0f);
    CHECK(exact, "noise-scale 0 gives exactly value_mean * I");
    model_init(&m, 9, 0.0f, 0.0f);
    int zero = 1;
    for (int l = 0; l < m.s.L; l++)
        for (int i = 0; i < 64 * 64; i++) zero &= m.w.layers[l].wv[i] == 0.0f;
    CHECK(zero, "noise-scale 0, value-mean 0 gives V = 0");
    model_free(&m);
}

static void test_init_other_tensors(void) {
    Model m;
    model_build(&m, small_shape(), 1, 1);
    model_init(&m, 3, 1.0f, 0.0f);
    struct { const char *name; double std; } want[] = {
        {"embed", 1.0 / 7.0}, {"pos", 1.0}, {"layers.0.q", 0.125}, {"layers.5.k", 0.125},
        {"layers.2.w1", 0.125}, {"layers.2.w2", 1.0 / sqrt(32.0)},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        const TensorInfo *t = model_find_tensor(&m, want[i].name);
        CHECK(t != NULL, "tensor %s exists", want[i].name);
        if (!t) continue;
        double mean, std;
        stats(m.params + t->offset, t->rows, t->cols, 0.0, &mean, &std);
        CHECK_CLOSE(std, want[i].std, 0, 0.1, want[i].name);
    }
    const TensorInfo *h = model_find_tensor(&m, "head.weight");
    int zero = 1;
    for (int i = 0; i < h->rows * h->cols + m.s.C; i++) zero &= m.params[h->offset + i] == 0.0f;
    CHECK(zero, "head starts at zero");
    model_free(&m);
}

static void test_init_same_seed_same_weights(void) {
    Model a, b;
    model_build(&a, small_shape(), 1, 1);
    model_build(&b, small_shape(), 1, 1);
    model_init(&a, 42, 1.0f, 0.0f);
    model_init(&b, 42, 1.0f, 0.0f);
    CHECK(memcmp(a.params, b.params, sizeof(float) * a.num_params) == 0, "same seed, same bits");
    model_init(&b, 43, 1.0f, 0.0f);
    CHECK(memcmp(a.params, b.params, sizeof(float) * a.num_params) != 0, "other seed differs");
    /* noise_scale only changes V: Q and K are shared between the two initializations */
    model_init(&b, 42, 0.0f, 0.0f);
    const TensorInfo *q = model_find_tensor(&a, "layers.3.q");
    CHECK(memcmp(a.params + q->offset, b.params + q->offset, sizeof(float) * 64 * 64) == 0,
          "Q is the same for noise-scale 0 and 1");
    model_free(&a);
    model_free(&b);
}

static void test_rng_moments_and_streams(void) {
    Rng r;
    rng_seed(&r, 1);
    double s = 0, ss = 0, u = 0;
    int n = 200000, counts[7] = {0};
    for (int i = 0; i < n; i++) {
        double z = rng_normal(&r);
        s += z;
        ss += z * z;
        u += rng_uniform(&r);
        counts[rng_below(&r, 7)]++;
    }
    CHECK(fabs(s / n) < 0.01, "normal mean %.4g", s / n);
    CHECK(fabs(ss / n - 1.0) < 0.02, "normal variance %.4g", ss / n);
    CHECK(fabs(u / n - 0.5) < 0.005, "uniform mean %.4g", u / n);
    for (int k = 0; k < 7; k++)
        CHECK(fabs(counts[k] / (double)n - 1.0 / 7) < 0.005, "rng_below bucket %d: %d", k, counts[k]);
    Rng a, b, c;
    rng_seed_stream(&a, 7, 1);
    rng_seed_stream(&b, 7, 1);
    rng_seed_stream(&c, 7, 2);
    uint64_t xa = rng_next(&a), xb = rng_next(&b), xc = rng_next(&c);
    CHECK(xa == xb, "same seed and stream repeat");
    CHECK(xa != xc, "streams differ");
    int32_t perm[10];
    for (int i = 0; i < 10; i++) perm[i] = i;
    rng_shuffle(&a, perm, 10);
    int seen = 0;
    for (int i = 0; i < 10; i++) seen |= 1 << perm[i];
    CHECK(seen == 1023, "shuffle is a permutation");
}

SUITE(init_tests) = {
    {"init_value_noise_scales", test_init_value_noise_scales},
    {"init_suppressed_noise_is_exact", test_init_suppressed_noise_is_exact},
    {"init_other_tensors", test_init_other_tensors},
    {"init_same_seed_same_weights", test_init_same_seed_same_weights},
    END_SUITE,
};

SUITE(rng_tests) = {
    {"rng_moments_and_streams", test_rng_moments_and_streams},
    END_SUITE,
};
