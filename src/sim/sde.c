/* Tokens on the sphere under one common random value matrix per step (include/sde.h). */
#include "sde.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "unionfind.h"
#include "util.h"

void sde_work_init(SdeWork *w, int n, int d) {
    w->n = n;
    w->d = d;
    size_t nd = (size_t)n * d, big = (size_t)(n > d ? n : d) * d;
    w->P = xmalloc(sizeof(double) * n * n);
    w->A = xmalloc(sizeof(double) * nd);
    w->R = xmalloc(sizeof(double) * nd);
    w->Q = xmalloc(sizeof(double) * nd);
    w->B = xmalloc(sizeof(double) * n * n);
    w->Z = xmalloc(sizeof(double) * big);
}

void sde_work_free(SdeWork *w) {
    free(w->P), free(w->A), free(w->R), free(w->Q), free(w->B), free(w->Z);
    memset(w, 0, sizeof *w);
}

/* ---- random draws ------------------------------------------------------------------ */

void sde_normals(Rng *r, double *out, int m, double scale) {
    int i = 0;
    while (i < m) {
        double x, y, s;
        do {
            x = 2.0 * rng_uniform(r) - 1.0;
            y = 2.0 * rng_uniform(r) - 1.0;
            s = x * x + y * y;
        } while (s >= 1.0 || s == 0.0);
        double f = scale * sqrt(-2.0 * log(s) / s);
        out[i++] = x * f;
        if (i < m) out[i++] = y * f;
    }
}

/* Gamma(a, 1) for a >= 1 (Marsaglia and Tsang 2000). */
static double gamma_ge1(Rng *r, double a) {
    double dd = a - 1.0 / 3.0, cc = 1.0 / sqrt(9.0 * dd);
    for (;;) {
        double x, v;
        do {
            sde_normals(r, &x, 1, 1.0);
            v = 1.0 + cc * x;
        } while (v <= 0.0);
        v = v * v * v;
        double u = rng_uniform(r);
        if (u < 1.0 - 0.0331 * x * x * x * x) return dd * v;
        if (log(u) < 0.5 * x * x + dd * (1.0 - v + log(v))) return dd * v;
    }
}

double sde_chi2(Rng *r, int m) {
    if (m <= 8) {
        double z[8], s = 0;
        sde_normals(r, z, m, 1.0);
        for (int i = 0; i < m; i++) s += z[i] * z[i];
        return s;
    }
    return 2.0 * gamma_ge1(r, 0.5 * m);
}

/* ---- the (n, d) simulation --------------------------------------------------------- */

static void normalize(double *x, int d) {
    double nrm = sqrt(dot_f64(x, x, d));
    if (nrm > 0)
        for (int k = 0; k < d; k++) x[k] /= nrm;
}

void sde_uniform_tokens(double *U, int n, int d, Rng *r) {
    for (int i = 0; i < n; i++) {
        double *u = U + (size_t)i * d;
        do {
            sde_normals(r, u, d, 1.0);
        } while (dot_f64(u, u, d) == 0.0);
        normalize(u, d);
    }
}

void sde_attention(double *A, double *P, const double *U, int n, int d, double beta) {
    for (int i = 0; i < n; i++) {
        double *p = P + (size_t)i * n, mx = -INFINITY, sum = 0;
        for (int j = 0; j < n; j++) {
            p[j] = beta * dot_f64(U + (size_t)i * d, U + (size_t)j * d, d);
            if (p[j] > mx) mx = p[j];
        }
        for (int j = 0; j < n; j++) sum += (p[j] = exp(p[j] - mx));
        for (int j = 0; j < n; j++) p[j] /= sum;
        double *a = A + (size_t)i * d;
        memset(a, 0, sizeof(double) * d);
        for (int j = 0; j < n; j++)
            for (int k = 0; k < d; k++) a[k] += p[j] * U[(size_t)j * d + k];
    }
}

