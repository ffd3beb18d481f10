/* --freeze: the list of tensor groups that keep their initial values; see freeze.h. */
#include "freeze.h"

#include <stdio.h>
#include <string.h>

static const char *const GROUPS[] = {"embed", "pos", "q", "k", "v", "w1", "w2", "head"};
#define NUM_GROUPS ((int)(sizeof GROUPS / sizeof *GROUPS))

static int group_index(const char *name, size_t len) {
    for (int g = 0; g < NUM_GROUPS; g++)
        if (strlen(GROUPS[g]) == len && strncmp(GROUPS[g], name, len) == 0) return g;
    return -1;
}

int freeze_parse(const char *list, unsigned *mask, char *err, size_t errlen) {
    *mask = 0;
    if (!*list) return 0;
    for (const char *p = list;; ) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        int g = group_index(p, len);
        if (len == 0)
            return snprintf(err, errlen, "'%s' has an empty item (write names separated by "
                            "single commas)", list), -1;
        if (g < 0)
            return snprintf(err, errlen, "'%.*s' is not a tensor group (one of embed, pos, q, "
                            "k, v, w1, w2, head)", (int)len, p), -1;
        if (*mask & (1u << g))
            return snprintf(err, errlen, "'%s' is named twice", GROUPS[g]), -1;
        *mask |= 1u << g;
        if (!comma) return 0;
        p = comma + 1;
    }
}

void freeze_format(unsigned mask, char *out, size_t len) {
    size_t used = 0;
    out[0] = '\0';
    for (int g = 0; g < NUM_GROUPS; g++)
        if (mask & (1u << g))
            used += (size_t)snprintf(out + used, used < len ? len - used : 0, "%s%s",
                                     used ? "," : "", GROUPS[g]);
}

/* The group of a tensor name: "embed", "pos", "layers.{l}.X" -> X, "head.*" -> head. */
int freeze_tensor_frozen(unsigned mask, const char *name) {
    const char *group = name;
    if (strncmp(name, "layers.", 7) == 0) {
        const char *dot = strchr(name + 7, '.');
        group = dot ? dot + 1 : name;
    } else if (strncmp(name, "head.", 5) == 0) {
        group = "head";
    }
    int g = group_index(group, strlen(group));
    return g >= 0 && (mask & (1u << g));
}

int freeze_trained_ranges(const Model *m, unsigned mask, OptRange *ranges) {
    int n = 0;
    for (int i = 0; i < m->num_tensors; i++) {
        const TensorInfo *t = &m->tensors[i];
        if (freeze_tensor_frozen(mask, t->name)) continue;
        size_t count = (size_t)t->rows * (size_t)t->cols;
        if (n > 0 && ranges[n - 1].offset + ranges[n - 1].count == t->offset)
            ranges[n - 1].count += count;
        else
            ranges[n++] = (OptRange){t->offset, count};
    }
    return n;
}
