/* Checkpoints of a run: model.safetensors (MODEL.md names, config in the metadata) and
   optimizer.safetensors (moments and update count), both stamped with the step; a kill at
   any instant of a save leaves a pair that checkpoint_load accepts. */
#ifndef CHECKPOINT_H
#define CHECKPOINT_H
#include <stddef.h>

#include "model.h"
#include "optim.h"
#include "safetensors.h"

/* meta: the model config (strings) to store in model.safetensors beside "step". */
int checkpoint_save(const char *dir, const Model *m, const Optimizer *o, long step,
                    const StMeta *meta, int meta_count, char *err, size_t errlen);
/* Loads weights (and optimizer state if o != NULL) saved at the same step into an
   already built model. Refuses, with "path: what is wrong" in err: metadata that is not a
   whole number in range or does not match the model (d, L, H, n, mlp, classes, input_dim),
   a missing, extra or differently shaped tensor, a NaN or infinite value. With o, finishes a
   save that a kill interrupted (see checkpoint.c); changes nothing on disk otherwise. */
int checkpoint_load(const char *dir, Model *m, Optimizer *o, long *step, char *err, size_t errlen);
/* Whether dir holds any checkpoint file (a run killed before its first save has none). */
int checkpoint_exists(const char *dir);
#endif
