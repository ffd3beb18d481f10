/* How fast two tokens under the limit of MODEL.md (value_mean 0, noise s^2 =
   noise_scale^2 / d > 0) close in on c = +1 (one cluster) or c = -1 (antipodal): the
   exponents of the exact law of the cosine (docs/MODEL.md, "Clustering rates"), and a Monte
   Carlo of the network's own two-token step (sde_pair_step) to check them against.

   Near an end c = e (e = +1 or -1) the distance r = 1 - e c obeys dr = r (a dt + b dB) with
       e = +1: a = -s^2 (d - 3),                         b^2 = 4 s^2
       e = -1: a =  2 s^2 (2 p q (d - 2) + p^2 + q^2),   b^2 = 8 s^2 (p^2 + q^2)
   (p = 1 / (1 + exp(-2 beta)), q = 1 - p at c = -1; p = q = 1/2 at c = +1). So E[r] grows
   at the rate a, while log r, a typical run, moves at the Lyapunov exponent a - b^2 / 2:
       lambda(+1) = -s^2 (d - 1)
       lambda(-1) =  s^2 ((d - 1) / cosh^2(beta) - 2),  < 0 iff cosh(2 beta) > d - 2. */
#ifndef PAIR_LYAPUNOV_H
#define PAIR_LYAPUNOV_H
#include "rng.h"
#include "sde.h"

/* lambda(end) above, per unit time of the limit; end = +1 or -1, s2 = s^2. */
double pair_lyapunov_law(int end, int d, double beta, double s2);
/* a above: the growth rate of E[1 - end c] near the end, per unit time. */
double pair_mean_rate_law(int end, int d, double beta, double s2);

/* One run of `steps` steps of the cosine's exact chain (sde_pair_step with p, value_mean
   0) near the end: returns the change of log(1 - end c) per unit time. */
double pair_lyapunov_run(const SdeParams *p, int end, long steps, Rng *r);
#endif
