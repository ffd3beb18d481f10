/* config.json and summary.json of ./train: every number through json.c's writer (non-finite
   as null), every file through text_begin/text_commit (atomic). */
#include "runfiles.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blasinfo.h"
#include "json.h"
#include "rundir.h"
#include "util.h"

int runfiles_write_config(const char *dir, const RunRecord *r, char *err, size_t errlen) {
    const ModelShape *s = r->shape;
    TextFile tf;
    FILE *f = text_begin(&tf);
    fputs("{\n", f);
    config_write_json(r->cfg, f);
    fputs("  \"alpha\": ", f);
    json_put_number(f, "%.9g", s->alpha);
    fprintf(f, ",\n  \"tokens\": %d,\n  \"input_dim\": %d,\n  \"classes\": %d,\n",
            s->n, s->in_dim, s->C);
    fprintf(f, "  \"train_examples\": %d,\n  \"test_examples\": %d,\n", r->train->count, r->test->count);
    if (r->patch)
        fprintf(f, "  \"image_height\": %d,\n  \"image_width\": %d,\n  \"image_channels\": %d,\n",
                r->train->height, r->train->width, r->train->channels);
    fprintf(f, "  \"total_steps\": %ld,\n  \"parameters\": %zu,\n", r->total_steps, r->parameters);
    memest_write_json(r->mem, f);
    blasinfo_write_json(f);
    fputs("  \"git_commit\": ", f);
    json_put_string(f, r->git_commit);
    fputs("\n}\n", f);
    return text_commit(&tf, dir, "config.json", err, errlen);
}

/* "key": number,\n with null for a non-finite number (summary.json stays valid JSON). */
static void put_number(FILE *f, const char *key, const char *fmt, double x) {
    fprintf(f, "  \"%s\": ", key);
    json_put_number(f, fmt, x);
    fputs(",\n", f);
}

int runfiles_write_summary(const char *dir, const RunEnd *e, long total_steps, int batch,
                           int threads, char *err, size_t errlen) {
    TextFile tf;
    FILE *f = text_begin(&tf);
    double per_step = e->steps_run ? e->seconds / e->steps_run : 0.0;
    fputs("{\n  \"status\": ", f);
    json_put_string(f, e->status);
    fprintf(f, ",\n  \"step\": %ld,\n  \"total_steps\": %ld,\n", e->step, total_steps);
    if (e->diverged_at > 0) {
        fprintf(f, "  \"diverged_at_step\": %ld,\n  \"checkpoint_step\": ", e->diverged_at);
        if (e->checkpoint_step >= 0) fprintf(f, "%ld,\n", e->checkpoint_step);
        else fputs("null,\n", f);
    }
    if (e->test_acc >= 0) {
        put_number(f, "test_loss", "%.6f", e->test_loss);
        put_number(f, "test_acc", "%.6f", e->test_acc);
    }
    blasinfo_write_json(f);
    put_number(f, "train_seconds", "%.3f", e->seconds);
    fprintf(f, "  \"steps_this_invocation\": %ld,\n", e->steps_run);
    put_number(f, "ms_per_step", "%.3f", 1e3 * per_step);
    put_number(f, "samples_per_s", "%.1f", per_step > 0 ? batch / per_step : 0.0);
    fprintf(f, "  \"threads\": %d\n}\n", threads);
    return text_commit(&tf, dir, "summary.json", err, errlen);
}

int runfiles_read_config(const char *dir, Config *c, char *err, size_t errlen) {
    char path[1200];
    size_t len;
    snprintf(path, sizeof path, "%s/config.json", dir);
    char *json = (char *)read_whole_file(path, &len, err, errlen);
    if (!json) return -1;
    int rc = config_read_json(c, json, err, errlen);
    free(json);
    if (rc != 0) {   /* err starts with "config.json: "; name the run directory too */
        char why[512];
        snprintf(why, sizeof why, "%.511s", err);
        snprintf(err, errlen, "%.1100s/%.511s", dir, why);
    }
    return rc;
}

int runfiles_summary_says(const char *dir, const char *status) {
    char path[1200], want[64];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    snprintf(want, sizeof want, "\"status\": \"%s\"", status);
    size_t len;
    char err[256], *text = (char *)read_whole_file(path, &len, err, sizeof err);
    int says = text && strstr(text, want);
    free(text);
    return says;
}
