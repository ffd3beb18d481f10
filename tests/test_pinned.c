/* The trained weights of two short reference runs, pinned by per-tensor hashes (FNV-1a 64
   of the float bytes in model.safetensors), so that a change that should keep every number
   (a restructuring of src/, a speed-up that claims the same summation order) is
   checked bit for bit: one Fashion-MNIST run at 2 threads, one synthetic task with an MLP
   and 2 heads at 1 thread. Floating-point results depend on OpenBLAS's kernels, so the
   hashes hold for the core they were computed under. The runs force that core through
   OPENBLAS_CORETYPE, so the test runs on every CPU that can execute it (AVX2 + FMA: Intel
   since Haswell, AMD Zen, whose own OpenBLAS core gave byte-identical weights here); on
   older CPUs it is skipped and says so. To re-pin after a change that is meant to change the numbers (say why in the
   commit), run `PIN_PRINT=1 build/run_tests pinned` and paste its rows. */
#include <cblas.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "proc.h"
#include "safetensors.h"

char *openblas_get_corename(void);

/* re-pinned when attention's small per-head products moved from cblas_sgemm to smallmm
   (their summation order changed, see smallmm.h); the pins before that held
   from the hardening merges (byte-identical to the build of commit 511ae99) through the
   restructuring of src/ into folders by role */
#define PINNED_CORE "Haswell"

typedef struct { const char *tensor; uint64_t hash; } Pin;

static const char *const FM_FLAGS =
    "--dataset fashion-mnist --layers 4 --steps 20 --eval-every 20 --cluster-every 10 --threads 2";
static const Pin FM_PINS[] = {
#include "pinned_fm.inc"
};

static const char *const SYN_FLAGS =
    "--dataset repeat --seq-len 8 --vocab 8 --train-size 512 --test-size 64 --d 16 --heads 2 "
    "--mlp 32 --layers 3 --steps 20 --batch 32 --eval-every 20 --cluster-every 10 --threads 1";
static const Pin SYN_PINS[] = {
#include "pinned_syn.inc"
};

static uint64_t fnv1a(const uint8_t *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static void check_run(const char *flags, const Pin *pins, size_t npins) {
    static char out[1 << 14];
    char dir[256], cmd[1024], path[512], err[512];
    make_temp_dir(dir, sizeof dir);
    snprintf(cmd, sizeof cmd, "OPENBLAS_CORETYPE=%s ./train %s --run-dir %s/run 2>&1", PINNED_CORE, flags, dir);
    int rc = run_cmd(cmd, out, sizeof out);
    CHECK(rc == 0, "%s: exit %d: %s", cmd, rc, out);
    snprintf(path, sizeof path, "%s/run/model.safetensors", dir);
    StFile f;
    if (st_read(&f, path, err, sizeof err) != 0) {
        CHECK(0, "%s", err);
        return;
    }
    int print = getenv("PIN_PRINT") != NULL;
    CHECK((size_t)f.count == npins || print, "%d tensors, %zu pinned", f.count, npins);
    for (int i = 0; i < f.count; i++) {
        const struct StEntry *e = &f.entries[i];   /* begin, end: offsets into f.file */
        uint64_t h = fnv1a(f.file + e->begin, e->end - e->begin);
        if (print) printf("    {\"%s\", 0x%016llxull},\n", e->name, (unsigned long long)h);
        const Pin *p = NULL;
        for (size_t j = 0; j < npins; j++)
            if (!strcmp(pins[j].tensor, e->name)) p = &pins[j];
        CHECK(print || (p && p->hash == h), "%s: tensor %s hash %016llx, pinned %016llx", flags, e->name,
              (unsigned long long)h, p ? (unsigned long long)p->hash : 0ull);
    }
    st_free(&f);
}

/* OPENBLAS_CORETYPE=Haswell needs AVX2 and FMA; without them OpenBLAS would fall back. */
static int pinned_core_here(void) {
    __builtin_cpu_init();
    if (getenv("PIN_PRINT")) printf("    (OpenBLAS core %s here, runs forced to %s)\n", openblas_get_corename(), PINNED_CORE);
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static void test_pinned_fashion_mnist_2_threads(void) {
    if (!pinned_core_here())
        SKIP("hashes pinned under OpenBLAS core %s, which needs AVX2 + FMA; this CPU lacks them", PINNED_CORE);
    check_run(FM_FLAGS, FM_PINS, sizeof FM_PINS / sizeof *FM_PINS);
}

static void test_pinned_synthetic_mlp_2_heads(void) {
    if (!pinned_core_here())
        SKIP("hashes pinned under OpenBLAS core %s, which needs AVX2 + FMA; this CPU lacks them", PINNED_CORE);
    check_run(SYN_FLAGS, SYN_PINS, sizeof SYN_PINS / sizeof *SYN_PINS);
}

SUITE(pinned_tests) = {
    {"pinned_fashion_mnist_2_threads", test_pinned_fashion_mnist_2_threads},
    {"pinned_synthetic_mlp_2_heads", test_pinned_synthetic_mlp_2_heads},
    END_SUITE
};
