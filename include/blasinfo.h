/* Which BLAS a run uses (library, version, core type, threading), for config.json and
   summary.json, and the warning when OpenBLAS falls back to a generic kernel: on virtual
   machines that hide the CPU model it can pick e.g. "Prescott" on an AVX-512 CPU, which
   made the default model train 3.5x slower. */
#ifndef BLASINFO_H
#define BLASINFO_H
#include <stddef.h>
#include <stdio.h>

/* "blas_library", "blas_version", "blas_config", "blas_core", "blas_parallel" and
   "blas_threads" lines (each ending ",\n") from the running OpenBLAS. */
void blasinfo_write_json(FILE *out);

/* 1 if OpenBLAS's core type `corename` has no AVX2 kernels (generic or pre-Haswell). */
int blasinfo_generic_core(const char *corename);

/* Pure: 1 and a one-line warning with the fix in msg if a generic core runs on a CPU with
   AVX2 (has_avx2) or AVX-512 (has_avx512); else 0 and msg is left alone. */
int blasinfo_warning(const char *corename, int has_avx2, int has_avx512, char *msg, size_t len);

/* Writes "prog: warning..." to out if this process's OpenBLAS core and CPU call for it. */
void blasinfo_warn_generic(FILE *out, const char *prog);
#endif
