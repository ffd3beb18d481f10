/* The run directory: creating it without clobbering, CSV logs, atomic JSON files. */
#ifndef RUNDIR_H
#define RUNDIR_H
#include <stddef.h>
#include <stdio.h>

/* The run directory: run_dir if given (non-empty), else runs/NAME, else
   runs/<prefix>-<YYYYmmdd-HHMMSS>. */
void rundir_resolve(char *out, size_t len, const char *run_dir, const char *name,
                    const char *prefix);
/* resume: dir must hold a config.json. Otherwise dir must not exist, unless force.
   can_resume: whether the error may suggest --resume. Returns 0, or -1 with a reason in
   err. Creates nothing. */
int rundir_check(const char *dir, int resume, int force, int can_resume, char *err,
                 size_t errlen);
/* The lock file in a run directory: one process at a time works in a run directory. */
#define RUNDIR_LOCK "run.lock"
/* Takes the lock of dir (flock on dir/run.lock, created if need be) and returns its file
   descriptor, to keep open for the life of the process (the lock goes with it). -1 with
   "DIR is in use by another process ..." in err if another process holds it. */
int rundir_lock(const char *dir, char *err, size_t errlen);
/* Claims dir: creates it (with parents), and without force it must not have existed (mkdir
   is the one atomic test: of two processes only one creates it); takes its lock (*lock_fd,
   see rundir_lock); checks again under the lock that, without force, it holds no run's
   config.json; with force, removes the files of an earlier run in it. Returns 0,
   RUNDIR_EXISTS (dir was there or holds a run: a usage error) or -1, the reason in err. */
#define RUNDIR_EXISTS (-2)
int rundir_create(const char *dir, int force, int *lock_fd, char *err, size_t errlen);

/* Opens dir/name for appending; writes the header if the file is new or empty. A log of
   an older build whose header is a prefix of this one (columns added at the end) is first
   rewritten with this header, its rows getting empty fields; another header is refused. */
FILE *rundir_open_csv(const char *dir, const char *name, const char *header, char *err, size_t errlen);
/* Flushes rows written to the CSV dir/name; -1 with "dir/name: write failed: reason" in err
   if this or an earlier write to f failed (disk full, file size limit, I/O error). */
int rundir_flush_csv(FILE *f, const char *dir, const char *name, char *err, size_t errlen);
/* Flushes and closes f; -1 with the reason in err if either fails. f is closed either way. */
int rundir_close_csv(FILE *f, const char *dir, const char *name, char *err, size_t errlen);

/* Keeps the header and the rows whose first field (the step) is <= step, so that a resumed
   run does not repeat rows logged after its last checkpoint. Atomic. Missing file: no-op. */
int rundir_truncate_csv(const char *dir, const char *name, long step, char *err, size_t errlen);

/* A text built in memory and written atomically as dir/name. */
typedef struct { char *buf; size_t len; FILE *f; } TextFile;
FILE *text_begin(TextFile *t);
int text_commit(TextFile *t, const char *dir, const char *name, char *err, size_t errlen);
#endif
