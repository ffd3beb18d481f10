/* Optimizer updates, clipping and the learning-rate schedule against values worked out
   by hand (the arithmetic is in the comments). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "optim.h"

static void test_sgd_plain_and_momentum(void) {
    Optimizer o;
    float p = 1.0f, g = 0.5f;
    optim_init(&o, (OptConfig){.kind = OPT_SGD}, 1);
    optim_step(&o, &p, &g, 0.1f);                       /* 1 - 0.1*0.5 */
    CHECK_CLOSE(p, 0.95, 1e-7, 0, "plain SGD");
    optim_free(&o);

    p = 1.0f;
    optim_init(&o, (OptConfig){.kind = OPT_SGD, .momentum = 0.9f}, 1);
    g = 0.5f; optim_step(&o, &p, &g, 0.1f);             /* buf 0.5:  p = 0.95 */
    g = 0.5f; optim_step(&o, &p, &g, 0.1f);             /* buf 0.95: p = 0.95 - 0.095 */
    CHECK_CLOSE(p, 0.855, 1e-7, 0, "SGD momentum after 2 steps");
    optim_free(&o);

    p = 2.0f;                                           /* L2: g + wd p = 0.5 + 0.2 */
    optim_init(&o, (OptConfig){.kind = OPT_SGD, .weight_decay = 0.1f}, 1);
    g = 0.5f; optim_step(&o, &p, &g, 0.1f);
    CHECK_CLOSE(p, 1.93, 1e-7, 0, "SGD weight decay");
    optim_free(&o);
}

static void test_adam_two_steps(void) {
    /* t=1: m=0.05, v=0.00025, m_hat=0.5, v_hat=0.25: p = 1 - 0.01*0.5/(0.5+1e-8) = 0.99.
       t=2 with g=-0.25: m=0.02, v=0.00031225, m_hat=0.02/0.19, v_hat=0.00031225/0.001999:
       p = 0.99 - 0.01*0.105263/(0.395225+1e-8) = 0.98733663 */
    Optimizer o;
    float p = 1.0f, g = 0.5f;
    optim_init(&o, (OptConfig){.kind = OPT_ADAM, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f}, 1);
    optim_step(&o, &p, &g, 0.01f);
    CHECK_CLOSE(p, 0.99, 1e-7, 0, "Adam step 1");
    g = -0.25f;
    optim_step(&o, &p, &g, 0.01f);
    CHECK_CLOSE(p, 0.98733663, 1e-7, 0, "Adam step 2");
    CHECK(o.t == 2, "Adam counts steps: %ld", o.t);
    optim_free(&o);
}

static void test_adamw_decoupled_decay(void) {
    /* p = 1 - lr*wd*1 = 0.999, then the Adam step of size lr*sign(g): 0.989.
       Adam with L2 instead puts wd*p into g (0.6), and the first step is still lr: 0.99. */
    Optimizer o;
    float p = 1.0f, g = 0.5f;
    OptConfig c = {.kind = OPT_ADAMW, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.1f};
    optim_init(&o, c, 1);
    optim_step(&o, &p, &g, 0.01f);
    CHECK_CLOSE(p, 0.989, 1e-7, 0, "AdamW step");
    optim_free(&o);
    c.kind = OPT_ADAM;
    p = 1.0f; g = 0.5f;
    optim_init(&o, c, 1);
    optim_step(&o, &p, &g, 0.01f);
    CHECK_CLOSE(p, 0.99, 1e-7, 0, "Adam with L2 step");
    CHECK_CLOSE(o.m[0], 0.06, 0, 1e-6, "Adam L2 first moment uses g + wd p");
    optim_free(&o);
}

static void test_clip_grad_norm(void) {
    float g[2] = {3.0f, 4.0f};
    double n = grad_norm(g, 2, 1);
    CHECK_CLOSE(n, 5.0, 1e-12, 0, "norm of (3,4)");
    float s = clip_grad_norm(g, 2, n, 1.0f, 1);
    CHECK_CLOSE(s, 0.2, 1e-7, 0, "clip scale");
    CHECK_CLOSE(g[0], 0.6, 1e-7, 0, "clipped g0");
    CHECK_CLOSE(g[1], 0.8, 1e-7, 0, "clipped g1");
    CHECK(clip_grad_norm(g, 2, 1.0, 2.0f, 1) == 1.0f, "no clip under the limit");
    CHECK(clip_grad_norm(g, 2, 1.0, 0.0f, 1) == 1.0f, "max_norm 0 disables clipping");
}

