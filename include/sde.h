/* Tokens on the sphere driven by one common random value matrix per step: the limit of
   MODEL.md ("The limit (for the simulator)"), simulated as the depth-L network it comes from.

   The contract. n unit tokens u_i in R^d (U, (n, d) row-major, double). One step of size
   h = T/L (L steps cover the horizon T):
       p_ij = softmax_j(beta <u_i, u_j>)                attention, logits beta <u_i,u_j>
       a_i  = sum_j p_ij u_j                            (A, (n, d))
       r_i  = a_i^T V       V (d, d) iid N(0, noise_scale^2 / d), drawn fresh every step and
                            SHARED by all tokens         (R = A V, (n, d))
       u_i <- normalize(u_i + sqrt(h) * (value_mean * a_i + r_i))
   i.e. the layer map X <- rmsnorm(X + alpha X V) with alpha = sqrt(h), V = value_mean I +
   noise_scale G, Q = K = I and tokens on the unit sphere. As h -> 0 with value_mean = 0 it
   is the Euler step of du_i = s P_i dW a_i + Ito correction, s^2 = noise_scale^2 / d; the
   normalization supplies the Ito correction. value_mean != 0 is the network's map as it
   stands: its drift sqrt(h) value_mean a_i per step has no limit as h -> 0 (it would need
   h instead of sqrt(h)); it is there for the deterministic case (noise 0).

   Samplers of R, all exact (same distribution):
   - SDE_FULL: draw V (d*d normals), R = A V. O(n d^2).
   - SDE_SPAN: R only depends on V through the span of the a_i: with A = B Q, Q (k, d)
     orthonormal rows (Gram-Schmidt, k = rank A <= n), R = B Z with Z (k, d) iid
     N(0, s^2). O(n^2 d) work, k*d normals. Rank deficiency (coinciding or antipodal
     tokens, beta = 0) just gives a smaller k.
   - the pair (n = 2) also has sde_pair_step: by rotation invariance the cosine
     c = <u_1, u_2> is a Markov chain; a step draws the in-plane parts of the two rows of
     V that matter (4 normals) and the Gram matrix of their parts orthogonal to the plane
     (a 2x2 Wishart with d-2 degrees of freedom, Bartlett: two chi-squares and a normal).
     O(1) work in d, exact for the law of c.
   An exactly antipodal pair (u_2 = -u_1) stays antipodal: a_2 = -a_1, so r_2 = -r_1. */
#ifndef SDE_H
#define SDE_H
#include <stddef.h>

#include "rng.h"

typedef struct {
    int n, d;
    double beta, noise_scale, value_mean, h;
} SdeParams;

typedef enum { SDE_FULL, SDE_SPAN } SdeSampler;

/* Scratch buffers of one simulation (one per thread). */
typedef struct {
    int n, d;
    double *P, *A, *R, *Q, *B, *Z;   /* (n,n) (n,d) (n,d) (n,d) (n,n) (max(n,d),d) */
} SdeWork;

void sde_work_init(SdeWork *w, int n, int d);
void sde_work_free(SdeWork *w);

/* m iid N(0, scale^2) (Marsaglia's polar method: two normals per log). */
void sde_normals(Rng *r, double *out, int m, double scale);
/* Chi-square with m >= 0 degrees of freedom. */
double sde_chi2(Rng *r, int m);

/* n tokens uniform on the unit sphere (normalized Gaussian rows). */
void sde_uniform_tokens(double *U, int n, int d, Rng *r);
/* A = softmax(beta U U^T) U; P (n, n) receives the attention weights. */
void sde_attention(double *A, double *P, const double *U, int n, int d, double beta);
/* R = A V with V (d, d) iid N(0, sigma^2), by the chosen sampler. */
void sde_noise(double *R, const double *A, int n, int d, double sigma, SdeSampler s,
               SdeWork *w, Rng *r);
/* One step of the contract above on U (n, d). */
void sde_step(double *U, const SdeParams *p, SdeSampler s, SdeWork *w, Rng *r);

/* One step of the pair's cosine (n = 2, exact in law; see above). c = +-1 stays. */
double sde_pair_step(double c, const SdeParams *p, Rng *r);

/* How a pair ended: -1 antipodal (c < -1 + delta), +1 clustered (c > 1 - delta), 0 neither. */
int sde_pair_outcome(double c, double delta);

/* Runs a pair from uniform random starts for `steps` steps (reduced sampler if sampler < 0,
   else the (n, d) simulation with that sampler). Stops early once 1 - |c| < stop_eps
   (0: never). Returns the final cosine; *steps_done (may be NULL) the steps taken. */
double sde_pair_run(const SdeParams *p, long steps, double stop_eps, int sampler, Rng *r,
                    long *steps_done);

/* The n tokens' end state: groups joined by c_ij > 1 - delta (single linkage).
   Returns 1 one cluster, 2 two groups with every cross pair c_ij < -1 + delta (antipodal
   groups; *smaller gets the smaller group's size), 0 anything else. */
int sde_token_outcome(const double *U, int n, int d, double delta, int *smaller);
#endif
