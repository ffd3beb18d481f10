/* Union-find in a caller's array; see unionfind.h. */
#include "unionfind.h"

void uf_init(int *parent, int n) {
    for (int i = 0; i < n; i++) parent[i] = i;
}

int uf_find(int *parent, int i) {
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

int uf_union(int *parent, int i, int j) {
    int a = uf_find(parent, i), b = uf_find(parent, j);
    if (a == b) return 0;
    parent[a] = b;
    return 1;
}
