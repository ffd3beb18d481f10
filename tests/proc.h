/* Running ./train from tests: command output capture and file comparisons. */
#ifndef PROC_H
#define PROC_H
#include <stddef.h>

/* cmd with ./train, ./simulate and build/parity, where one starts the command or follows
   "&& ", taken from the directory in the environment variable TEST_BIN_DIR when it is set
   (make test-sanitize: the sanitized builds). */
void resolve_cmd(const char *cmd, char *full, size_t len);
/* 1 if the program ("./simulate") that resolve_cmd picks exists. */
int program_built(const char *program);
/* Runs a shell command (through resolve_cmd), captures stdout+stderr into out (truncated),
   returns the exit code. */
int run_cmd(const char *cmd, char *out, size_t outlen);
/* Starts a shell command (through resolve_cmd) in the background, its output discarded;
   returns its process id (to waitpid). */
int start_background(const char *cmd);
/* Runs cmd (through sh and resolve_cmd) with a file size limit of `bytes` and SIGXFSZ
   ignored: a write past the limit fails with EFBIG, as on a full disk. Its output goes to
   the file log. Returns the exit status. */
int run_with_file_limit(const char *cmd, long bytes, const char *log);
/* A fresh directory under /tmp; the path is written into dir. */
void make_temp_dir(char *dir, size_t len);
/* 1 if both files exist and have identical bytes. */
int files_equal(const char *a, const char *b);
/* Reads a whole text file (malloc'd) or NULL. */
char *slurp(const char *path);
/* Value of a numeric "key" of a JSON object text (json.c reads it), or NAN. */
double json_number(const char *json, const char *key);
/* Runs argv (argv[0] a path, no shell: arguments reach the program as they are) in
   directory cwd (NULL: this one); stdout+stderr into out; returns the exit code. */
int run_argv(const char *cwd, char *const argv[], char *out, size_t outlen);
/* name (e.g. "train") as an absolute path in the directory the tests run in. */
void repo_path(char *dst, size_t len, const char *name);
#endif
