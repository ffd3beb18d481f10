/* The exact T -> infinity law of two tokens (include/pair_exact.h), by quadrature.

   Everything is integrated in x with c = tanh x: dc = (1 - c^2) dx removes the endpoint
   singularities of S' and of the start law, and every function of x varies on a scale of
   order 1 (the cosh(beta (1 - c)) factor included, whatever beta), so panels of a fixed
   width resolve them:
       G(x)     = int_0^x dy / cosh(beta (1 - tanh y))          (the exponent of S')
       w(x)     = S'(c) dc/dx = exp(-log cosh x - (d - 2) G(x))
       P        = int w F / int w                                 (F the start law's CDF)
   G is tabulated at the panel ends (8-point Gauss-Legendre per panel, then within a panel
   for any x); int w F and int w by adaptive Simpson per panel, on w scaled by its largest
   tabulated value (w spans thousands of orders of magnitude at large d). Beyond |x| = X_CUT
   tanh x is 1 to double precision and w, F are exact exponentials there: w ~ exp(kappa x)
   on the left (kappa = 1 - (d - 2) / cosh(2 beta)), exp(-(d - 1) x) on the right, F ~
   exp((d - 1) x) on the left; those tails are added in closed form. */
#include "pair_exact.h"

#include <math.h>
#include <stdlib.h>

#include "util.h"

#define X_CUT 25.0        /* |x| beyond which tanh x = +-1 to double precision */
#define PANELS_PER_UNIT 128
#define SIMPSON_REL_TOL 1e-11
#define SIMPSON_MAX_DEPTH 20

/* ---- the diffusion of c ---------------------------------------------------------------- */

/* Attention weight of a token on itself (p) and on the other (q = 1 - p). */
static void self_weights(double c, double beta, double *p, double *q) {
    *p = 1.0 / (1.0 + exp(beta * (c - 1.0)));
    *q = 1.0 / (1.0 + exp(beta * (1.0 - c)));
}

double pair_exact_drift(double c, int d, double beta) {
    double p, q;
    self_weights(c, beta, &p, &q);
    return (1.0 - c * c) * (2.0 * p * q * (d - 2) - (p * p + q * q) * c);
}

double pair_exact_variance(double c, int d, double beta) {
    (void)d;   /* the variance does not depend on d; the parameter keeps the pair symmetric */
    double p, q;
    self_weights(c, beta, &p, &q);
    return 2.0 * (p * p + q * q) * (1.0 - c * c) * (1.0 - c * c);
}

int pair_exact_antipodal_reachable(int d, double beta) {
    return cosh(2.0 * beta) > d - 2.0;   /* cosh overflows to inf: reachable, as it should */
}

/* ---- the start law: c0 = 2 z - 1, z ~ Beta(a, a), a = (d - 1) / 2 ----------------------- */

/* Continued fraction of the incomplete beta function (modified Lentz), for z <= 1/2 with
   a = b, where it converges (in O(sqrt(a)) terms at z = 1/2). */
static double beta_cf(double a, double b, double z) {
    const double tiny = 1e-300;
    double qab = a + b, qap = a + 1, qam = a - 1, c = 1, dd = 1 - qab * z / qap;
    if (fabs(dd) < tiny) dd = tiny;
    dd = 1 / dd;
    double h = dd;
    for (int m = 1; m <= 100000; m++) {
        int m2 = 2 * m;
        double aa = m * (b - m) * z / ((qam + m2) * (a + m2));
        dd = 1 + aa * dd;
        if (fabs(dd) < tiny) dd = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        dd = 1 / dd;
        h *= dd * c;
        aa = -(a + m) * (qab + m) * z / ((a + m2) * (qap + m2));
        dd = 1 + aa * dd;
        if (fabs(dd) < tiny) dd = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        dd = 1 / dd;
        double del = dd * c;
        h *= del;
        if (fabs(del - 1) < 1e-16) break;
    }
    return h;
}