static void test_lr_schedule(void) {
    CHECK_CLOSE(lr_at(0, 110, 1.0f, 10, 0.0f, SCHED_COSINE), 0.1, 1e-7, 0, "warmup start");
    CHECK_CLOSE(lr_at(9, 110, 1.0f, 10, 0.0f, SCHED_COSINE), 1.0, 1e-7, 0, "warmup end");
    CHECK_CLOSE(lr_at(10, 110, 1.0f, 10, 0.0f, SCHED_COSINE), 1.0, 1e-7, 0, "cosine start");
    CHECK_CLOSE(lr_at(60, 110, 1.0f, 10, 0.0f, SCHED_COSINE), 0.5, 1e-7, 0, "cosine middle");
    CHECK_CLOSE(lr_at(60, 110, 1.0f, 10, 0.2f, SCHED_COSINE), 0.6, 1e-7, 0, "cosine middle, min 0.2");
    CHECK_CLOSE(lr_at(110, 110, 1.0f, 10, 0.0f, SCHED_COSINE), 0.0, 1e-7, 0, "cosine end");
    CHECK_CLOSE(lr_at(60, 110, 1.0f, 10, 0.0f, SCHED_CONSTANT), 1.0, 1e-7, 0, "constant");
    CHECK_CLOSE(lr_at(0, 100, 0.5f, 0, 0.0f, SCHED_COSINE), 0.5, 1e-7, 0, "no warmup");
}

/* An update by 4 threads and the grad norm over 4 threads (blocks of GRAD_NORM_BLOCK summed
   in order) give the bits of one thread; two trained ranges of a block (--freeze), so that
   the moments' offsets per range are checked too. */
static void test_threads_same_numbers(void) {
    enum { N = 3 * GRAD_NORM_BLOCK + 123 };
    OptRange ranges[2] = {{5, 7000}, {8000, N - 8100}};
    OptConfig kinds[3] = {{.kind = OPT_ADAMW, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.1f},
                          {.kind = OPT_SGD, .momentum = 0.9f, .weight_decay = 0.01f},
                          {.kind = OPT_SGD}};
    float *p[2], *g[2];
    for (int k = 0; k < 3; k++) {
        Optimizer o[2];
        for (int t = 0; t < 2; t++) {
            p[t] = malloc(sizeof(float) * N);
            g[t] = malloc(sizeof(float) * N);
            for (int i = 0; i < N; i++) p[t][i] = sinf(0.37f * i);
            optim_init_ranges(&o[t], kinds[k], N, ranges, 2);
            o[t].threads = t ? 4 : 1;
        }
        for (int step = 0; step < 3; step++)
            for (int t = 0; t < 2; t++) {
                for (int i = 0; i < N; i++) g[t][i] = cosf(0.11f * i + step) * (i % 7 ? 1.0f : 100.0f);
                optim_step(&o[t], p[t], g[t], 0.01f);
            }
        CHECK(memcmp(p[0], p[1], sizeof(float) * N) == 0, "kind %d: 4 threads update as 1", k);
        for (int t = 0; t < 2; t++) {
            optim_free(&o[t]);
            free(g[t]);
        }
        double n1 = grad_norm(p[0], N, 1), n4 = grad_norm(p[0], N, 4), n3 = grad_norm(p[0], N, 3);
        CHECK(n1 == n4 && n1 == n3, "grad norm: %.17g %.17g %.17g", n1, n4, n3);
        double ref = 0.0;
        for (int i = 0; i < N; i++) ref += (double)p[0][i] * p[0][i];
        CHECK_CLOSE(n1, sqrt(ref), 0, 1e-12, "grad norm against a plain sum");
        free(p[0]);
        free(p[1]);
    }
}

/* More blocks than grad_norm's buffer holds (256 of 4,096 elements): still one order. */
static void test_grad_norm_many_blocks(void) {
    size_t n = 256 * GRAD_NORM_BLOCK * 2 + 777;
    float *g = malloc(sizeof(float) * n);
    double ref = 0.0;
    for (size_t i = 0; i < n; i++) {
        g[i] = sinf(0.001f * (float)i) * (i % 1000 ? 1.0f : 1e3f);
        ref += (double)g[i] * g[i];
    }
    double n1 = grad_norm(g, n, 1), n3 = grad_norm(g, n, 3);
    CHECK(n1 == n3, "1 and 3 threads: %.17g %.17g", n1, n3);
    CHECK_CLOSE(n1, sqrt(ref), 0, 1e-12, "against a plain sum");
    free(g);
}

SUITE(optim_tests) = {
    {"optim_grad_norm_many_blocks", test_grad_norm_many_blocks},
    {"optim_threads_same_numbers", test_threads_same_numbers},
    {"optim_sgd_plain_and_momentum", test_sgd_plain_and_momentum},
    {"optim_adam_two_steps", test_adam_two_steps},
    {"optim_adamw_decoupled_decay", test_adamw_decoupled_decay},
    {"optim_clip_grad_norm", test_clip_grad_norm},
    {"optim_lr_schedule", test_lr_schedule},
    END_SUITE,
};