/* R = A V with V (d, d) drawn: O(n d^2). */
static void noise_full(double *R, const double *A, int n, int d, double sigma, SdeWork *w,
                       Rng *r) {
    double *V = w->Z;   /* (d, d) */
    sde_normals(r, V, d * d, sigma);
    memset(R, 0, sizeof(double) * n * d);
    for (int i = 0; i < n; i++)
        for (int l = 0; l < d; l++) {
            double a = A[(size_t)i * d + l];
            const double *v = V + (size_t)l * d;
            for (int k = 0; k < d; k++) R[(size_t)i * d + k] += a * v[k];
        }
}

/* R = B Z with A = B Q (Q orthonormal rows, Gram-Schmidt twice) and Z (k, d) drawn. */
static void noise_span(double *R, const double *A, int n, int d, double sigma, SdeWork *w,
                       Rng *r) {
    double *Q = w->Q, *B = w->B, *Z = w->Z;
    memset(B, 0, sizeof(double) * n * n);
    int k = 0;
    for (int i = 0; i < n; i++) {
        const double *a = A + (size_t)i * d;
        double *q = Q + (size_t)k * d;
        memcpy(q, a, sizeof(double) * d);
        for (int pass = 0; pass < 2; pass++)
            for (int j = 0; j < k; j++) {
                double t = dot_f64(q, Q + (size_t)j * d, d);
                B[(size_t)i * n + j] += t;
                for (int l = 0; l < d; l++) q[l] -= t * Q[(size_t)j * d + l];
            }
        double nq = sqrt(dot_f64(q, q, d)), na = sqrt(dot_f64(a, a, d));
        if (nq > 1e-11 * na) {   /* a new direction; else a_i is in the span already */
            for (int l = 0; l < d; l++) q[l] /= nq;
            B[(size_t)i * n + k] = nq;
            k++;
        }
    }
    sde_normals(r, Z, k * d, sigma);
    memset(R, 0, sizeof(double) * n * d);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < k; j++) {
            double b = B[(size_t)i * n + j];
            for (int l = 0; l < d; l++) R[(size_t)i * d + l] += b * Z[(size_t)j * d + l];
        }
}

void sde_noise(double *R, const double *A, int n, int d, double sigma, SdeSampler s,
               SdeWork *w, Rng *r) {
    if (s == SDE_FULL) noise_full(R, A, n, d, sigma, w, r);
    else noise_span(R, A, n, d, sigma, w, r);
}

void sde_step(double *U, const SdeParams *p, SdeSampler s, SdeWork *w, Rng *r) {
    int n = p->n, d = p->d;
    double sh = sqrt(p->h), sigma = p->noise_scale / sqrt((double)d);
    sde_attention(w->A, w->P, U, n, d, p->beta);
    if (p->noise_scale > 0) sde_noise(w->R, w->A, n, d, sigma, s, w, r);
    else memset(w->R, 0, sizeof(double) * n * d);
    for (int i = 0; i < n; i++) {
        double *u = U + (size_t)i * d;
        const double *a = w->A + (size_t)i * d, *rr = w->R + (size_t)i * d;
        for (int k = 0; k < d; k++) u[k] += sh * (p->value_mean * a[k] + rr[k]);
        normalize(u, d);
    }
}

/* ---- the pair in closed form --------------------------------------------------------- */