/* F at c0 = tanh x, x <= 0: z = (1 + c0) / 2 = 1 / (1 + exp(-2x)), taken in logs so the
   far tail (F ~ exp((d - 1) x)) keeps its relative accuracy. */
static double start_cdf_left(double x, int d) {
    double a = 0.5 * (d - 1), e = exp(2.0 * x);
    double log_z = 2.0 * x - log1p(e), log_1mz = -log1p(e), z = e / (1.0 + e);
    double log_front = a * (log_z + log_1mz) - log(a) - (2.0 * lgamma(a) - lgamma(2.0 * a));
    return exp(log_front) * beta_cf(a, a, z);
}

/* F at tanh x, using the symmetry F(-t) = 1 - F(t). */
static double start_cdf_x(double x, int d) {
    return x <= 0 ? start_cdf_left(x, d) : 1.0 - start_cdf_left(-x, d);
}

double pair_exact_start_cdf(double t, int d) {
    if (t <= -1) return 0;
    if (t >= 1) return 1;
    return start_cdf_x(atanh(t), d);
}

/* ---- the scale density in x ------------------------------------------------------------- */

/* 1 / cosh(beta (1 - tanh y)); 1 - tanh y = 2 / (1 + exp(2y)) without cancellation. */
static double exponent_rate(double y, double beta) {
    double u = beta * 2.0 / (1.0 + exp(2.0 * y)), e = exp(-u);
    return 2.0 * e / (1.0 + e * e);
}

static const double GL8_X[4] = {0.1834346424956498, 0.5255324099163290, 0.7966664774136267,
                                0.9602898564975363};
static const double GL8_W[4] = {0.3626837833783620, 0.3137066638918304, 0.2223810344533745,
                                0.1012285362903763};

/* int_lo^hi exponent_rate, 8-point Gauss-Legendre. */
static double rate_integral(double lo, double hi, double beta) {
    double mid = 0.5 * (lo + hi), half = 0.5 * (hi - lo), s = 0;
    for (int k = 0; k < 4; k++)
        s += GL8_W[k] * (exponent_rate(mid - half * GL8_X[k], beta) +
                         exponent_rate(mid + half * GL8_X[k], beta));
    return s * half;
}

/* G at the panel ends x_k = -X_CUT + k / PANELS_PER_UNIT, k = 0..panels, with G(0) = 0. */
typedef struct {
    int d, panels;
    double beta, step, shift;   /* shift: the largest log w at the panel ends */
    double *G;
} ScaleTable;

static double log_cosh(double x) {
    double ax = fabs(x);
    return ax + log1p(exp(-2.0 * ax)) - 0.69314718055994530942;   /* - log 2 */
}

static double table_x(const ScaleTable *t, int k) { return -X_CUT + k * t->step; }

static void table_build(ScaleTable *t, int d, double beta) {
    t->d = d;
    t->beta = beta;
    t->panels = (int)(2 * X_CUT * PANELS_PER_UNIT);
    t->step = 1.0 / PANELS_PER_UNIT;
    t->G = xmalloc(sizeof(double) * (t->panels + 1));
    int mid = t->panels / 2;   /* x = 0 */
    t->G[mid] = 0;
    for (int k = mid; k < t->panels; k++)
        t->G[k + 1] = t->G[k] + rate_integral(table_x(t, k), table_x(t, k + 1), beta);
    for (int k = mid; k > 0; k--)
        t->G[k - 1] = t->G[k] - rate_integral(table_x(t, k - 1), table_x(t, k), beta);
    t->shift = -INFINITY;
    for (int k = 0; k <= t->panels; k++) {
        double lw = -log_cosh(table_x(t, k)) - (d - 2) * t->G[k];
        if (lw > t->shift) t->shift = lw;
    }
}

/* w(x) / exp(shift) for x in panel k. */
static double scaled_w(const ScaleTable *t, int k, double x) {
    double G = t->G[k] + rate_integral(table_x(t, k), x, t->beta);
    return exp(-log_cosh(x) - (t->d - 2) * G - t->shift);
}

