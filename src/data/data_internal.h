/* What the files of src/data/ share and nothing outside them uses: the error message
   helper, small string helpers, and the reader of optionally gzipped files. Beside the
   sources rather than in include/, so that the public interface stays data.h alone. */
#ifndef DATA_INTERNAL_H
#define DATA_INTERNAL_H
#include <stddef.h>
#include <stdint.h>

/* dataio.c */
/* Write a one-line message into err and return -1, so error paths are one statement. */
int data_fail(char *err, size_t errlen, const char *fmt, ...);
/* "a/b", malloc'd. */
char *data_path_join(const char *a, const char *b);
/* A malloc'd copy of n strings, each malloc'd (a Dataset's class_names). */
char **data_copy_names(const char *const *names, int n);

/* gzip.c */
/* Read a file, inflating it if it starts with the gzip magic 1f 8b. */
uint8_t *data_read_maybe_gz(const char *path, size_t *len, int *was_gz, char *err, size_t errlen);
#endif
