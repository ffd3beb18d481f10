/* The exact T -> infinity law of the pair of ./simulate pair (docs/SIMULATE.md, "The exact two-token
   law"), by quadrature, no sampling.

   In the limit of MODEL.md (value_mean 0, noise s^2 = noise_scale^2 / d > 0) the cosine
   c = <u_1, u_2> of two tokens is a diffusion on [-1, 1] of its own (Ito's formula on the
   sphere for the step of include/sde.h):
       dc = s^2 mu(c) dt + s sqrt(var(c)) dB
       mu(c)  = (1 - c^2) (2 p q (d - 2) - (p^2 + q^2) c)
       var(c) = 2 (p^2 + q^2) (1 - c^2)^2
   with p = 1 / (1 + exp(beta (c - 1))) the attention weight of a token on itself and
   q = 1 - p. Its scale density is
       S'(c) = (1 - c^2)^(-1/2) exp(-(d - 2) int_0^c dt / (cosh(beta (1 - t)) (1 - t^2)))
   (s^2 cancels): +1 is always reachable, -1 iff cosh(2 beta) > d - 2. A pair started at c0
   ends antipodal with probability (S(1) - S(c0)) / (S(1) - S(-1)) (0 when S(-1) = -inf);
   averaged over the law of c0 for uniform tokens, density ~ (1 - c^2)^((d - 3) / 2):
       P = int S'(t) F(t) dt / int S'(t) dt,  F the distribution function of c0. */
#ifndef PAIR_EXACT_H
#define PAIR_EXACT_H

/* mu(c) and var(c) above: the drift and variance of c per unit time, divided by s^2. */
double pair_exact_drift(double c, int d, double beta);
double pair_exact_variance(double c, int d, double beta);

/* 1 if c = -1 is reachable (cosh(2 beta) > d - 2), else 0. */
int pair_exact_antipodal_reachable(int d, double beta);

/* P(c0 <= t) for two independent uniform unit vectors of R^d (d >= 2). */
double pair_exact_start_cdf(double t, int d);

/* P(a pair from uniform random starts ends antipodal) as T -> infinity; d >= 2,
   beta >= 0. Absolute accuracy about 1e-12. */
double pair_exact_antipodal(int d, double beta);
#endif
