/* Run directory helpers. */
#define _DEFAULT_SOURCE   /* flock */
#include "rundir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* Creates the parent folders of dir (not dir itself; "a/b/" has the parent "a"). */
static int mkdir_parents(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s", dir);
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') path[--n] = '\0';
    char *last = strrchr(path, '/');
    if (!last || last == path) return 0;
    *last = '\0';
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p) continue;
        char c = *p;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) return -1;
        if (!c) return 0;
        *p = '/';
    }
}

void rundir_resolve(char *out, size_t len, const char *run_dir, const char *name,
                    const char *prefix) {
    if (run_dir && *run_dir) {
        snprintf(out, len, "%s", run_dir);
    } else if (name && *name) {
        snprintf(out, len, "runs/%s", name);
    } else {
        char stamp[32];
        time_t now = time(NULL);
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&now));
        snprintf(out, len, "runs/%s-%s", prefix, stamp);
    }
}

int rundir_check(const char *dir, int resume, int force, int can_resume, char *err,
                 size_t errlen) {
    char cfg[4200];
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    if (resume && !file_exists(cfg)) {
        snprintf(err, errlen, "%s: nothing to resume (no config.json there)", dir);
        return -1;
    }
    if (!resume && !force && file_exists(dir)) {
        snprintf(err, errlen, "%s already exists: use %s--force to start over in it, or "
                 "another --name", dir, can_resume ? "--resume to continue it, " : "");
        return -1;
    }
    return 0;
}

int rundir_lock(const char *dir, char *err, size_t errlen) {
    char path[4200];
    snprintf(path, sizeof path, "%s/" RUNDIR_LOCK, dir);
    /* close-on-exec: a child such as gnuplot must not keep the lock after we end */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        if (e == EWOULDBLOCK)
            snprintf(err, errlen, "%s is in use by another process (it holds %s); wait for it "
                     "to end or use another run directory", dir, path);
        else
            snprintf(err, errlen, "%s: cannot lock: %s", path, strerror(e));
        close(fd);
        return -1;
    }
    return fd;
}

/* The claim of a fresh run directory: mkdir succeeds for exactly one process, so of two
   started at once (or one started while another was still loading its data) only one gets
   it; the other's earlier rundir_check saw no directory, and this is where it learns. */
static int claim_dir(const char *dir, int force, char *err, size_t errlen) {
    int made = mkdir_parents(dir) == 0 && mkdir(dir, 0755) == 0;
    if (!made && errno != EEXIST) {
        snprintf(err, errlen, "%s: cannot create: %s", dir, strerror(errno));
        return -1;
    }
    if (!made && !force) {
        snprintf(err, errlen, "%s already exists (another process created it after this one "
                 "started): use --force to start over in it, or another --name", dir);
        return RUNDIR_EXISTS;
    }
    return 0;
}

int rundir_create(const char *dir, int force, int *lock_fd, char *err, size_t errlen) {
    char cfg[4200];
    int rc = claim_dir(dir, force, err, errlen);
    if (rc != 0) return rc;
    /* locked before anything is removed: --force must not delete a running run's files */
    if ((*lock_fd = rundir_lock(dir, err, errlen)) < 0) return -1;
    /* checked again under the lock: a run that claimed the directory first has written
       config.json before it let go of the lock */
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    if (!force && file_exists(cfg)) {
        snprintf(err, errlen, "%s already holds a run (config.json): use --force to start "
                 "over in it, or another --name", dir);
        close(*lock_fd);
        return RUNDIR_EXISTS;
    }
    if (force) {   /* a fresh start must not leave the old run's logs or weights behind */
        const char *old[] = {"train.csv", "eval.csv", "clusters.csv", "model.safetensors",
                             "optimizer.safetensors", "optimizer.safetensors.new", "summary.json"};
        for (size_t i = 0; i < sizeof old / sizeof *old; i++) {
            snprintf(cfg, sizeof cfg, "%s/%s", dir, old[i]);
            remove(cfg);
        }
    }
    return 0;
}

