/* --freeze: parsing the list, the optimizer over ranges of the block, and end-to-end runs
   of ./train whose frozen tensors must keep their initial values bit for bit (compared
   with a model initialized from the same seed through the model code), whose optimizer
   file holds moments for the trained tensors alone, and which resume bit for bit. */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "freeze.h"
#include "model.h"
#include "optim.h"
#include "proc.h"
#include "safetensors.h"
#include "util.h"

/* The small model of test_train.c (multi-head, MLP, beta != 1) */
#define SMALL "./train --dataset repeat --d 16 --layers 3 --heads 2 --mlp 8 --beta 1.5 " \
              "--train-size 2000 --test-size 300 --batch 32 --threads 1 --eval-every 10 " \
              "--cluster-every 10 --log-every 5 --probe-size 16 --warmup 5"
#define PAPER "--freeze embed,pos,q,k,v,w1 --weight-decay 0.05"

static char out[1 << 16];

static int train(const char *dir, const char *flags) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, SMALL " --run-dir %s %s", dir, flags);
    return run_cmd(cmd, out, sizeof out);
}

static void test_freeze_parse(void) {
    unsigned mask = 99;
    char err[256];
    CHECK(freeze_parse("", &mask, err, sizeof err) == 0 && mask == 0, "empty list: nothing frozen");
    CHECK(freeze_parse("q,k,v,w1", &mask, err, sizeof err) == 0 &&
          mask == (FREEZE_Q | FREEZE_K | FREEZE_V | FREEZE_W1), "q,k,v,w1 -> %u", mask);
    CHECK(freeze_parse("head,embed", &mask, err, sizeof err) == 0 &&
          mask == (FREEZE_HEAD | FREEZE_EMBED), "any order");
    char text[64];
    freeze_format(FREEZE_W1 | FREEZE_Q | FREEZE_EMBED, text, sizeof text);
    CHECK(strcmp(text, "embed,q,w1") == 0, "canonical order: %s", text);
    freeze_format(FREEZE_ALL, text, sizeof text);
    CHECK(strcmp(text, "embed,pos,q,k,v,w1,w2,head") == 0, "all groups: %s", text);
    const char *bad[] = {"x", "q,x", "q,,k", ",q", "q,", ",", "q,q", "Q", "w3", "q k", "layers.0.q"};
    const char *why[] = {"not a tensor group", "not a tensor group", "empty item", "empty item",
                         "empty item", "empty item", "named twice", "not a tensor group",
                         "not a tensor group", "not a tensor group", "not a tensor group"};
    for (int i = 0; i < (int)(sizeof bad / sizeof *bad); i++) {
        err[0] = '\0';
        CHECK(freeze_parse(bad[i], &mask, err, sizeof err) != 0 && strstr(err, why[i]),
              "'%s' refused with '%s': got '%s'", bad[i], why[i], err);
    }
    CHECK(freeze_tensor_frozen(FREEZE_Q, "layers.12.q") && !freeze_tensor_frozen(FREEZE_Q, "layers.1.k"),
          "q is every layer's q");
    CHECK(freeze_tensor_frozen(FREEZE_HEAD, "head.weight") && freeze_tensor_frozen(FREEZE_HEAD, "head.bias"),
          "head is weight and bias");
    CHECK(!freeze_tensor_frozen(FREEZE_ALL & ~FREEZE_EMBED, "embed"), "embed not in the mask");
}

/* The trained ranges cover exactly the tensors not in the mask, merged where adjacent. */
static void test_freeze_ranges(void) {
    Model m;
    ModelShape s = {.d = 4, .L = 2, .H = 1, .n = 3, .in_dim = 5, .C = 2, .M = 6, .beta = 1, .alpha = 0.7f};
    model_build(&m, s, 1, 1);
    OptRange r[64];
    CHECK(freeze_trained_ranges(&m, 0, r) == 1 && r[0].offset == 0 && r[0].count == m.num_params,
          "nothing frozen: one range, the whole block");
    unsigned mask = FREEZE_EMBED | FREEZE_POS | FREEZE_Q | FREEZE_K | FREEZE_V | FREEZE_W1;
    int n = freeze_trained_ranges(&m, mask, r);
    /* trained: layers.0.w2, then layers.1.w2 + head.weight + head.bias (adjacent: merged) */
    CHECK(n == 2, "2 ranges, got %d", n);
    const TensorInfo *w20 = model_find_tensor(&m, "layers.0.w2"), *w21 = model_find_tensor(&m, "layers.1.w2");
    if (n == 2) {
        CHECK(r[0].offset == w20->offset && r[0].count == 24, "layers.0.w2");
        CHECK(r[1].offset == w21->offset && r[1].count == 24 + 4 * 2 + 2 &&
              r[1].offset + r[1].count == m.num_params, "layers.1.w2 and the head, to the end of the block");
    }
    model_free(&m);
}

