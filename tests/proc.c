#define _POSIX_C_SOURCE 200809L
#include "proc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json.h"
#include "util.h"

/* The programs the tests run; TEST_BIN_DIR replaces their directory where one starts the
   command or follows "&& ". */
static const char *const programs[] = {"./train", "./simulate", "build/parity"};

/* Length of the program at cmd (followed by a space or the end), 0 if none; its name in *base. */
static size_t program_at(const char *cmd, const char **base) {
    for (size_t i = 0; i < sizeof programs / sizeof *programs; i++) {
        size_t n = strlen(programs[i]);
        if (strncmp(cmd, programs[i], n) == 0 && (cmd[n] == ' ' || cmd[n] == '\0')) {
            *base = strrchr(programs[i], '/') + 1;
            return n;
        }
    }
    return 0;
}

void resolve_cmd(const char *cmd, char *full, size_t len) {
    const char *dir = getenv("TEST_BIN_DIR");
    size_t k = 0;
    full[0] = '\0';
    for (const char *p = cmd; *p && k + 1 < len;) {
        const char *base;
        int starts = p == cmd || (p - cmd >= 3 && strncmp(p - 3, "&& ", 3) == 0);
        size_t n = dir && *dir && starts ? program_at(p, &base) : 0;
        if (n) {
            int w = snprintf(full + k, len - k, "%s/%s", dir, base);
            k = w < 0 ? k : k + (size_t)w < len ? k + (size_t)w : len - 1;
            p += n;
        } else {
            full[k++] = *p++;
            full[k] = '\0';
        }
    }
}

int program_built(const char *program) {
    char path[4096];
    resolve_cmd(program, path, sizeof path);
    return file_exists(path);
}

int start_background(const char *cmd) {
    char resolved[8000], full[8192];
    resolve_cmd(cmd, resolved, sizeof resolved);
    snprintf(full, sizeof full, "exec %s >/dev/null 2>&1", resolved);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", full, (char *)NULL);
        _exit(127);
    }
    return pid;
}

int run_with_file_limit(const char *cmd, long bytes, const char *log) {
    char resolved[8000], full[8192];
    resolve_cmd(cmd, resolved, sizeof resolved);
    snprintf(full, sizeof full, "exec %s >%s 2>&1", resolved, log);
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit rl = {(rlim_t)bytes, (rlim_t)bytes};
        signal(SIGXFSZ, SIG_IGN);
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(126);
        execl("/bin/sh", "sh", "-c", full, (char *)NULL);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int run_cmd(const char *cmd, char *out, size_t outlen) {
    char resolved[8000], full[8192];
    resolve_cmd(cmd, resolved, sizeof resolved);
    snprintf(full, sizeof full, "%s 2>&1", resolved);
    FILE *p = popen(full, "r");
    if (!p) return -1;
    size_t n = 0;
    char buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, p)) > 0) {
        size_t take = n + got < outlen ? got : (outlen > n + 1 ? outlen - n - 1 : 0);
        memcpy(out + n, buf, take);
        n += take;
    }
    out[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Temp dirs made by the tests, removed when the test binary exits. */
static char made[64][256];
static int n_made;

static void remove_made_dirs(void) {
    char cmd[300];
    for (int i = 0; i < n_made; i++) {
        snprintf(cmd, sizeof cmd, "rm -rf '%.255s'", made[i]);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", made[i]);
    }
}

void make_temp_dir(char *dir, size_t len) {
    snprintf(dir, len < 256 ? len : 256, "/tmp/train-test-XXXXXX");
    if (!mkdtemp(dir)) FATAL("mkdtemp failed");
    if (n_made == 0) atexit(remove_made_dirs);
    if (n_made < 64) snprintf(made[n_made++], sizeof made[0], "%s", dir);
}

char *slurp(const char *path) {
    size_t len;
    char err[512];
    return (char *)read_whole_file(path, &len, err, sizeof err);
}

int files_equal(const char *a, const char *b) {
    size_t la, lb;
    char err[512];
    unsigned char *x = read_whole_file(a, &la, err, sizeof err);
    unsigned char *y = read_whole_file(b, &lb, err, sizeof err);
    int eq = x && y && la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return eq;
}

double json_number(const char *json, const char *key) {
    char v[64];
    return json && json_text_value(json, key, v, sizeof v) == 0 ? strtod(v, NULL) : NAN;
}

int run_argv(const char *cwd, char *const argv[], char *out, size_t outlen) {
    int fd[2];
    if (pipe(fd) != 0) return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(fd[1], 1);
        dup2(fd[1], 2);
        close(fd[0]);
        close(fd[1]);
        if (cwd && chdir(cwd) != 0) _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fd[1]);
    size_t n = 0;
    char buf[4096];
    ssize_t got;
    while ((got = read(fd[0], buf, sizeof buf)) > 0) {
        size_t take = n + (size_t)got < outlen ? (size_t)got : (outlen > n + 1 ? outlen - n - 1 : 0);
        memcpy(out + n, buf, take);
        n += take;
    }
    close(fd[0]);
    out[n] = '\0';
    int status;
    if (waitpid(pid, &status, 0) < 0) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void repo_path(char *dst, size_t len, const char *name) {
    char cwd[1024];
    if (!getcwd(cwd, sizeof cwd)) FATAL("getcwd failed");
    snprintf(dst, len, "%s/%s", cwd, name);
}