/* ---- the two integrals ------------------------------------------------------------------ */

typedef struct { double w, wf; } Pair2;   /* integrands / integrals of w and of w F */

static Pair2 integrand(const ScaleTable *t, int k, double x) {
    double w = scaled_w(t, k, x);
    return (Pair2){w, w * start_cdf_x(x, t->d)};
}

static Pair2 simpson(double h, Pair2 fa, Pair2 fm, Pair2 fb) {
    return (Pair2){h / 6 * (fa.w + 4 * fm.w + fb.w), h / 6 * (fa.wf + 4 * fm.wf + fb.wf)};
}

/* Adaptive Simpson on [a, b] inside panel k, both integrals refined together until each
   changes by less than 15 tol on halving. */
static Pair2 adapt(const ScaleTable *t, int k, double a, double b, Pair2 fa, Pair2 fm,
                   Pair2 fb, Pair2 whole, double tol, int depth) {
    double m = 0.5 * (a + b), lm = 0.5 * (a + m), rm = 0.5 * (m + b);
    Pair2 flm = integrand(t, k, lm), frm = integrand(t, k, rm);
    Pair2 left = simpson(m - a, fa, flm, fm), right = simpson(b - m, fm, frm, fb);
    double ew = left.w + right.w - whole.w, ef = left.wf + right.wf - whole.wf;
    if (depth >= SIMPSON_MAX_DEPTH || (fabs(ew) <= 15 * tol && fabs(ef) <= 15 * tol))
        return (Pair2){left.w + right.w + ew / 15, left.wf + right.wf + ef / 15};
    Pair2 l = adapt(t, k, a, m, fa, flm, fm, left, tol / 2, depth + 1);
    Pair2 r = adapt(t, k, m, b, fm, frm, fb, right, tol / 2, depth + 1);
    return (Pair2){l.w + r.w, l.wf + r.wf};
}

double pair_exact_antipodal(int d, double beta) {
    if (d < 2 || !(beta >= 0)) FATAL("pair_exact_antipodal needs d >= 2, beta >= 0 (got %d, %g)", d, beta);
    if (!pair_exact_antipodal_reachable(d, beta)) return 0.0;
    ScaleTable t;
    table_build(&t, d, beta);
    /* the tolerance: a share of the integral of w, estimated from the panel ends */
    double rough = 0;
    for (int k = 0; k <= t.panels; k++)
        rough += exp(-log_cosh(table_x(&t, k)) - (d - 2) * t.G[k] - t.shift) * t.step;
    double tol = SIMPSON_REL_TOL * rough / t.panels;
    Pair2 sum = {0, 0};
    for (int k = 0; k < t.panels; k++) {
        double a = table_x(&t, k), b = table_x(&t, k + 1);
        Pair2 fa = integrand(&t, k, a), fm = integrand(&t, k, 0.5 * (a + b));
        Pair2 fb = integrand(&t, k, b);
        Pair2 r = adapt(&t, k, a, b, fa, fm, fb, simpson(b - a, fa, fm, fb), tol, 0);
        sum.w += r.w;
        sum.wf += r.wf;
    }
    /* closed-form tails: w exp(kappa (x + X_CUT)) and F exp((d - 1) (x + X_CUT)) on the
       left, w exp(-(d - 1) (x - X_CUT)) with F = 1 on the right */
    double kappa = 1.0 - (d - 2) / cosh(2.0 * beta);
    Pair2 left = integrand(&t, 0, -X_CUT), right = integrand(&t, t.panels - 1, X_CUT);
    sum.w += left.w / kappa + right.w / (d - 1);
    sum.wf += left.wf / (kappa + d - 1) + right.wf / (d - 1);
    free(t.G);
    double P = sum.wf / sum.w;
    return P < 0 ? 0 : P > 1 ? 1 : P;
}