/* Ranges: elements outside are never touched (weight decay included), elements inside get
   exactly the update the whole-block optimizer gives them; the moments are packed. */
static void test_freeze_optimizer_ranges(void) {
    enum { N = 10 };
    const OptRange ranges[] = {{2, 3}, {7, 2}};   /* trained: 2,3,4 and 7,8 */
    OptConfig kinds[] = {
        {.kind = OPT_SGD, .momentum = 0.9f, .weight_decay = 0.1f},
        {.kind = OPT_ADAM, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.1f},
        {.kind = OPT_ADAMW, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.1f},
    };
    for (int k = 0; k < 3; k++) {
        Optimizer part, whole;
        float p[N], q[N], g[N], h[N];
        for (int i = 0; i < N; i++) p[i] = q[i] = 0.5f + 0.1f * (float)i;
        optim_init_ranges(&part, kinds[k], N, ranges, 2);
        optim_init(&whole, kinds[k], N);
        CHECK(part.n == 5, "kind %d: moments for the 5 trained elements, got %zu", k, part.n);
        for (int step = 0; step < 3; step++) {
            for (int i = 0; i < N; i++) g[i] = h[i] = 0.3f * (float)(i - 4) + 0.05f * (float)step;
            optim_step(&part, p, g, 0.01f);
            optim_step(&whole, q, h, 0.01f);
        }
        int kept = 1, same = 1;
        for (int i = 0; i < N; i++) {
            int trained = (i >= 2 && i <= 4) || i == 7 || i == 8;
            if (!trained) kept &= p[i] == 0.5f + 0.1f * (float)i;
            else same &= memcmp(&p[i], &q[i], sizeof(float)) == 0;
        }
        CHECK(kept, "kind %d: untrained elements keep their values bit for bit", k);
        CHECK(same, "kind %d: trained elements as with the whole-block optimizer, bit for bit", k);
        if (part.m) CHECK(part.m[3] == whole.m[7], "kind %d: moment of element 7 at index 3", k);
        for (int i = 0; i < N; i++) g[i] = 1.0f;
        optim_mask_grads(&part, g);
        int masked = 1;
        for (int i = 0; i < N; i++) masked &= g[i] == (((i >= 2 && i <= 4) || i == 7 || i == 8) ? 1.0f : 0.0f);
        CHECK(masked, "kind %d: optim_mask_grads zeroes the untrained gradients alone", k);
        optim_free(&part);
        optim_free(&whole);
    }
}

/* Reads a run's model.safetensors into a model of the same shape. */
static int load_weights(const char *dir, Model *m) {
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    StFile f;
    if (st_read(&f, path, err, sizeof err) != 0) return fprintf(stderr, "    %s\n", err), -1;
    int rc = 0;
    for (int i = 0; i < m->num_tensors && rc == 0; i++) {
        const TensorInfo *t = &m->tensors[i];
        rc = st_get(&f, t->name, m->params + t->offset, (size_t)t->rows * t->cols);
    }
    st_free(&f);
    return rc;
}

/* The run's frozen tensors are exactly those of a model initialized from the seed by the
   model code; the trained ones moved. Frozen: everything but w2 and head. */
