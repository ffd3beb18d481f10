/* Token-clustering metrics of MODEL.md ("Clustering metrics"), per example, averaged over B.

   Per example, in double:
     u_i = x_i / |x_i|, c_ij = <u_i, u_j> for i < j,
     order = |mean_i u_i|, n_clusters = connected components of {c_ij > 1 - delta},
     stable_rank = |X|_F^2 / |X|_2^2, with |X|_2^2 the top eigenvalue of the Gram matrix X X^T,
     energy = (1/n^2) sum_ij exp(beta (<u_i, u_j> - 1)) over all ordered pairs, i = j included,
     one_minus_cos = mean over pairs of 1 - c_ij and one_minus_energy = 1 - energy, both from
     |u_i - u_j|^2 / 2 = 1 - c_ij (and -expm1) instead of 1 - dot: no cancellation, so they
     stay accurate where 1 - c_ij is far below the 1e-16 that 1 - mean_cos resolves.
   A zero-norm token has u = 0: its cosines are 0, it adds nothing to mean_i u_i (but still
   counts in the 1/n), and it forms a cluster of its own (for delta < 1); in the energy its
   terms are exp(-beta), the diagonal one included (<u_i, u_i> = 0).
   An all-zero token matrix has stable_rank 0 by convention (0/0 otherwise).

   The top eigenvalue of the n x n Gram matrix comes from LAPACK's dsyevr (in OpenBLAS):
   accurate to rounding for any spectrum (power iteration stalls when the top two
   eigenvalues are close). It replaced a hand-written Householder reduction + Sturm
   bisection; on 300 random Gram matrices (n 2..61, d 1..80, a third nearly rank one) the
   two agreed to 1.4e-15 relative. Plain double loops for the Gram matrix: cblas_dsyrk
   saved under 25% at n = 64, d = 256 when measured. */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>

#include "unionfind.h"
#include "util.h"

/* Scratch for one example, allocated once per call. */
typedef struct {
    double *u;      /* (n, d) unit tokens */
    double *norm;   /* (n) |x_i| */
    double *cos;    /* (n, n) c_ij, upper triangle i < j filled */
    double *gram;   /* (n, n) X X^T, full, destroyed by the eigen solver */
    double *mean;   /* (d) mean_i u_i */
    double *eig;    /* (n) eigenvalues found (one: the largest) */
    double *work;   /* (26 n) dsyevr's workspace */
    int *iwork;     /* (10 n) */
    int *isuppz;    /* (2 n) */
    int *parent;    /* (n) union-find forest */
} Scratch;

static void scratch_alloc(Scratch *s, int n, int d) {
    s->u = xmalloc(sizeof(double) * (size_t)n * d);
    s->norm = xmalloc(sizeof(double) * n);
    s->cos = xmalloc(sizeof(double) * (size_t)n * n);
    s->gram = xmalloc(sizeof(double) * (size_t)n * n);
    s->mean = xmalloc(sizeof(double) * d);
    s->eig = xmalloc(sizeof(double) * n);
    s->work = xmalloc(sizeof(double) * 26 * n);
    s->iwork = xmalloc(sizeof(int) * 10 * n);
    s->isuppz = xmalloc(sizeof(int) * 2 * n);
    s->parent = xmalloc(sizeof(int) * n);
}

static void scratch_free(Scratch *s) {
    free(s->u); free(s->norm); free(s->cos); free(s->gram); free(s->mean);
    free(s->eig); free(s->work); free(s->iwork); free(s->isuppz); free(s->parent);
}

/* u_i = x_i / |x_i| in double; a zero token stays the zero vector. Returns |X|_F^2. */
static double normalize_tokens(double *u, double *norm, const float *X, int n, int d) {
    double frob = 0;
    for (int i = 0; i < n; i++) {
        const float *x = X + (size_t)i * d;
        double *ui = u + (size_t)i * d, ss = 0;
        for (int k = 0; k < d; k++) { ui[k] = x[k]; ss += ui[k] * ui[k]; }
        frob += ss;
        norm[i] = sqrt(ss);
        double inv = norm[i] > 0 ? 1.0 / norm[i] : 0.0;
        for (int k = 0; k < d; k++) ui[k] *= inv;
    }
    return frob;
}

