/* Which parameter tensors training leaves at their initial values (--freeze LIST): the
   list as a bit mask of tensor groups, and the ranges of the parameter block that stay
   trained (the optimizer updates and keeps moments for those alone). */
#ifndef FREEZE_H
#define FREEZE_H
#include <stddef.h>

#include "model.h"
#include "optim.h"

/* The groups, in this order: a group names every tensor of that kind in every layer
   (q = layers.*.q, head = head.weight and head.bias). */
enum { FREEZE_EMBED = 1, FREEZE_POS = 2, FREEZE_Q = 4, FREEZE_K = 8, FREEZE_V = 16,
       FREEZE_W1 = 32, FREEZE_W2 = 64, FREEZE_HEAD = 128, FREEZE_ALL = 255 };

/* "q,k,v,w1" -> mask; "" -> 0. Refuses unknown names, empty items and duplicates with one
   line in err naming the item (the caller prefixes the flag or file). */
int freeze_parse(const char *list, unsigned *mask, char *err, size_t errlen);
/* The mask as a comma list in the canonical order above ("" for 0). */
void freeze_format(unsigned mask, char *out, size_t len);
/* Whether the tensor of this MODEL.md name belongs to a group of mask. */
int freeze_tensor_frozen(unsigned mask, const char *tensor_name);
/* The trained parts of m's block as sorted, disjoint ranges (adjacent trained tensors
   merged); ranges needs room for m->num_tensors entries. Returns how many. */
int freeze_trained_ranges(const Model *m, unsigned mask, OptRange *ranges);
#endif
