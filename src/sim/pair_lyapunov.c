/* The two-token exponents near c = +1 and c = -1 (include/pair_lyapunov.h). */
#include "pair_lyapunov.h"

#include <math.h>

/* The run's distance to the end is kept within a factor RENORM of START by rescaling:
   near the end the chain of c is scale-free up to O(distance) (the drift and noise of r are
   linear in r), so rescaling leaves the log increments' law as it is, while START small
   keeps that correction at 1e-4 and START / RENORM large keeps 1 - e c resolved in double
   (to 1e-8 relative). */
#define START 1e-6
#define RENORM 100.0

/* p^2 + q^2 and 2 p q at c = -1, where the self weight is p = 1 / (1 + exp(-2 beta)). */
static void antipodal_weights(double beta, double *sq, double *cross) {
    double p = 1.0 / (1.0 + exp(-2.0 * beta)), q = 1.0 - p;
    *sq = p * p + q * q;
    *cross = 2.0 * p * q;
}

double pair_mean_rate_law(int end, int d, double beta, double s2) {
    if (end > 0) return -s2 * (d - 3);
    double sq, cross;
    antipodal_weights(beta, &sq, &cross);
    return 2.0 * s2 * (cross * (d - 2) + sq);
}

double pair_lyapunov_law(int end, int d, double beta, double s2) {
    if (end > 0) return pair_mean_rate_law(end, d, beta, s2) - 2.0 * s2;   /* b^2 = 4 s^2 */
    double sq, cross;
    antipodal_weights(beta, &sq, &cross);
    return pair_mean_rate_law(end, d, beta, s2) - 4.0 * s2 * sq;           /* b^2 = 8 s^2 sq */
}

double pair_lyapunov_run(const SdeParams *p, int end, long steps, Rng *r) {
    double dist = START, sum = 0;
    for (long t = 0; t < steps; t++) {
        double next = 1.0 - end * sde_pair_step(end * (1.0 - dist), p, r);
        if (!(next > 0)) return NAN;   /* reached the end in double: the estimate is lost */
        sum += log(next / dist);
        dist = next < START / RENORM || next > START * RENORM ? START : next;
    }
    return sum / (steps * p->h);
}
