/* Saving and restoring the parameter block and the optimizer state.

   A kill at any instant of a save must leave a resumable run. The two files are written so
   that a consistent pair is always on disk (each write itself is atomic: temp + rename):
     1. optimizer.safetensors.new   the new optimizer state, beside the old one
     2. model.safetensors           replaced: this rename commits the checkpoint
     3. optimizer.safetensors.new -> optimizer.safetensors
   Killed before 2, model.safetensors and optimizer.safetensors are the old pair; killed
   after 2, model.safetensors and optimizer.safetensors.new are the new pair. The loader
   takes the optimizer file whose step stamp equals the model's and finishes step 3. This
   keeps the file names and formats that tools and tests read, unlike a single file or a
   renamed directory (which cannot replace a non-empty one atomically). */
#define _POSIX_C_SOURCE 200809L
#include "checkpoint.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MODEL_FILE "model.safetensors"
#define OPTIM_FILE "optimizer.safetensors"
#define OPTIM_NEXT "optimizer.safetensors.new"

/* Test hook: with TRAIN_TEST_ABORT_AT=N in the environment, the process kills itself at
   the N-th save point (counted over all saves of the process), as a kill between two writes
   would. tests/test_checkpoint.c kills a run at every point and checks that it resumes bit
   for bit. Read nowhere but here. A kill inside a write leaves only a stray .tmp file, which
   nothing reads and the next write truncates, so the points between the writes suffice. */
static long save_points_passed;   /* only ever touched by the hook */
static void save_point(void) {
    const char *at = getenv("TRAIN_TEST_ABORT_AT");
    if (at && ++save_points_passed == strtol(at, NULL, 10)) raise(SIGKILL);
}

static void join(char *out, size_t len, const char *dir, const char *name) {
    snprintf(out, len, "%s/%s", dir, name);
}

/* How a model tensor is stored: head.bias as a vector, every other one as (rows, cols). */
static StTensor model_tensor(const Model *m, int i) {
    const TensorInfo *ti = &m->tensors[i];
    int vector = strcmp(ti->name, "head.bias") == 0;
    return (StTensor){ti->name, m->params + ti->offset, vector ? 1 : 2,
                      {vector ? ti->cols : ti->rows, vector ? 0 : ti->cols}};
}

static int save_optimizer(const char *path, const Optimizer *o, const char *step_s,
                          const CheckpointMeta *meta, char *err, size_t errlen) {
    StTensor ot[2];
    int nt = 0;
    if (o->m) ot[nt++] = (StTensor){"m", o->m, 1, {(int64_t)o->n, 0}};
    if (o->v) ot[nt++] = (StTensor){"v", o->v, 1, {(int64_t)o->n, 0}};
    char t_s[32], frozen_s[32];
    snprintf(t_s, sizeof t_s, "%ld", o->t);
    snprintf(frozen_s, sizeof frozen_s, "%ld", o->frozen);
    /* "frozen" only when something is: the files of other runs stay as they were */
    int n = o->frozen ? 3 : 2;
    StMeta *om = xcalloc((size_t)(n + meta->settings_count), sizeof *om);
    memcpy(om, (StMeta[]){{"step", step_s}, {"updates", t_s}, {"frozen", frozen_s}}, sizeof *om * n);
    memcpy(om + n, meta->settings, sizeof *om * meta->settings_count);
    int rc = st_write(path, ot, nt, om, n + meta->settings_count, err, errlen);
    free(om);
    return rc;
}

static int save_model(const char *path, const Model *m, const char *step_s, const StMeta *meta,
                      int meta_count, char *err, size_t errlen) {
    StTensor *t = xcalloc(m->num_tensors, sizeof *t);
    for (int i = 0; i < m->num_tensors; i++) t[i] = model_tensor(m, i);
    StMeta *all = xcalloc(meta_count + 1, sizeof *all);
    memcpy(all, meta, sizeof *meta * meta_count);
    all[meta_count] = (StMeta){"step", step_s};
    int rc = st_write(path, t, m->num_tensors, all, meta_count + 1, err, errlen);
    free(t);
    free(all);
    return rc;
}

int checkpoint_save(const char *dir, const Model *m, const Optimizer *o, long step,
                    const CheckpointMeta *meta, char *err, size_t errlen) {
    char model[2048], optim[2048], next[2048], step_s[32];
    snprintf(step_s, sizeof step_s, "%ld", step);
    join(model, sizeof model, dir, MODEL_FILE);
    join(optim, sizeof optim, dir, OPTIM_FILE);
    join(next, sizeof next, dir, OPTIM_NEXT);
    save_point();
    if (save_optimizer(next, o, step_s, meta, err, errlen) != 0) return -1;
    save_point();
    if (save_model(model, m, step_s, meta->model, meta->model_count, err, errlen) != 0) return -1;
    save_point();
    if (rename(next, optim) != 0) {
        snprintf(err, errlen, "%s: cannot rename to %s: %s", next, OPTIM_FILE, strerror(errno));
        return -1;
    }
    save_point();
    return 0;
}

