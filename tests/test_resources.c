/* What a run needs from the machine: the memory estimate that refuses sizes which
   cannot fit before anything big is allocated, and the BLAS record and generic-kernel warning. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blasinfo.h"
#include "check.h"
#include "memest.h"
#include "model.h"
#include "proc.h"

static char out[1 << 16];

#define TINY "./train --dataset majority --d 8 --layers 2 --steps 3 --train-size 200 --test-size 50 " \
             "--batch 16 --threads 1 --probe-size 8"

/* The parameter part equals what model_build allocates, for every shard's gradients too. */
static void test_memest_matches_model(void) {
    ModelShape s = {.d = 12, .L = 3, .H = 2, .n = 5, .in_dim = 7, .tokens_input = 1, .C = 4, .M = 6,
                    .beta = 1, .alpha = 1};
    Model m;
    model_build(&m, s, 9, 3);
    Dataset tr = {.kind = DATA_SEQUENCES, .count = 100, .seq_len = 5}, te = tr;
    te.count = 10;
    MemEstimate e;
    memest_compute(&e, &s, 9, 3, 2, &tr, &te);
    CHECK(e.params == 4 * m.num_params, "params %llu bytes, model has %zu floats",
          (unsigned long long)e.params, m.num_params);
    CHECK(e.grads == 3 * e.params && e.optimizer == 2 * e.params, "grads %llu, optimizer %llu",
          (unsigned long long)e.grads, (unsigned long long)e.optimizer);
    CHECK(e.data == 110 * (5 * 4 + 4), "data %llu", (unsigned long long)e.data);
    /* x alone: (L+1) * B*n * d floats */
    CHECK(e.activations > 4ull * 4 * 45 * 12, "activations %llu", (unsigned long long)e.activations);
    CHECK(e.total == e.params + e.grads + e.optimizer + e.activations + e.batch + e.data, "total");
    char err[512] = "";
    CHECK(memest_check(&e, e.total, err, sizeof err) == 0, "fits exactly: %s", err);
    CHECK(memest_check(&e, 0, err, sizeof err) == 0, "unknown limit: %s", err);
    CHECK(memest_check(&e, e.total - 1, err, sizeof err) == -1, "one byte short must be refused");
    CHECK(strstr(err, "parameters") && strstr(err, "this machine has"), "%s", err);
    model_free(&m);
}

/* Sizes whose product does not fit in 64 bits saturate instead of wrapping to a small number. */
static void test_memest_overflow(void) {
    ModelShape s = {.d = 65536, .L = 100000, .H = 65536, .n = 4096, .in_dim = 65536,
                    .tokens_input = 1, .C = 10, .M = 1000000};
    Dataset tr = {.kind = DATA_SEQUENCES, .count = 100, .seq_len = 4096}, te = tr;
    MemEstimate e;
    memest_compute(&e, &s, 1000000, 64, 2, &tr, &te);
    CHECK(e.activations == MEMEST_OVERFLOW && e.total == MEMEST_OVERFLOW, "total %llu",
          (unsigned long long)e.total);
    char err[512] = "";
    CHECK(memest_check(&e, 0, err, sizeof err) == -1, "an overflow is refused even with no limit");
    CHECK(strstr(err, "overflow") && strstr(err, "address"), "%s", err);
}

/* Defect: ./train --d 65536 failed only at allocation. Under a 3 GB address-space limit
   any attempt to allocate the model would die with "out of memory" (exit 1) instead. */
static void test_train_refuses_huge_model(void) {
    int rc = run_cmd("ulimit -v 3000000; " TINY " --d 65536 --run-dir /tmp/train-test-never-created",
                     out, sizeof out);
    CHECK(rc == 2, "--d 65536 exits 2, got %d: %s", rc, out);
    CHECK(strstr(out, "needs about") && strstr(out, "parameters 98312 MB"), "estimate: %s", out);
    CHECK(!strstr(out, "out of memory"), "refused before allocating: %s", out);
    rc = run_cmd(TINY " --train-size 100000000 --seq-len 4096 --run-dir /tmp/train-test-never-created",
                 out, sizeof out);
    CHECK(rc == 2 && strstr(out, "--train-size"), "huge synthetic data exits 2, got %d: %s", rc, out);
    CHECK(run_cmd("test -e /tmp/train-test-never-created", out, sizeof out) != 0, "no run directory");
}

static int has(const char *json, const char *needle) { return json && strstr(json, needle); }

