/* Saving and restoring the parameter block and the optimizer state. */
#include "checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int checkpoint_save(const char *dir, const Model *m, const Optimizer *o, long step,
                    const StMeta *meta, int meta_count, char *err, size_t errlen) {
    char path[2048], step_s[32];
    snprintf(step_s, sizeof step_s, "%ld", step);

    /* Optimizer first: if we stop between the two writes, the step stamps disagree and
       --resume refuses instead of silently mixing states. */
    StTensor ot[2];
    int nt = 0;
    if (o->m) ot[nt++] = (StTensor){"m", o->m, 1, {(int64_t)o->n, 0}};
    if (o->v) ot[nt++] = (StTensor){"v", o->v, 1, {(int64_t)o->n, 0}};
    char t_s[32];
    snprintf(t_s, sizeof t_s, "%ld", o->t);
    StMeta om[] = {{"step", step_s}, {"updates", t_s}};
    snprintf(path, sizeof path, "%s/optimizer.safetensors", dir);
    if (st_write(path, ot, nt, om, 2, err, errlen) != 0) return -1;

    StTensor *t = xcalloc(m->num_tensors, sizeof *t);
    for (int i = 0; i < m->num_tensors; i++) {
        const TensorInfo *ti = &m->tensors[i];
        int vector = strcmp(ti->name, "head.bias") == 0;
        t[i] = (StTensor){ti->name, m->params + ti->offset, vector ? 1 : 2,
                          {vector ? ti->cols : ti->rows, vector ? 0 : ti->cols}};
    }
    StMeta *all = xcalloc(meta_count + 1, sizeof *all);
    memcpy(all, meta, sizeof *meta * meta_count);
    all[meta_count] = (StMeta){"step", step_s};
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    int rc = st_write(path, t, m->num_tensors, all, meta_count + 1, err, errlen);
    free(t);
    free(all);
    return rc;
}

static int load_model(const char *path, Model *m, long *step, char *err, size_t errlen) {
    StFile f;
    if (st_read(&f, path, err, errlen) != 0) return -1;
    int rc = 0;
    for (int i = 0; i < m->num_tensors && rc == 0; i++) {
        const TensorInfo *ti = &m->tensors[i];
        if (st_get(&f, ti->name, m->params + ti->offset, (size_t)ti->rows * ti->cols) != 0) {
            snprintf(err, errlen, "%s: tensor '%s' (%d x %d) is missing or has another shape",
                     path, ti->name, ti->rows, ti->cols);
            rc = -1;
        }
    }
    const char *s = st_meta(&f, "step");
    if (rc == 0 && !s) {
        snprintf(err, errlen, "%s: no 'step' in the metadata", path);
        rc = -1;
    }
    if (rc == 0) *step = atol(s);
    st_free(&f);
    return rc;
}

static int load_optimizer(const char *path, Optimizer *o, long step, char *err, size_t errlen) {
    StFile f;
    if (st_read(&f, path, err, errlen) != 0) return -1;
    int rc = 0;
    const char *s = st_meta(&f, "step"), *t = st_meta(&f, "updates");
    if (!s || !t || atol(s) != step) {
        snprintf(err, errlen, "%s: saved at step %s but the model at step %ld; the checkpoint "
                 "is inconsistent", path, s ? s : "?", step);
        rc = -1;
    } else if ((o->m && st_get(&f, "m", o->m, o->n) != 0) ||
               (o->v && st_get(&f, "v", o->v, o->n) != 0)) {
        snprintf(err, errlen, "%s: optimizer moments missing or of the wrong size", path);
        rc = -1;
    } else {
        o->t = atol(t);
    }
    st_free(&f);
    return rc;
}

int checkpoint_load(const char *dir, Model *m, Optimizer *o, long *step, char *err, size_t errlen) {
    char path[2048];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (load_model(path, m, step, err, errlen) != 0) return -1;
    if (!o) return 0;
    snprintf(path, sizeof path, "%s/optimizer.safetensors", dir);
    return load_optimizer(path, o, *step, err, errlen);
}