/* The model's shape in model.safetensors: checkpoint_load checks it, strictly, against the
   model built (a checkpoint that does not fit it is a bad checkpoint, exit 1). */
static int shape_key(const char *key) {
    const char *keys[] = {"d", "L", "H", "n", "mlp", "classes", "input_dim"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (strcmp(key, keys[i]) == 0) return 1;
    return 0;
}

/* The keys of want that the file at path also holds must have its values there. A missing
   or unreadable file is passed over: checkpoint_load says what is wrong with it. */
static int same_meta(const char *path, const char *file, const StMeta *want, int n, char *err,
                     size_t errlen) {
    StFile f;
    char why[256];
    if (!file_exists(path) || st_read(&f, path, why, sizeof why) != 0) return 0;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        const char *saved = st_meta(&f, want[i].key);
        if (!saved || strcmp(saved, want[i].value) == 0 || shape_key(want[i].key)) continue;
        const char *name = strncmp(want[i].key, "config.", 7) == 0 ? want[i].key + 7 : want[i].key;
        snprintf(err, errlen, "config.json: '%s' is %.80s, but the checkpoint (%s) was saved with "
                 "%.80s: --resume continues only the run the checkpoint holds (put the value "
                 "back, or start a new run)", name, want[i].value, file, saved);
        rc = -1;
    }
    st_free(&f);
    return rc;
}

