/* gnuplot as a child process: script on its stdin, working directory the run directory,
   its messages into a temporary file (read back when it fails). */
#define _POSIX_C_SOURCE 200809L
#include "plot.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

void plot_quote(char *out, size_t outlen, const char *text) {
    if (outlen < 3) {
        if (outlen) out[0] = '\0';
        return;
    }
    size_t n = 0;
    out[n++] = '\'';
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        size_t need = *p == '\'' ? 2 : 1;
        if (n + need + 2 > outlen) break;   /* room for the closing quote and the NUL */
        if (*p == '\'') out[n++] = '\'';
        out[n++] = *p < 0x20 || *p == 0x7f ? '?' : (char)*p;
    }
    out[n++] = '\'';
    out[n] = '\0';
}

/* The last non-empty line of gnuplot's messages (its error), trimmed, into line. */
static void last_line(FILE *log, char *line, size_t len) {
    char buf[1024];
    line[0] = '\0';
    rewind(log);
    while (fgets(buf, sizeof buf, log)) {
        size_t n = strlen(buf);
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) buf[--n] = '\0';
        if (n > 0) snprintf(line, len, "%s", buf);
    }
}

/* The child: stdin from the script pipe, stdout (the picture) into png_fd, stderr into the
   log, then gnuplot in dir. A failure before exec is reported through the close-on-exec pipe
   `report` as "c" (chdir) or "e" (exec) and errno; only async-signal-safe calls here. */
static void child(int script_fd, int png_fd, int log_fd, int report, const char *dir) {
    int e;
    char tag;
    if (dup2(script_fd, 0) < 0 || dup2(png_fd, 1) < 0 || dup2(log_fd, 2) < 0) {
        tag = 'e';
    } else if (chdir(dir) != 0) {
        tag = 'c';
    } else {
        execlp("gnuplot", "gnuplot", (char *)NULL);
        tag = 'e';
    }
    e = errno;
    if (write(report, &tag, 1) == 1 && write(report, &e, sizeof e) == (ssize_t)sizeof e) {}
    _exit(127);
}

/* Writes all of s to fd; 0, or -1 (gnuplot gone: its exit status tells why). */
static int write_all(int fd, const char *s, size_t len) {
    while (len > 0) {
        ssize_t w = write(fd, s, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        s += w;
        len -= (size_t)w;
    }
    return 0;
}

/* 1 if png (len bytes) is a whole PNG file: the signature first and the IEND chunk last,
   which a picture cut short (a full disk, a file size limit) does not have. */
static int whole_png(const uint8_t *png, size_t len) {
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const uint8_t iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    return len >= sizeof sig + sizeof iend && memcmp(png, sig, sizeof sig) == 0 &&
           memcmp(png + len - sizeof iend, iend, sizeof iend) == 0;
}

/* The picture gnuplot wrote to its stdout (the temporary file png), checked whole and then
   written as dir/output through write_file_atomic: a temporary name, every write, the
   flush, fsync and close checked, then the rename. A failure leaves no dir/output.tmp, and
   an earlier dir/output as it was. */
static int save_png(FILE *png, const char *dir, const char *output, char *err, size_t errlen) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, output);
    long len = fseek(png, 0, SEEK_END) == 0 ? ftell(png) : -1;
    uint8_t *buf = len > 0 ? malloc((size_t)len) : NULL;
    rewind(png);
    int ok = buf && fread(buf, 1, (size_t)len, png) == (size_t)len && whole_png(buf, (size_t)len);
    int rc = -1;
    if (!ok)
        snprintf(err, errlen, "%s: not written: gnuplot's picture is incomplete (%ld bytes; a full "
                 "disk or a file size limit?)", path, len);
    else
        rc = write_file_atomic(path, buf, (size_t)len, err, errlen);
    free(buf);
    return rc;
}

/* gnuplot's end as a message: -1 with the reason in err, or 0 if it exited with status 0. */
static int gnuplot_status(const char *dir, ssize_t got, char tag, int e, int status, const char *line,
                          char *err, size_t errlen) {
    if (got == 1 && tag == 'c') {
        snprintf(err, errlen, "%s: cannot plot there: %s", dir, strerror(e));
        return -1;
    }
    if (got == 1) {
        if (e == ENOENT) snprintf(err, errlen, "gnuplot is not installed (apt-get install gnuplot-nox): no plots");
        else snprintf(err, errlen, "cannot run gnuplot: %s", strerror(e));
        return -1;
    }
    if (WIFSIGNALED(status)) {
        snprintf(err, errlen, "gnuplot was killed by signal %d%s%s", WTERMSIG(status),
                 *line ? ": " : "", line);
        return -1;
    }
    if (WEXITSTATUS(status) != 0) {
        snprintf(err, errlen, "gnuplot failed (exit status %d)%s%s", WEXITSTATUS(status),
                 *line ? ": " : "", line);
        return -1;
    }
    return 0;
}

int plot_run(const char *dir, const char *output, const char *script, char *err, size_t errlen) {
    FILE *log = tmpfile(), *png = tmpfile();
    int in[2], rep[2];
    if (!log || !png || pipe(in) != 0) {
        snprintf(err, errlen, "cannot start gnuplot: %s", strerror(errno));
        if (log) fclose(log);
        if (png) fclose(png);
        return -1;
    }
    if (pipe(rep) != 0 || fcntl(rep[1], F_SETFD, FD_CLOEXEC) != 0) {
        snprintf(err, errlen, "cannot start gnuplot: %s", strerror(errno));
        close(in[0]), close(in[1]), fclose(log), fclose(png);
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(in[1]);
        close(rep[0]);
        child(in[0], fileno(png), fileno(log), rep[1], dir);
    }
    close(in[0]);
    close(rep[1]);
    if (pid < 0) {
        snprintf(err, errlen, "cannot start gnuplot: %s", strerror(errno));
        close(in[1]), close(rep[0]), fclose(log), fclose(png);
        return -1;
    }
    char tag = 0;
    int e = 0;
    ssize_t got = read(rep[0], &tag, 1);   /* 0 bytes: the exec succeeded */
    if (got == 1 && read(rep[0], &e, sizeof e) != (ssize_t)sizeof e) e = 0;
    close(rep[0]);
    /* A gnuplot that quits early must not kill us with SIGPIPE: ignore it while writing. */
    struct sigaction ign = {0}, old;
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &old);
    if (got != 1) write_all(in[1], script, strlen(script));
    close(in[1]);
    sigaction(SIGPIPE, &old, NULL);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    char line[512];
    last_line(log, line, sizeof line);
    fclose(log);
    int rc = gnuplot_status(dir, got, tag, e, status, line, err, errlen);
    if (rc == 0) rc = save_png(png, dir, output, err, errlen);
    fclose(png);
    return rc;
}