/* config.json and summary.json say which BLAS ran and how; config.json has the estimate. */
static void test_blas_in_run_files(void) {
    char dir[256], cmd[1024], path[300], core[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(cmd, sizeof cmd, TINY " --run-dir %s/r", dir);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "tiny run: %d %s", rc, out);
    snprintf(core, sizeof core, "\"blas_core\": \"%s\"", openblas_get_corename());
    const char *files[] = {"config.json", "summary.json"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/r/%s", dir, files[i]);
        char *json = slurp(path);
        CHECK(has(json, "\"blas_library\": \"OpenBLAS\"") && has(json, "\"blas_version\": \"0."),
              "%s: library and version", files[i]);
        CHECK(has(json, "\"blas_config\": \"OpenBLAS ") && has(json, core), "%s: config, %s", files[i], core);
        CHECK(has(json, "\"blas_parallel\": \"") && json_number(json, "blas_threads") == 1,
              "%s: parallel and threads", files[i]);
        if (i == 0) {
            double mb = json_number(json, "memory_estimate_mb");
            CHECK(mb > 0.01 && mb < 100, "memory_estimate_mb %g", mb);
        }
        free(json);
    }
}

/* The warning decision alone: generic core x CPU flags. */
static void test_blas_warning_logic(void) {
    char msg[512];
    struct { const char *core; int avx2, avx512, warn; const char *fix; } cases[] = {
        {"Prescott", 1, 1, 1, "OPENBLAS_CORETYPE=SkylakeX"},
        {"Prescott", 1, 0, 1, "OPENBLAS_CORETYPE=Haswell"},
        {"Core2", 1, 0, 1, "Haswell"}, {"Nehalem", 1, 1, 1, "SkylakeX"},
        {"generic", 1, 0, 1, "Haswell"}, {"GENERIC", 1, 0, 1, "Haswell"},
        {"Sandybridge", 1, 0, 1, "Haswell"}, {"", 1, 0, 1, "unknown"}, {NULL, 0, 1, 1, "SkylakeX"},
        {"Prescott", 0, 0, 0, NULL},   /* an old CPU: the generic kernel is the right one */
        {"Haswell", 1, 0, 0, NULL}, {"Haswell", 1, 1, 0, NULL}, {"SkylakeX", 1, 1, 0, NULL},
        {"Zen", 1, 0, 0, NULL}, {"CooperLake", 1, 1, 0, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        msg[0] = '\0';
        int w = blasinfo_warning(cases[i].core, cases[i].avx2, cases[i].avx512, msg, sizeof msg);
        CHECK(w == cases[i].warn, "core %s avx2 %d avx512 %d: warn %d", cases[i].core ? cases[i].core : "NULL",
              cases[i].avx2, cases[i].avx512, w);
        CHECK(w ? strstr(msg, cases[i].fix) != NULL : msg[0] == '\0', "message: %s", msg);
    }
}

/* End to end: with OPENBLAS_CORETYPE=Prescott forced, ./train warns once on an AVX2 CPU. */
static void test_blas_warning_cli(void) {
    char dir[256], cmd[1024];
    make_temp_dir(dir, sizeof dir);
    snprintf(cmd, sizeof cmd, "OPENBLAS_CORETYPE=Prescott " TINY " --run-dir %s/a", dir);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "run: %d %s", rc, out);
    const char *w = strstr(out, "OpenBLAS runs its 'Prescott' kernel");
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        CHECK(w && strstr(out, "export OPENBLAS_CORETYPE="), "warning expected: %s", out);
        CHECK(!w || !strstr(w + 1, "OpenBLAS runs its"), "warned more than once: %s", out);
    } else {
        CHECK(!w, "no AVX2: no warning expected: %s", out);
    }
    if (!blasinfo_generic_core(openblas_get_corename())) {   /* this process: OpenBLAS's own choice */
        snprintf(cmd, sizeof cmd, TINY " --run-dir %s/b", dir);
        run_cmd(cmd, out, sizeof out);
        CHECK(!strstr(out, "OpenBLAS runs its"), "no warning with a fitting core: %s", out);
    }
}

SUITE(resources_tests) = {
    {"resources_memest_matches_model", test_memest_matches_model},
    {"resources_memest_overflow", test_memest_overflow},
    {"resources_train_refuses_huge_model", test_train_refuses_huge_model},
    {"resources_blas_in_run_files", test_blas_in_run_files},
    {"resources_blas_warning_logic", test_blas_warning_logic},
    {"resources_blas_warning_cli", test_blas_warning_cli},
    END_SUITE,
};
