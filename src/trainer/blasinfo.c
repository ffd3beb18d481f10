/* BLAS identification and the generic-kernel warning; see blasinfo.h. */
#include "blasinfo.h"

#include <cblas.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

/* OpenBLAS core names whose kernels use no AVX2 (DYNAMIC_ARCH names, driver/others/dynamic.c).
   Sandybridge and the Bulldozer family have AVX but not AVX2/FMA3 kernels. */
static const char *const GENERIC_CORES[] = {
    "generic", "unknown", "Katmai", "Coppermine", "Northwood", "Prescott", "Banias", "Core2",
    "Penryn", "Dunnington", "Nehalem", "Atom", "Athlon", "Opteron", "Opteron_SSE3", "Barcelona",
    "Bobcat", "Nano", "Sandybridge", "Bulldozer", "Piledriver", "Steamroller",
};

int blasinfo_generic_core(const char *corename) {
    if (!corename || !*corename) return 1;
    for (size_t i = 0; i < sizeof GENERIC_CORES / sizeof *GENERIC_CORES; i++)
        if (strcasecmp(corename, GENERIC_CORES[i]) == 0) return 1;
    return 0;
}

int blasinfo_warning(const char *corename, int has_avx2, int has_avx512, char *msg, size_t len) {
    if (!(has_avx2 || has_avx512) || !blasinfo_generic_core(corename)) return 0;
    snprintf(msg, len, "warning: OpenBLAS runs its '%s' kernel on a CPU with %s (a virtual machine "
             "that hides the CPU model?); training can be several times slower. Fix: export "
             "OPENBLAS_CORETYPE=%s", corename && *corename ? corename : "unknown",
             has_avx512 ? "AVX-512" : "AVX2", has_avx512 ? "SkylakeX" : "Haswell");
    return 1;
}

/* The CPU's vector extensions. The SkylakeX kernels need F, BW, DQ and VL of AVX-512. */
static void cpu_flags(int *avx2, int *avx512) {
    __builtin_cpu_init();
    *avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    *avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
              __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}

void blasinfo_warn_generic(FILE *out, const char *prog) {
    int avx2, avx512;
    char msg[512];
    cpu_flags(&avx2, &avx512);
    if (blasinfo_warning(openblas_get_corename(), avx2, avx512, msg, sizeof msg))
        fprintf(out, "%s: %s\n", prog, msg);
}

/* A JSON string value: quotes and backslashes escaped, control characters dropped. */
static void json_string(FILE *out, const char *key, const char *s) {
    fprintf(out, "  \"%s\": \"", key);
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', out);
        if ((unsigned char)*s >= 0x20) fputc(*s, out);
    }
    fputs("\",\n", out);
}

void blasinfo_write_json(FILE *out) {
    const char *config = openblas_get_config();   /* "OpenBLAS 0.3.21 DYNAMIC_ARCH ... Haswell ..." */
    char library[32] = "", version[32] = "";
    if (config) sscanf(config, "%31s %31s", library, version);
    if (!isdigit((unsigned char)version[0])) version[0] = '\0';
    static const char *const PARALLEL[] = {"sequential", "pthreads", "openmp"};
    int par = openblas_get_parallel();
    json_string(out, "blas_library", library);
    json_string(out, "blas_version", version);
    json_string(out, "blas_config", config);
    json_string(out, "blas_core", openblas_get_corename());
    json_string(out, "blas_parallel", par >= 0 && par <= 2 ? PARALLEL[par] : "unknown");
    fprintf(out, "  \"blas_threads\": %d,\n", openblas_get_num_threads());
}
