/* build/bench: speed of the training step on Fashion-MNIST, and of the machine's sgemm.
     build/bench step CONFIG THREADS   one line: config threads samples/s gflops ms/step rss_mb
     build/bench phases CONFIG THREADS a line per part of the step: config threads part ms/step
     build/bench sgemm THREADS         one line: sgemm peak GFLOP/s (best of 1024^3, 2048^3)
     build/bench fma THREADS           one line: FMA peak GFLOP/s (register-only loop, AVX2)
   CONFIG: default (d 64, L 16, 7x7 patches), deep (L 64), wide (d 256, 4x4 patches,
   49 tokens, 4 heads, MLP 512). Each configuration runs in its own process so that the
   peak RSS is its own. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "data.h"
#include "model.h"
#include "optim.h"
#include "util.h"

typedef struct { const char *name; int d, L, H, patch, M; } BenchConfig;

static const BenchConfig CONFIGS[] = {
    {"default", 64, 16, 1, 7, 0},
    {"deep", 64, 64, 1, 7, 0},
    {"wide", 256, 16, 4, 4, 512},
};

#define BATCH 128

/* Matrix-product FLOPs of one training step (forward + backward = 3x forward). */
static double step_flops(const ModelShape *s, int B) {
    double n = s->n, d = s->d, fwd = 2.0 * n * s->in_dim * d;
    double layer = 3 * 2.0 * n * d * d + 2 * 2.0 * n * n * d + 2 * 2.0 * n * d * s->M;
    fwd += s->L * layer + 2.0 * d * s->C;
    return 3.0 * fwd * B;
}

static double peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

/* The parts of a step, timed apart: which of them scale with the thread count. */
enum { PH_BATCH, PH_ZERO, PH_FORWARD, PH_BACKWARD, PH_NORM, PH_ADAM, PH_COUNT };
static const char *PHASE_NAMES[PH_COUNT] = {"batch", "zero_grad", "forward", "backward",
                                            "grad_norm", "adam"};

/* Runs the training steps of c; prints the step line, or with phases the ms per step of
   each part (a part whose ms do not fall with more threads limits the scaling). */
static int bench_step(const BenchConfig *c, int threads, int phases) {
    Dataset train, test;
    char err[1024];
    if (data_load_idx(&train, &test, "/usr/share/datasets/fashion-mnist", err, sizeof err) != 0) {
        fprintf(stderr, "bench: %s\n", err);
        return 1;
    }
    int n = (28 / c->patch) * (28 / c->patch);
    ModelShape s = {.d = c->d, .L = c->L, .H = c->H, .n = n, .in_dim = c->patch * c->patch,
                    .C = 10, .M = c->M, .beta = 1.0f, .alpha = model_residual_alpha("sqrt", c->L)};
    Model m;
    openblas_set_num_threads(1);
    model_build(&m, s, BATCH, threads);
    model_init(&m, 1, 1.0f, 0.0f);
    Optimizer o;
    optim_init(&o, (OptConfig){OPT_ADAM, 0, 0.9f, 0.999f, 1e-8f, 0}, m.num_params);
    o.threads = threads;
    float *patches = xmalloc(sizeof(float) * BATCH * n * s.in_dim);
    int32_t idx[BATCH], labels[BATCH];
    double t0 = 0, spent[PH_COUNT] = {0};
    /* the same counts as tools/bench_torch.py: about 1-10 s of steps per measurement */
    int warmup = 2, steps = c->d > 128 ? 4 : c->L > 32 ? 12 : 40;
    for (int step = 0; step < warmup + steps; step++) {
        if (step == warmup) {
            t0 = now_seconds();
            memset(spent, 0, sizeof spent);
        }
        double t[PH_COUNT + 1];
        t[PH_BATCH] = now_seconds();
        for (int b = 0; b < BATCH; b++) idx[b] = (step * BATCH + b) % train.count;
        data_patches(patches, &train, idx, BATCH, c->patch, threads);   /* part of a real step */
        data_labels(labels, &train, idx, BATCH);
        t[PH_ZERO] = now_seconds();
        model_zero_grad(&m);
        t[PH_FORWARD] = now_seconds();
        model_forward(&m, patches, NULL, labels, BATCH);
        t[PH_BACKWARD] = now_seconds();
        model_backward(&m, patches, NULL, labels, BATCH);
        t[PH_NORM] = now_seconds();
        grad_norm(m.grads, m.num_params, threads);   /* as ./train does before each update */
        t[PH_ADAM] = now_seconds();
        optim_step(&o, m.params, m.grads, 1e-3f);
        t[PH_COUNT] = now_seconds();
        for (int p = 0; p < PH_COUNT; p++) spent[p] += t[p + 1] - t[p];
    }
    double sec = (now_seconds() - t0) / steps;
    if (phases) {
        for (int p = 0; p < PH_COUNT; p++)
            printf("%s %d %s %.3f\n", c->name, threads, PHASE_NAMES[p], spent[p] / steps * 1e3);
        return 0;
    }
    printf("%s %d %.1f %.2f %.2f %.1f\n", c->name, threads, BATCH / sec,
           step_flops(&s, BATCH) / sec * 1e-9, sec * 1e3, peak_rss_mb());
    return 0;
}

