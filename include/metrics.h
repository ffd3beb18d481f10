/* Token-clustering metrics of MODEL.md, on a token tensor X (B, n, d), averaged over B. */
#ifndef METRICS_H
#define METRICS_H

typedef struct {
    double mean_cos;        /* mean over pairs i<j of c_ij = <u_i, u_j> */
    double mean_abs_cos;    /* mean |c_ij| */
    double frac_clustered;  /* share of pairs with c_ij > 1 - delta */
    double frac_antipodal;  /* share of pairs with c_ij < -1 + delta */
    double order;           /* |mean_i u_i| */
    double n_clusters;      /* groups joined by c_ij > 1 - delta (single linkage) */
    double stable_rank;     /* |X|_F^2 / |X|_2^2 of the (n, d) token matrix */
    double energy;          /* (1/n^2) sum_ij exp(beta (<u_i, u_j> - 1)), i = j included */
    double one_minus_cos;   /* mean over pairs of 1 - c_ij, as |u_i - u_j|^2 / 2 (no cancellation) */
    double one_minus_energy;/* 1 - energy, as -expm1(-beta |u_i - u_j|^2 / 2) (no cancellation) */
} ClusterMetrics;

#define METRICS_CSV_HEADER "mean_cos,mean_abs_cos,frac_clustered,frac_antipodal,order,n_clusters,stable_rank,energy"

/* X (B, n, d) row-major. Sums in double. Requires n >= 2. beta: the model's attention
   inverse temperature, used by energy only. */
void cluster_metrics(ClusterMetrics *out, const float *X, int B, int n, int d, double delta,
                     double beta);
#endif