/* A log written by an older build has fewer columns, and a resumed run continues it with
   this build's header. Columns are only ever added at the end: then the file is rewritten
   (atomically) with the new header and the old rows get empty fields for the new columns,
   so every row has as many fields as the header. Any other difference is refused. */
static int upgrade_csv_header(const char *dir, const char *name, const char *header, char *err,
                              size_t errlen) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t len;
    char *text = (char *)read_whole_file(path, &len, err, errlen);
    if (!text) return access(path, F_OK) == 0 ? -1 : 0;   /* missing: a fresh log */
    size_t old_len = strcspn(text, "\n"), new_len = strlen(header);
    int rc = 0;
    if (len == 0 || (old_len == new_len && !strncmp(text, header, old_len))) {
        free(text);
        return 0;
    }
    if (old_len >= new_len || strncmp(text, header, old_len) || header[old_len] != ',') {
        snprintf(err, errlen, "%s: its columns (%.*s) are not this build's (%s): it cannot be continued "
                 "by this build", path, (int)old_len, text, header);
        free(text);
        return -1;
    }
    int added = 0;   /* the new columns: the commas after the old header */
    for (const char *c = header + old_len; *c; c++) added += *c == ',';
    TextFile tf;
    FILE *f = text_begin(&tf);
    fprintf(f, "%s\n", header);
    for (char *row = text + old_len + (text[old_len] == '\n'); *row;) {
        size_t n = strcspn(row, "\n");
        fprintf(f, "%.*s", (int)n, row);
        for (int i = 0; i < added; i++) fputc(',', f);
        fputc('\n', f);
        row += n + (row[n] == '\n');
    }
    rc = text_commit(&tf, dir, name, err, errlen);
    free(text);
    return rc;
}

FILE *rundir_open_csv(const char *dir, const char *name, const char *header, char *err, size_t errlen) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (upgrade_csv_header(dir, name, header, err, errlen) != 0) return NULL;
    FILE *f = fopen(path, "a");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    if (ftell(f) == 0) fprintf(f, "%s\n", header);
    if (rundir_flush_csv(f, dir, name, err, errlen) != 0) {
        fclose(f);
        return NULL;
    }
    return f;
}

int rundir_flush_csv(FILE *f, const char *dir, const char *name, char *err, size_t errlen) {
    errno = 0;
    if (fflush(f) == 0 && !ferror(f)) return 0;
    snprintf(err, errlen, "%s/%s: write failed: %s", dir, name, errno ? strerror(errno) : "I/O error");
    return -1;
}

int rundir_close_csv(FILE *f, const char *dir, const char *name, char *err, size_t errlen) {
    int rc = rundir_flush_csv(f, dir, name, err, errlen);
    errno = 0;
    if (fclose(f) != 0 && rc == 0) {
        snprintf(err, errlen, "%s/%s: close failed: %s", dir, name, strerror(errno));
        rc = -1;
    }
    return rc;
}

int rundir_truncate_csv(const char *dir, const char *name, long step, char *err, size_t errlen) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!file_exists(path)) return 0;
    size_t len;
    char *text = (char *)read_whole_file(path, &len, err, errlen);
    if (!text) return -1;
    char *out = xmalloc(len + 1), *line = text;
    size_t n = 0;
    for (int first = 1; *line; first = 0) {
        char *nl = strchr(line, '\n');
        size_t l = nl ? (size_t)(nl - line + 1) : strlen(line);
        if (first || (nl && strtol(line, NULL, 10) <= step)) {   /* drop a torn last line */
            memcpy(out + n, line, l);
            n += l;
        }
        line += l;
    }
    int rc = write_file_atomic(path, out, n, err, errlen);
    free(text);
    free(out);
    return rc;
}

FILE *text_begin(TextFile *t) {
    t->buf = NULL;
    t->len = 0;
    t->f = open_memstream(&t->buf, &t->len);
    if (!t->f) FATAL("open_memstream failed");
    return t->f;
}

int text_commit(TextFile *t, const char *dir, const char *name, char *err, size_t errlen) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    fclose(t->f);
    int rc = write_file_atomic(path, t->buf, t->len, err, errlen);
    free(t->buf);
    return rc;
}
