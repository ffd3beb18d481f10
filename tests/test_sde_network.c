/* The simulator pinned to the network (MODEL.md "The limit"): one step of sde_step equals
   one layer of the model code with one head, Q = K = I, beta_net = beta / sqrt(d), the same
   V, alpha = sqrt(h), on the same tokens scaled by sqrt(d). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model.h"
#include "rng.h"
#include "sde.h"
#include "util.h"

/* One case: n tokens in R^d, the limit's beta, the network's beta_net, step h, value_mean
   vm. Returns the largest |u_sim - x_net / sqrt(d)| over all coordinates. */
static double step_vs_layer(int n, int d, double beta, double beta_net, double h, double vm,
                            uint64_t seed) {
    Rng r;
    rng_seed(&r, seed);
    double *U = xmalloc(sizeof(double) * n * d), *V = xmalloc(sizeof(double) * d * d);
    sde_uniform_tokens(U, n, d, &r);
    /* the simulator's step draws V (d*d normals, sd noise_scale / sqrt(d)) from r first:
       a copy of r draws the same V for the network */
    Rng r_net = r;
    double noise_scale = 1.0;
    sde_normals(&r_net, V, d * d, noise_scale / sqrt((double)d));

    ModelShape s = {.d = d, .L = 1, .H = 1, .n = n, .in_dim = 1, .tokens_input = 0, .C = 2,
                    .M = 0, .beta = (float)beta_net, .alpha = (float)sqrt(h)};
    Model m;
    model_build(&m, s, 1, 1);
    LayerParams *p = &m.w.layers[0];
    for (int i = 0; i < d; i++)
        for (int k = 0; k < d; k++) {
            p->wq[i * d + k] = p->wk[i * d + k] = i == k;
            p->wv[i * d + k] = (float)(V[i * d + k] + (i == k ? vm : 0));
        }
    float *X0 = xmalloc(sizeof(float) * n * d);
    for (int i = 0; i < n * d; i++) X0[i] = (float)(U[i] * sqrt((double)d));
    model_forward_states(&m, X0, 1);
    const float *X1 = model_layer_states(&m, 1);

    SdeParams sp = {n, d, beta, noise_scale, vm, h};
    SdeWork w;
    sde_work_init(&w, n, d);
    sde_step(U, &sp, SDE_FULL, &w, &r);
    double worst = 0;
    for (int i = 0; i < n * d; i++) worst = fmax(worst, fabs(U[i] - X1[i] / sqrt((double)d)));
    sde_work_free(&w);
    model_free(&m);
    free(U), free(V), free(X0);
    return worst;
}

static void test_sde_step_is_one_network_layer(void) {
    struct { int n, d; double beta, h, vm; } cases[] = {
        {2, 8, 1.0, 0.01, 0.0}, {5, 16, 3.0, 0.04, 0.0}, {7, 32, 6.0, 0.1, 0.5}, {4, 64, 0.0, 0.25, 0.0}};
    for (int t = 0; t < 4; t++) {
        double worst = step_vs_layer(cases[t].n, cases[t].d, cases[t].beta,
                                     cases[t].beta / sqrt((double)cases[t].d), cases[t].h,
                                     cases[t].vm, 40 + t);
        CHECK(worst <= 1e-5, "n %d d %d beta %g h %g value_mean %g: largest difference %g",
              cases[t].n, cases[t].d, cases[t].beta, cases[t].h, cases[t].vm, worst);
    }
}

/* The factor is seen: with beta_net = beta (no 1 / sqrt(d)) the layer is another map. */
static void test_sde_step_wrong_beta_factor_differs(void) {
    double worst = step_vs_layer(5, 16, 3.0, 3.0, 0.04, 0.0, 41);
    CHECK(worst > 1e-3, "beta_net = beta should not match the step (largest difference %g)", worst);
}

SUITE(sde_network_tests) = {
    {"sde_step_is_one_network_layer", test_sde_step_is_one_network_layer},
    {"sde_step_wrong_beta_factor_differs", test_sde_step_wrong_beta_factor_differs},
    END_SUITE
};
