/* build/check_expf (make check-expf): expf_batch against the C library's expf on every one
   of the 2^32 floats, bit for bit (NaNs included). Prints the count of floats that differ
   and the first few; exits 1 if any. About 40 s of one core. */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "expf_batch.h"

enum { CHUNK = 1 << 16 };

int main(void) {
    printf("expf_batch %s; comparing all 2^32 floats with expf\n",
           expf_batch_vectorized() ? "vectorized (AVX2 + FMA)" : "scalar (no AVX2 + FMA here)");
    uint64_t differ = 0;
    int shown = 0;
#pragma omp parallel for schedule(dynamic) reduction(+ : differ)
    for (int64_t c = 0; c < ((int64_t)1 << 32) / CHUNK; c++) {
        float x[CHUNK], y[CHUNK];
        for (int i = 0; i < CHUNK; i++) {
            uint32_t b = (uint32_t)(c * CHUNK + i);
            memcpy(&x[i], &b, 4);
        }
        expf_batch(y, x, CHUNK);
        for (int i = 0; i < CHUNK; i++) {
            float want = expf(x[i]);
            if (memcmp(&want, &y[i], 4) != 0) {
                differ++;
#pragma omp critical
                if (shown < 10) {
                    shown++;
                    printf("  x %a: expf %a, expf_batch %a\n", x[i], want, y[i]);
                }
            }
        }
    }
    printf("%" PRIu64 " of 4294967296 floats differ\n", differ);
    return differ != 0;
}