/* cos[i][j] = <u_i, u_j> for i < j, and the raw Gram matrix gram = X X^T rebuilt from it
   (|x_i| |x_j| c_ij), so the d-long dot products are done once. gram[i][i] = |x_i|^2. */
static void cosines_and_gram(double *cos, double *gram, const double *u, const double *norm,
                             int n, int d) {
    for (int i = 0; i < n; i++) {
        const double *ui = u + (size_t)i * d;
        gram[i * n + i] = norm[i] * norm[i];
        for (int j = i + 1; j < n; j++) {
            const double *uj = u + (size_t)j * d;
            double dot = dot_f64(ui, uj, d);
            cos[i * n + j] = dot;
            gram[i * n + j] = gram[j * n + i] = norm[i] * norm[j] * dot;
        }
    }
}

/* |mean_i u_i| */
static double order_parameter(double *mean, const double *u, int n, int d) {
    for (int k = 0; k < d; k++) mean[k] = 0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < d; k++) mean[k] += u[(size_t)i * d + k];
    double ss = 0;
    for (int k = 0; k < d; k++) ss += mean[k] * mean[k];
    return sqrt(ss) / n;
}

/* Number of connected components of the graph joining pairs with c_ij > 1 - delta. */
static int count_clusters(int *parent, const double *cos, int n, double delta) {
    uf_init(parent, n);
    int groups = n;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (cos[i * n + j] > 1 - delta) groups -= uf_union(parent, i, j);
    return groups;
}

/* LAPACK's symmetric eigensolver (in OpenBLAS; the Fortran interface, string lengths
   last). dsyevr reduces to tridiagonal form and finds the requested eigenvalues by
   bisection or MRRR, accurate to rounding for any spectrum. */
void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n, double *a,
             const int *lda, const double *vl, const double *vu, const int *il, const int *iu,
             const double *abstol, int *m, double *w, double *z, const int *ldz, int *isuppz,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info,
             size_t jobz_len, size_t range_len, size_t uplo_len);

/* The largest eigenvalue of the symmetric A (n, n), which is destroyed; NaN if A has a
   non-finite entry (tokens of a diverged run), which LAPACK refuses. */
static double top_eigenvalue(Scratch *s, double *A, int n) {
    for (size_t i = 0; i < (size_t)n * n; i++)
        if (!isfinite(A[i])) return NAN;
    int found = 0, info = 0, ldz = 1, lwork = 26 * n, liwork = 10 * n;
    double unused = 0, abstol = 0, z = 0;
    /* RANGE "I" with il = iu = n: only the n-th smallest, the largest */
    dsyevr_("N", "I", "U", &n, A, &n, &unused, &unused, &n, &n, &abstol, &found, s->eig, &z,
            &ldz, s->isuppz, s->work, &lwork, s->iwork, &liwork, &info, 1, 1, 1);
    if (info != 0 || found != 1) FATAL("dsyevr: info %d, %d eigenvalues", info, found);
    return s->eig[0];
}

/* The interaction energy of the clustering theory from the cosines c_ij (i < j): the
   diagonal terms use <u_i, u_i> (1, or 0 for a zero token), each off-diagonal pair counts
   twice. beta (c - 1) <= 0 for unit tokens, so no term overflows. */
static double interaction_energy(const double *cos, const double *norm, int n, double beta) {
    double diag = 0, off = 0;
    for (int i = 0; i < n; i++) diag += exp(beta * ((norm[i] > 0 ? 1.0 : 0.0) - 1.0));
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) off += exp(beta * (cos[i * n + j] - 1.0));
    return (diag + 2.0 * off) / ((double)n * n);
}

/* 1 - c_ij without cancellation: |u_i - u_j|^2 / 2 for unit tokens; 1 (c_ij = 0) when
   either is a zero token, as in the cosines above. */
