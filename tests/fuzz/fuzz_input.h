/* Helpers shared by the libFuzzer harnesses: the readers under test take a path, so the
   input is handed to them as an in-memory file (memfd) named /proc/self/fd/N. */
#ifndef FUZZ_INPUT_H
#define FUZZ_INPUT_H
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct { int fd; char path[64]; } MemFile;

/* A memfd holding data[0..n); aborts if one cannot be made (not the code under test). */
static inline MemFile memfile_open(const uint8_t *data, size_t n) {
    MemFile m;
    m.fd = memfd_create("fuzz", 0);
    if (m.fd < 0 || (n && write(m.fd, data, n) != (ssize_t)n)) abort();
    snprintf(m.path, sizeof m.path, "/proc/self/fd/%d", m.fd);
    return m;
}

static inline void memfile_close(MemFile *m) { close(m->fd); }

/* A NUL-terminated, malloc'd copy of the input, for readers of text. */
static inline char *text_copy(const uint8_t *data, size_t n) {
    char *s = malloc(n + 1);
    if (!s) abort();
    for (size_t i = 0; i < n; i++) s[i] = (char)data[i];
    s[n] = '\0';
    return s;
}
#endif