static int bench_sgemm(int threads) {
    openblas_set_num_threads(threads);
    double best = 0;
    for (int N = 1024; N <= 2048; N *= 2) {
        float *A = xmalloc(sizeof(float) * N * N), *B = xmalloc(sizeof(float) * N * N);
        float *C = xcalloc((size_t)N * N, sizeof(float));
        for (int i = 0; i < N * N; i++) A[i] = B[i] = (float)((i % 7) - 3) * 0.1f;
        for (int rep = 0; rep < (N > 1024 ? 3 : 8); rep++) {
            double t0 = now_seconds();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1.0f, A, N, B, N,
                        0.0f, C, N);
            double gf = 2.0 * N * N * N / (now_seconds() - t0) * 1e-9;
            if (gf > best) best = gf;
        }
        free(A); free(B); free(C);
    }
    printf("sgemm %d %.1f\n", threads, best);
    return 0;
}

#if defined(__x86_64__)
#include <immintrin.h>
/* iters x 12 independent 8-wide fused multiply-adds, kept in registers: the FMA units'
   throughput with nothing else in the way (no loads, no stores). */
__attribute__((target("avx2,fma"))) static float fma_loop(long iters, float x) {
    __m256 acc[12], a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(x);
    for (int i = 0; i < 12; i++) acc[i] = _mm256_set1_ps((float)i);
    for (long it = 0; it < iters; it++)
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    __m256 s = acc[0];
    for (int i = 1; i < 12; i++) s = _mm256_add_ps(s, acc[i]);
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0];
}
#endif

/* The machine's single-precision FMA peak at this thread count (AVX2: 16 flops per FMA),
   measured: what "% of peak" would be against the arithmetic units rather than sgemm. */
static int bench_fma(int threads) {
#if defined(__x86_64__)
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        printf("fma %d 0\n", threads);
        return 0;
    }
    long iters = 50 * 1000 * 1000;
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        float sink = 0;
        double t0 = now_seconds();
#pragma omp parallel for num_threads(threads) reduction(+ : sink)
        for (int t = 0; t < threads; t++) sink += fma_loop(iters, 1e-3f * (float)t);
        double gf = (double)threads * iters * 12 * 16 / (now_seconds() - t0) * 1e-9;
        if (gf > best && sink == sink) best = gf;
    }
    printf("fma %d %.1f\n", threads, best);
#else
    printf("fma %d 0\n", threads);
#endif
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "sgemm") == 0) return bench_sgemm(atoi(argv[2]));
    if (argc == 3 && strcmp(argv[1], "fma") == 0) return bench_fma(atoi(argv[2]));
    int phases = argc == 4 && strcmp(argv[1], "phases") == 0;
    if (argc == 4 && (phases || strcmp(argv[1], "step") == 0))
        for (size_t i = 0; i < sizeof CONFIGS / sizeof *CONFIGS; i++)
            if (strcmp(CONFIGS[i].name, argv[2]) == 0)
                return bench_step(&CONFIGS[i], atoi(argv[3]), phases);
    fprintf(stderr, "usage: build/bench step|phases default|deep|wide THREADS | "
                    "build/bench sgemm|fma THREADS\n");
    return 2;
}
