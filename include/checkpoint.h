/* Checkpoints of a run: model.safetensors (MODEL.md names, config in the metadata) and
   optimizer.safetensors (moments and update count), both stamped with the step; a kill at
   any instant of a save leaves a pair that checkpoint_load accepts. */
#ifndef CHECKPOINT_H
#define CHECKPOINT_H
#include <stddef.h>

#include "model.h"
#include "optim.h"
#include "safetensors.h"

/* What a checkpoint stores about its run, as strings: model (the model config) goes into
   model.safetensors beside "step", settings into optimizer.safetensors beside "updates". */
typedef struct {
    const StMeta *model;
    int model_count;
    const StMeta *settings;
    int settings_count;
} CheckpointMeta;

int checkpoint_save(const char *dir, const Model *m, const Optimizer *o, long step,
                    const CheckpointMeta *meta, char *err, size_t errlen);
/* For --resume, before anything is loaded or changed: every key of meta that a checkpoint
   file of dir also holds must have the same value there (a key the files lack, from a build
   that did not write it, is passed over). -1 with "config.json: 'KEY' is NOW, but the
   checkpoint (FILE) was saved with THEN" in err. */
int checkpoint_check_meta(const char *dir, const CheckpointMeta *meta, char *err, size_t errlen);
/* Loads weights (and optimizer state if o != NULL) saved at the same step into an
   already built model. Refuses, with "path: what is wrong" in err: metadata that is not a
   whole number in range or does not match the model (d, L, H, n, mlp, classes, input_dim),
   a missing, extra or differently shaped tensor, a NaN or infinite value. With o, finishes a
   save that a kill interrupted (see checkpoint.c); changes nothing on disk otherwise. */
int checkpoint_load(const char *dir, Model *m, Optimizer *o, long *step, char *err, size_t errlen);
/* Whether dir holds any checkpoint file (a run killed before its first save has none). */
int checkpoint_exists(const char *dir);
#endif
