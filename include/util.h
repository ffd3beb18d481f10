/* Small checked wrappers and file helpers shared by every module. */
#ifndef UTIL_H
#define UTIL_H
#include <stddef.h>
#include <stdint.h>

/* Print "file:line: message" and exit(1). For programming errors and out-of-memory. */
#define FATAL(...) util_fatal(__FILE__, __LINE__, __VA_ARGS__)
void util_fatal(const char *file, int line, const char *fmt, ...);

void *xmalloc(size_t n);          /* malloc that never returns NULL */
void *xcalloc(size_t count, size_t size);
char *xstrdup(const char *s);     /* a malloc'd copy of s (strdup is not C11) */

/* Read a whole file into a malloc'd buffer (a NUL is appended, not counted in *len).
   Returns NULL and writes "path: reason" into err on failure. */
uint8_t *read_whole_file(const char *path, size_t *len, char *err, size_t errlen);

/* Write a file atomically: data goes to "path.tmp", is flushed, then renamed over path,
   so a reader never sees a half-written file. Returns 0, or -1 with "path: reason" in err. */
int write_file_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen);

double now_seconds(void);        /* monotonic clock */
/* "42s", "3m07s" or "1h05m", for progress lines and ETAs. */
void format_duration(char *out, size_t len, double seconds);
int file_exists(const char *path);
/* The thread count to use: requested if > 0, else the number of online cores (at least 1). */
int threads_or_cores(int requested);
/* <a, b> of double vectors with four partial sums: a fixed summation order (reproducible)
   that is not bound by the latency of one add chain (about 4x faster). */
double dot_f64(const double *a, const double *b, int d);
#endif