double sde_pair_step(double c, const SdeParams *p, Rng *r) {
    if (c >= 1.0 || c <= -1.0) return c;   /* both ends are fixed points */
    double s = sqrt((1.0 - c) * (1.0 + c)), sh = sqrt(p->h), vm = p->value_mean;
    double sig = p->noise_scale / sqrt((double)p->d);
    /* basis of the plane: u1 = (1, 0), u2 = (c, s); attention weights p on self, q on other */
    double ps = 1.0 / (1.0 + exp(p->beta * (c - 1.0))), qs = 1.0 / (1.0 + exp(p->beta * (1.0 - c)));
    double a1x = ps + qs * c, a1y = qs * s, a2x = qs + ps * c, a2y = ps * s;
    /* rows e1^T V = g and e2^T V = k of V in a basis (e1, e2, rest): in-plane parts and the
       Gram of the parts orthogonal to the plane (Bartlett) */
    double z[5];
    sde_normals(r, z, 5, sig);
    double gx = z[0], gy = z[1], kx = z[2], ky = z[3];
    int m = p->d - 2;
    double gg = 0, gk = 0, kk = 0;
    if (m >= 1) {
        double x1 = sqrt(sde_chi2(r, m)), x2 = sde_chi2(r, m - 1), nz = z[4];
        gg = sig * sig * x1 * x1;
        gk = sig * x1 * nz;
        kk = nz * nz + sig * sig * x2;
    }
    /* r_i = a_ix g + a_iy k; new u_i = u_i + sh (vm a_i + r_i) */
    double x1x = 1.0 + sh * (vm * a1x + a1x * gx + a1y * kx);
    double x1y = sh * (vm * a1y + a1x * gy + a1y * ky);
    double x2x = c + sh * (vm * a2x + a2x * gx + a2y * kx);
    double x2y = s + sh * (vm * a2y + a2x * gy + a2y * ky);
    double h = p->h;
    double y11 = h * (a1x * a1x * gg + 2 * a1x * a1y * gk + a1y * a1y * kk);
    double y22 = h * (a2x * a2x * gg + 2 * a2x * a2y * gk + a2y * a2y * kk);
    double y12 = h * (a1x * a2x * gg + (a1x * a2y + a1y * a2x) * gk + a1y * a2y * kk);
    double n1 = x1x * x1x + x1y * x1y + y11, n2 = x2x * x2x + x2y * x2y + y22;
    double cn = (x1x * x2x + x1y * x2y + y12) / sqrt(n1 * n2);
    return cn > 1.0 ? 1.0 : cn < -1.0 ? -1.0 : cn;
}

int sde_pair_outcome(double c, double delta) {
    return c < -1.0 + delta ? -1 : c > 1.0 - delta ? 1 : 0;
}

double sde_pair_run(const SdeParams *p, long steps, double stop_eps, int sampler, Rng *r,
                    long *steps_done) {
    int d = p->d;
    long t = 0;
    double c;
    if (sampler < 0) {
        double *g = xmalloc(sizeof(double) * d);
        sde_uniform_tokens(g, 1, d, r);   /* c of two uniform unit vectors ~ a coordinate */
        c = g[0];
        free(g);
        for (; t < steps && !(1.0 - fabs(c) < stop_eps); t++) c = sde_pair_step(c, p, r);
    } else {
        SdeParams q = *p;
        q.n = 2;
        SdeWork w;
        sde_work_init(&w, 2, d);
        double *U = xmalloc(sizeof(double) * 2 * d);
        sde_uniform_tokens(U, 2, d, r);
        c = dot_f64(U, U + d, d);
        for (; t < steps && !(1.0 - fabs(c) < stop_eps); t++) {
            sde_step(U, &q, (SdeSampler)sampler, &w, r);
            c = dot_f64(U, U + d, d);
        }
        free(U);
        sde_work_free(&w);
    }
    if (steps_done) *steps_done = t;
    return c;
}

/* ---- n tokens: how they ended ------------------------------------------------------- */

int sde_token_outcome(const double *U, int n, int d, double delta, int *smaller) {
    int *parent = xmalloc(sizeof(int) * n);
    uf_init(parent, n);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (dot_f64(U + (size_t)i * d, U + (size_t)j * d, d) > 1.0 - delta) uf_union(parent, i, j);
    int groups = 0, first = uf_find(parent, 0), size0 = 0, anti = 1;
    for (int i = 0; i < n; i++) {
        if (uf_find(parent, i) == i) groups++;
        if (uf_find(parent, i) == first) size0++;
    }
    if (groups == 2)
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                if (uf_find(parent, i) == first && uf_find(parent, j) != first &&
                    dot_f64(U + (size_t)i * d, U + (size_t)j * d, d) >= -1.0 + delta)
                    anti = 0;
    free(parent);
    if (smaller) *smaller = 0;
    if (groups == 1) return 1;
    if (groups == 2 && anti) {
        if (smaller) *smaller = size0 < n - size0 ? size0 : n - size0;
        return 2;
    }
    return 0;
}