static void test_freeze_train_keeps_initial_values(void) {
    char root[256], dir[300], path[400];
    make_temp_dir(root, sizeof root);
    snprintf(dir, sizeof dir, "%s/run", root);
    int rc = train(dir, "--steps 20 " PAPER);
    CHECK(rc == 0, "train exits 0, got %d: %s", rc, out);
    /* the shape SMALL gives: repeat with 8 symbols, 16 tokens, 2 classes */
    ModelShape s = {.d = 16, .L = 3, .H = 2, .n = 16, .in_dim = 8, .tokens_input = 1, .C = 2,
                    .M = 8, .beta = 1.5f, .alpha = model_residual_alpha("sqrt", 3)};
    Model init, run;
    model_build(&init, s, 1, 1);
    model_build(&run, s, 1, 1);
    model_init(&init, 1, 1.0f, 0.0f);
    CHECK(load_weights(dir, &run) == 0, "read the run's weights");
    unsigned mask = FREEZE_EMBED | FREEZE_POS | FREEZE_Q | FREEZE_K | FREEZE_V | FREEZE_W1;
    for (int i = 0; i < init.num_tensors; i++) {
        const TensorInfo *t = &init.tensors[i];
        size_t bytes = sizeof(float) * (size_t)t->rows * t->cols;
        int same = memcmp(init.params + t->offset, run.params + t->offset, bytes) == 0;
        if (freeze_tensor_frozen(mask, t->name))
            CHECK(same, "frozen %s is bit for bit its initial value", t->name);
        else
            CHECK(!same, "trained %s changed", t->name);
    }
    model_free(&init);
    model_free(&run);

    /* moments for w2 (3 x 8 x 16) and head (16 x 2 + 2) alone; the mask in the metadata */
    snprintf(path, sizeof path, "%s/optimizer.safetensors", dir);
    StFile f;
    char err[512];
    CHECK(st_read(&f, path, err, sizeof err) == 0, "%s", err);
    if (f.file) {
        const struct StEntry *m = st_find(&f, "m"), *v = st_find(&f, "v");
        CHECK(m && v && m->shape[0] == 3 * 8 * 16 + 16 * 2 + 2 && v->shape[0] == m->shape[0],
              "moments of the 418 trained parameters, got %lld", m ? (long long)m->shape[0] : -1LL);
        CHECK(st_meta(&f, "frozen") && strcmp(st_meta(&f, "frozen"), "63") == 0, "frozen mask 63 in the metadata");
        st_free(&f);
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    CHECK(st_read(&f, path, err, sizeof err) == 0, "%s", err);
    if (f.file) {
        CHECK(st_meta(&f, "freeze") && strcmp(st_meta(&f, "freeze"), "embed,pos,q,k,v,w1") == 0,
              "the list in the model's metadata");
        st_free(&f);
    }
    snprintf(path, sizeof path, "%s/config.json", dir);
    char *cfg = slurp(path);
    CHECK(cfg && strstr(cfg, "\"freeze\": \"embed,pos,q,k,v,w1\""), "the list in config.json");
    free(cfg);
}

static int same_file(const char *a, const char *b, const char *name) {
    char pa[512], pb[512];
    snprintf(pa, sizeof pa, "%s/%s", a, name);
    snprintf(pb, sizeof pb, "%s/%s", b, name);
    return files_equal(pa, pb);
}

/* --resume keeps the freeze (bit for bit an uninterrupted run) and refuses another list. */
static void test_freeze_resume(void) {
    char root[256], full[300], part[300], cmd[1024];
    make_temp_dir(root, sizeof root);
    snprintf(full, sizeof full, "%s/full", root);
    snprintf(part, sizeof part, "%s/part", root);
    CHECK(train(full, "--steps 24 " PAPER) == 0, "uninterrupted: %s", out);
    CHECK(train(part, "--steps 24 --stop-after 11 " PAPER) == 0, "first 11: %s", out);
    snprintf(cmd, sizeof cmd, "./train --resume --run-dir %s --freeze q", part);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 2 && strstr(out, "--freeze cannot be changed with --resume"), "another list refused: %d %s", rc, out);
    snprintf(cmd, sizeof cmd, "./train --resume --run-dir %s", part);
    rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "resume exits 0, got %d: %s", rc, out);
    const char *files[] = {"model.safetensors", "optimizer.safetensors", "eval.csv", "clusters.csv"};
    for (int i = 0; i < 4; i++) CHECK(same_file(full, part, files[i]), "%s equal after resume", files[i]);
}

/* config.json edited to another list: the checkpoint was saved with the other list and
   the resume is refused (exit 2, files unchanged); a list that is not valid is refused too
   (exit 1, as config.json that cannot be read). */
