/* Checkpoints of a run: model.safetensors (MODEL.md names, config in the metadata) and
   optimizer.safetensors (moments and update count), both stamped with the step. */
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
   already built model; checks every tensor's name and shape. */
int checkpoint_load(const char *dir, Model *m, Optimizer *o, long *step, char *err, size_t errlen);
#endif
