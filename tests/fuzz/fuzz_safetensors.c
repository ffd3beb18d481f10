/* libFuzzer harness: st_read (the safetensors reader and its JSON header parser) on any
   bytes, then every accessor on what it accepted. Checked: no crash, no leak, no UB, and
   every accepted tensor lies inside the file and can be read. */
#include "fuzz_input.h"

#include <string.h>

#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    MemFile m = memfile_open(data, size);
    StFile f;
    char err[512];
    if (st_read(&f, m.path, err, sizeof err) == 0) {
        for (int i = 0; i < f.count; i++) {
            const struct StEntry *e = &f.entries[i];
            if (e->begin > e->end || e->end > f.size || (e->end - e->begin) % 4) abort();
            if (st_find(&f, e->name) == NULL) abort();
            size_t n = (e->end - e->begin) / 4;
            float *dst = malloc((n ? n : 1) * sizeof *dst);
            if (st_get(&f, e->name, dst, n) != 0) abort();
            free(dst);
        }
        for (int i = 0; i < f.meta_count; i++)
            if (st_meta(&f, f.meta[i].key) == NULL) abort();
        st_free(&f);
    }
    memfile_close(&m);
    return 0;
}
