/* Pictures through gnuplot (Debian's gnuplot-nox): a script is piped to a gnuplot process
   that writes a PNG. Plots are a convenience: a run's CSV files are the results. */
#ifndef PLOT_H
#define PLOT_H
#include <stddef.h>

/* 1 if a gnuplot executable is on PATH. */
int plot_available(void);
/* Runs gnuplot on script (which must set its own output file, e.g. after
   PLOT_PNG_TERMINAL). Returns 0, or -1 with a reason in err. */
int plot_run(const char *script, char *err, size_t errlen);

#define PLOT_PNG_TERMINAL "set terminal pngcairo size 900,600 font 'sans,10'\n"
#endif
