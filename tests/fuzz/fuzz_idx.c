/* libFuzzer harness: the IDX reader with its gzip/inflate front end (data_load_idx_pair) on
   any pair of files. Input: 2 bytes (little-endian) for the length of the images file
   (modulo what is there), the images file, then the labels file. Checked: no crash, no
   leak, no UB, and an accepted pair is a consistent dataset. */
#include "fuzz_input.h"

#include <string.h>

#include "data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    size_t rest = size - 2, n_images = ((size_t)data[0] | (size_t)data[1] << 8) % (rest + 1);
    MemFile images = memfile_open(data + 2, n_images);
    MemFile labels = memfile_open(data + 2 + n_images, rest - n_images);
    Dataset ds;
    char err[512];
    if (data_load_idx_pair(&ds, images.path, labels.path, err, sizeof err) == 0) {
        if (ds.count <= 0 || ds.height <= 0 || ds.width <= 0 || ds.num_classes < 1 ||
            ds.num_classes > 256)
            abort();
        for (int i = 0; i < ds.count; i++)
            if (ds.labels[i] < 0 || ds.labels[i] >= ds.num_classes) abort();
        data_free(&ds);
    } else if (strchr(err, '\n')) {
        abort();
    }
    memfile_close(&images);
    memfile_close(&labels);
    return 0;
}