static void test_freeze_resume_checks(void) {
    char root[256], dir[300], cmd[2048], path[400];
    make_temp_dir(root, sizeof root);
    snprintf(dir, sizeof dir, "%s/run", root);
    CHECK(train(dir, "--steps 20 --stop-after 10 " PAPER) == 0, "first 10: %s", out);
    snprintf(path, sizeof path, "%s/config.json", dir);
    char *before = slurp(path);
    const char *edits[] = {"embed,pos,q,k,v", "embed,pos,q,k,v,x"};
    const char *why[] = {"'freeze' is embed,pos,q,k,v, but the checkpoint", "config.json: freeze: 'x' is not a tensor group"};
    const int status[] = {2, 1};
    for (int i = 0; i < 2; i++) {
        snprintf(cmd, sizeof cmd, "sed -i 's/\"freeze\": \"embed,pos,q,k,v,w1\"/\"freeze\": \"%s\"/' %s",
                 edits[i], path);
        CHECK(run_cmd(cmd, out, sizeof out) == 0, "edit config.json");
        snprintf(cmd, sizeof cmd, "cp %s/optimizer.safetensors %s/opt.before && ./train --resume --run-dir %s",
                 dir, root, dir);
        int rc = run_cmd(cmd, out, sizeof out);
        CHECK(rc == status[i] && strstr(out, why[i]), "freeze '%s' refused (exit %d, '%s'): %d %s",
              edits[i], status[i], why[i], rc, out);
        snprintf(cmd, sizeof cmd, "cmp %s/optimizer.safetensors %s/opt.before", dir, root);
        CHECK(run_cmd(cmd, out, sizeof out) == 0, "optimizer file unchanged");
        FILE *fw = fopen(path, "w");   /* restore */
        if (fw) fputs(before, fw), fclose(fw);
    }
    free(before);
}

/* A run without --freeze whose config.json has no "freeze" (written before the flag
   existed) resumes as nothing frozen, to the bytes of an uninterrupted run. */
static void test_freeze_resume_older_run(void) {
    char root[256], full[300], part[300], cmd[1024];
    make_temp_dir(root, sizeof root);
    snprintf(full, sizeof full, "%s/full", root);
    snprintf(part, sizeof part, "%s/part", root);
    CHECK(train(full, "--steps 20") == 0, "uninterrupted: %s", out);
    CHECK(train(part, "--steps 20 --stop-after 10") == 0, "first 10: %s", out);
    snprintf(cmd, sizeof cmd, "sed -i '/\"freeze\"/d' %s/config.json && ! grep -q freeze %s/config.json"
             " && ./train --resume --run-dir %s", part, part, part);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "resume exits 0, got %d: %s", rc, out);
    CHECK(same_file(full, part, "model.safetensors"), "same weights as uninterrupted");
    CHECK(same_file(full, part, "optimizer.safetensors"), "same optimizer state");
}

/* Bad lists: exit 2, one line naming --freeze and the item, no run directory. */
static void test_freeze_bad_lists(void) {
    char root[256], dir[300], cmd[1024], path[400];
    make_temp_dir(root, sizeof root);
    snprintf(dir, sizeof dir, "%s/run", root);
    const char *lists[] = {"q,x", "q,,k", "q,k,q", ",", "w9"};
    const char *why[] = {"--freeze: 'x' is not a tensor group", "--freeze: 'q,,k' has an empty item",
                         "--freeze: 'q' is named twice", "has an empty item", "'w9' is not a tensor group"};
    for (int i = 0; i < 5; i++) {
        snprintf(cmd, sizeof cmd, SMALL " --steps 5 --run-dir %s --freeze '%s'", dir, lists[i]);
        int rc = run_cmd(cmd, out, sizeof out);
        CHECK(rc == 2 && strstr(out, why[i]), "'%s': exit 2 with '%s', got %d: %s", lists[i], why[i], rc, out);
    }
    snprintf(cmd, sizeof cmd, "./train --dataset repeat --layers 2 --steps 5 --run-dir %s --freeze w2", dir);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 2 && strstr(out, "only with an MLP"), "w2 without an MLP: %d %s", rc, out);
    snprintf(cmd, sizeof cmd, SMALL " --steps 5 --run-dir %s --freeze embed,pos,q,k,v,w1,w2,head", dir);
    rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 2 && strstr(out, "leaves no tensor to train"), "everything frozen: %d %s", rc, out);
    snprintf(path, sizeof path, "%s/config.json", dir);
    CHECK(!file_exists(path), "no run directory was created");
}

SUITE(freeze_tests) = {
    {"freeze_parse", test_freeze_parse},
    {"freeze_ranges", test_freeze_ranges},
    {"freeze_optimizer_ranges", test_freeze_optimizer_ranges},
    {"freeze_train_keeps_initial_values", test_freeze_train_keeps_initial_values},
    {"freeze_resume", test_freeze_resume},
    {"freeze_resume_checks", test_freeze_resume_checks},
    {"freeze_resume_older_run", test_freeze_resume_older_run},
    {"freeze_bad_lists", test_freeze_bad_lists},
    END_SUITE,
};
