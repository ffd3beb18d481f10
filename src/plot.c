/* gnuplot through a pipe. */
#define _POSIX_C_SOURCE 200809L
#include "plot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

int plot_available(void) { return system("command -v gnuplot >/dev/null 2>&1") == 0; }

int plot_run(const char *script, char *err, size_t errlen) {
    FILE *p = popen("gnuplot 2>&1", "w");
    if (!p) {
        snprintf(err, errlen, "cannot start gnuplot");
        return -1;
    }
    fputs(script, p);
    int status = pclose(p);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(err, errlen, "gnuplot failed (is gnuplot-nox installed?)");
        return -1;
    }
    return 0;
}