int checkpoint_check_meta(const char *dir, const CheckpointMeta *meta, char *err, size_t errlen) {
    /* the settings first: they name what was edited, the model's numbers (alpha) follow */
    const char *files[] = {OPTIM_FILE, OPTIM_NEXT, MODEL_FILE};
    char path[2048];
    for (int i = 0; i < 3; i++) {
        join(path, sizeof path, dir, files[i]);
        int model = i == 2;
        if (same_meta(path, files[i], model ? meta->model : meta->settings,
                      model ? meta->model_count : meta->settings_count, err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* optimizer.safetensors.new alone does not count: the first save was killed before its
   model was written, so nothing was committed. */
int checkpoint_exists(const char *dir) {
    const char *names[] = {MODEL_FILE, OPTIM_FILE};
    char path[2048];
    for (int i = 0; i < 2; i++) {
        join(path, sizeof path, dir, names[i]);
        if (file_exists(path)) return 1;
    }
    return 0;
}

/* ---- strict reading ------------------------------------------------------------------- */

/* A whole-number metadata field: its range, where it goes, and (want != NULL) the value it
   must have. Checkpoints are read from a table of these, so a new field is one more row. */
typedef struct { const char *key; long min, max; long *dst; const long *want; } MetaField;

/* s as a whole decimal number in [min, max]: digits with an optional '-', nothing else. */
static int parse_whole(const char *s, long min, long max, long *out) {
    const char *p = s + (*s == '-');
    if (!*p) return -1;
    for (; *p; p++)
        if (*p < '0' || *p > '9') return -1;
    errno = 0;
    long v = strtol(s, NULL, 10);
    if (errno == ERANGE || v < min || v > max) return -1;
    *out = v;
    return 0;
}

static int read_meta_fields(const StFile *f, const char *path, const MetaField *fields, int n,
                            char *err, size_t errlen) {
    for (int i = 0; i < n; i++) {
        const MetaField *mf = &fields[i];
        const char *s = st_meta(f, mf->key);
        if (!s) return snprintf(err, errlen, "%s: metadata '%s' is missing", path, mf->key), -1;
        if (parse_whole(s, mf->min, mf->max, mf->dst) != 0)
            return snprintf(err, errlen, "%s: metadata '%s' is '%.40s', not a whole number in "
                            "[%ld, %ld]", path, mf->key, s, mf->min, mf->max), -1;
        if (mf->want && *mf->dst != *mf->want)
            return snprintf(err, errlen, "%s: metadata '%s' is %ld but the run's model has %ld",
                            path, mf->key, *mf->dst, *mf->want), -1;
    }
    return 0;
}

static void shape_text(char *out, size_t len, int ndim, const int64_t *shape) {
    if (ndim == 2) snprintf(out, len, "(%lld, %lld)", (long long)shape[0], (long long)shape[1]);
    else snprintf(out, len, "(%lld)", (long long)shape[0]);
}

/* Copies tensor t (name, shape and element count as expected) out of f; refuses a missing
   tensor, another shape (a transposed one included) and NaN or infinite values. */
static int read_tensor(const StFile *f, const char *path, const StTensor *t, float *dst,
                       char *err, size_t errlen) {
    const struct StEntry *e = st_find(f, t->name);
    int64_t cols = t->ndim == 2 ? t->shape[1] : 1;
    if (!e)
        return snprintf(err, errlen, "%s: tensor '%s' is missing", path, t->name), -1;
    if (e->ndim != t->ndim || e->shape[0] != t->shape[0] || (t->ndim == 2 && e->shape[1] != cols)) {
        char got[64], want[64];
        shape_text(got, sizeof got, e->ndim, e->shape);
        shape_text(want, sizeof want, t->ndim, t->shape);
        return snprintf(err, errlen, "%s: tensor '%s' has shape %s, the run's model needs %s",
                        path, t->name, got, want), -1;
    }
    size_t n = (size_t)t->shape[0] * (size_t)cols;
    if (st_get(f, t->name, dst, n) != 0)
        return snprintf(err, errlen, "%s: tensor '%s' cannot be read", path, t->name), -1;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(dst[i]))
            return snprintf(err, errlen, "%s: tensor '%s' has a non-finite value (%g) at element "
                            "%zu", path, t->name, dst[i], i), -1;
    return 0;
}

static int check_tensor_count(const StFile *f, const char *path, int want, char *err, size_t errlen) {
    if (f->count == want) return 0;
    return snprintf(err, errlen, "%s: has %d tensors, the run's model needs %d", path, f->count,
                    want), -1;
}

static int load_model(const char *path, Model *m, long *step, char *err, size_t errlen) {
    StFile f;
    if (st_read(&f, path, err, errlen) != 0) return -1;
    const ModelShape *s = &m->s;
    long d = s->d, L = s->L, H = s->H, n = s->n, M = s->M, C = s->C, in = s->in_dim, got[7];
    const MetaField fields[] = {
        {"step", 0, LONG_MAX, step, NULL},
        {"d", 1, INT_MAX, &got[0], &d},          {"L", 1, INT_MAX, &got[1], &L},
        {"H", 1, INT_MAX, &got[2], &H},          {"n", 1, INT_MAX, &got[3], &n},
        {"mlp", 0, INT_MAX, &got[4], &M},        {"classes", 1, INT_MAX, &got[5], &C},
        {"input_dim", 1, INT_MAX, &got[6], &in},
    };
    int rc = read_meta_fields(&f, path, fields, (int)(sizeof fields / sizeof *fields), err, errlen);
    if (rc == 0) rc = check_tensor_count(&f, path, m->num_tensors, err, errlen);
    for (int i = 0; i < m->num_tensors && rc == 0; i++) {
        StTensor t = model_tensor(m, i);
        rc = read_tensor(&f, path, &t, m->params + m->tensors[i].offset, err, errlen);
    }
    st_free(&f);
    return rc;
}

/* Loads the optimizer state saved at `step`; -1 with a reason if the file is of another
   step or invalid. */
static int load_optimizer(const char *path, Optimizer *o, long step, char *err, size_t errlen) {
    StFile f;
    if (st_read(&f, path, err, errlen) != 0) return -1;
    long saved_step, updates, frozen = 0;
    const MetaField fields[] = {
        {"step", 0, LONG_MAX, &saved_step, NULL},
        {"updates", 0, LONG_MAX, &updates, NULL},
        {"frozen", 0, 255, &frozen, &o->frozen},   /* the --freeze mask: the moments fit it */
    };
    /* "frozen" is written only when something is frozen (files of runs without --freeze,
       older ones included, have none): absent reads as 0, unless the run freezes tensors */
    int count = st_meta(&f, "frozen") || o->frozen ? 3 : 2;
    int rc = read_meta_fields(&f, path, fields, count, err, errlen);
    if (rc == 0 && saved_step != step) {
        snprintf(err, errlen, "%s: saved at step %ld but %s at step %ld; the checkpoint is "
                 "inconsistent", path, saved_step, MODEL_FILE, step);
        rc = -1;
    }
    if (rc == 0) rc = check_tensor_count(&f, path, (o->m != NULL) + (o->v != NULL), err, errlen);
    if (rc == 0 && o->m)
        rc = read_tensor(&f, path, &(StTensor){"m", NULL, 1, {(int64_t)o->n, 0}}, o->m, err, errlen);
    if (rc == 0 && o->v)
        rc = read_tensor(&f, path, &(StTensor){"v", NULL, 1, {(int64_t)o->n, 0}}, o->v, err, errlen);
    if (rc == 0) o->t = updates;
    st_free(&f);
    return rc;
}

int checkpoint_load(const char *dir, Model *m, Optimizer *o, long *step, char *err, size_t errlen) {
    char model[2048], optim[2048], next[2048];
    join(model, sizeof model, dir, MODEL_FILE);
    join(optim, sizeof optim, dir, OPTIM_FILE);
    join(next, sizeof next, dir, OPTIM_NEXT);
    if (load_model(model, m, step, err, errlen) != 0) return -1;
    if (!o) return 0;
    /* a save killed after its model was written: the new optimizer state is still .new */
    if (file_exists(next) && load_optimizer(next, o, *step, err, errlen) == 0) {
        if (rename(next, optim) == 0) return 0;
        return snprintf(err, errlen, "%s: cannot rename to %s: %s", next, OPTIM_FILE,
                        strerror(errno)), -1;
    }
    return load_optimizer(optim, o, *step, err, errlen);
}
