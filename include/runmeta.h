/* What a checkpoint says about the run it belongs to, so that --resume continues only that
   run: the model's config (model.safetensors, as before) and every setting that defines the
   model, data, optimizer or metrics (optimizer.safetensors, keys "config.NAME"; in the
   optimizer file so that model.safetensors, whose bytes the sweeps' numerics fingerprint
   hashes, stays as it was). */
#ifndef RUNMETA_H
#define RUNMETA_H
#include "checkpoint.h"
#include "config.h"
#include "model.h"

#define RUNMETA_MAX 96
typedef struct {
    StMeta model[24], settings[RUNMETA_MAX - 24];
    int model_count, settings_count, used;
    char key[RUNMETA_MAX][72], text[RUNMETA_MAX][80];
} RunMeta;

/* The metadata of a run of settings c, model shape s and image patch side patch (0: tokens). */
void runmeta_build(RunMeta *rm, const Config *c, const ModelShape *s, int patch);
/* The lists of rm for checkpoint_save and checkpoint_check_meta. */
CheckpointMeta runmeta_view(const RunMeta *rm);
#endif