static double one_minus_cosine(const double *ui, const double *uj, double ni, double nj, int d) {
    if (ni == 0 || nj == 0) return 1.0;
    double ss = 0;
    for (int k = 0; k < d; k++) {
        double diff = ui[k] - uj[k];
        ss += diff * diff;
    }
    return 0.5 * ss;
}

/* Mean over pairs of 1 - c_ij, and 1 - energy = (1/n^2) sum_ij -expm1(beta (c_ij - 1))
   (ordered pairs; a zero token's diagonal term is -expm1(-beta), as in the energy). */
static void distances_to_one(double *one_minus_cos, double *one_minus_energy, const double *u,
                             const double *norm, int n, int d, double beta) {
    double sum = 0, off = 0, diag = 0;
    for (int i = 0; i < n; i++) {
        if (norm[i] == 0) diag += -expm1(-beta);
        for (int j = i + 1; j < n; j++) {
            double e = one_minus_cosine(u + (size_t)i * d, u + (size_t)j * d, norm[i], norm[j], d);
            sum += e;
            off += -expm1(-beta * e);
        }
    }
    *one_minus_cos = sum / (0.5 * n * (n - 1));
    *one_minus_energy = (diag + 2.0 * off) / ((double)n * n);
}

/* Metrics of one example X (n, d), written into m (not averaged). */
static void example_metrics(ClusterMetrics *m, Scratch *s, const float *X, int n, int d,
                            double delta, double beta) {
    double frob = normalize_tokens(s->u, s->norm, X, n, d);
    cosines_and_gram(s->cos, s->gram, s->u, s->norm, n, d);
    double sum = 0, sum_abs = 0;
    long clustered = 0, antipodal = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            double c = s->cos[i * n + j];
            sum += c;
            sum_abs += fabs(c);
            clustered += c > 1 - delta;
            antipodal += c < -1 + delta;
        }
    double pairs = 0.5 * n * (n - 1);
    m->mean_cos = sum / pairs;
    m->mean_abs_cos = sum_abs / pairs;
    m->frac_clustered = clustered / pairs;
    m->frac_antipodal = antipodal / pairs;
    m->order = order_parameter(s->mean, s->u, n, d);
    m->n_clusters = count_clusters(s->parent, s->cos, n, delta);
    m->energy = interaction_energy(s->cos, s->norm, n, beta);
    distances_to_one(&m->one_minus_cos, &m->one_minus_energy, s->u, s->norm, n, d, beta);
    double top = top_eigenvalue(s, s->gram, n);
    m->stable_rank = isnan(top) ? NAN : top > 0 ? frob / top : 0;
}

void cluster_metrics(ClusterMetrics *out, const float *X, int B, int n, int d, double delta,
                     double beta) {
    if (B < 1 || n < 2 || d < 1) FATAL("cluster_metrics needs B >= 1, n >= 2, d >= 1 (got %d, %d, %d)", B, n, d);
    Scratch s;
    scratch_alloc(&s, n, d);
    ClusterMetrics acc = {0};
    for (int b = 0; b < B; b++) {
        ClusterMetrics m;
        example_metrics(&m, &s, X + (size_t)b * n * d, n, d, delta, beta);
        acc.mean_cos += m.mean_cos;
        acc.mean_abs_cos += m.mean_abs_cos;
        acc.frac_clustered += m.frac_clustered;
        acc.frac_antipodal += m.frac_antipodal;
        acc.order += m.order;
        acc.n_clusters += m.n_clusters;
        acc.stable_rank += m.stable_rank;
        acc.energy += m.energy;
        acc.one_minus_cos += m.one_minus_cos;
        acc.one_minus_energy += m.one_minus_energy;
    }
    scratch_free(&s);
    out->mean_cos = acc.mean_cos / B;
    out->mean_abs_cos = acc.mean_abs_cos / B;
    out->frac_clustered = acc.frac_clustered / B;
    out->frac_antipodal = acc.frac_antipodal / B;
    out->order = acc.order / B;
    out->n_clusters = acc.n_clusters / B;
    out->stable_rank = acc.stable_rank / B;
    out->energy = acc.energy / B;
    out->one_minus_cos = acc.one_minus_cos / B;
    out->one_minus_energy = acc.one_minus_energy / B;
}
