/* Minimal safetensors (F32 only) writer and reader.
   File: u64 little-endian header size N, N bytes of JSON header, then raw tensor bytes.
   Header: {"__metadata__": {"k": "v", ...}, "name": {"dtype": "F32", "shape": [..],
   "data_offsets": [begin, end]}, ...}; offsets relative to the end of the header. */
#ifndef SAFETENSORS_H
#define SAFETENSORS_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *name;
    const float *data;
    int ndim;               /* 1 or 2 */
    int64_t shape[2];
} StTensor;

typedef struct { const char *key, *value; } StMeta;

/* Atomic write (temp + rename). Returns 0, or -1 with "path: reason" in err. */
int st_write(const char *path, const StTensor *tensors, int count,
             const StMeta *meta, int meta_count, char *err, size_t errlen);

typedef struct {
    uint8_t *file;          /* whole file */
    size_t size;
    int count;
    struct StEntry { char name[96]; int ndim; int64_t shape[2]; size_t begin, end; } *entries;
    int meta_count;
    StMeta *meta;           /* strings owned by the StFile */
} StFile;

/* Parses and validates the whole file (sizes, offsets in range, F32 only).
   Returns 0, or -1 with "path: what is wrong" in err. */
int st_read(StFile *f, const char *path, char *err, size_t errlen);
/* Tensor by name: copies into dst if its element count equals n; returns 0 or -1. */
int st_get(const StFile *f, const char *name, float *dst, size_t n);
const struct StEntry *st_find(const StFile *f, const char *name);
const char *st_meta(const StFile *f, const char *key);   /* NULL if absent */
void st_free(StFile *f);
/* 0 if text is one valid JSON document (checked by the header's parser: the project's
   JSON reader), or -1 with where it is not in err. Used to check the JSON files written. */
int st_json_check(const char *text, size_t len, char *err, size_t errlen);
#endif
