/* Union-find over 0..n-1 in a caller's int array (parent[i]), for the clusters of tokens
   joined pairwise (metrics.c, sde.c). */
#ifndef UNIONFIND_H
#define UNIONFIND_H

/* Every element its own set. */
void uf_init(int *parent, int n);
/* The root of i's set (with path halving, which keeps the trees flat). */
int uf_find(int *parent, int i);
/* Joins the sets of i and j (i's root under j's); 1 if they were apart, else 0. */
int uf_union(int *parent, int i, int j);
#endif
