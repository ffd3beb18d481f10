/* Pictures through gnuplot (Debian's gnuplot-nox): a script is piped to a gnuplot process
   that writes a PNG. Plots are a convenience: a run's CSV files are the results.

   No name or path ever becomes program text: gnuplot runs with its working directory set
   to the run directory, and scripts name files only by fixed relative names ('train.csv');
   the picture's name is a fixed name in the code, never in a script.
   Free text for a title goes through plot_quote. */
#ifndef PLOT_H
#define PLOT_H
#include <stddef.h>

/* Runs gnuplot in directory dir on script (a PNG terminal, e.g. PLOT_PNG_TERMINAL, and no
   `set output`: the picture goes to gnuplot's stdout) and writes the picture as dir/output
   (a fixed name) the way every other file is written: whole or not at all (temporary name,
   writes, fsync and close checked, rename), only if it is a complete PNG. Returns 0, or -1
   with a reason in err: gnuplot not found, dir not usable, gnuplot's exit status and the
   last line it printed, or the picture not written (incomplete, disk full). */
int plot_run(const char *dir, const char *output, const char *script, char *err, size_t errlen);

/* text as a gnuplot single-quoted string literal (quotes included) into out: inside single
   quotes gnuplot expands nothing (no `command`, no @macro, no \ escapes) and '' is a quote;
   control characters (a newline would end the command) become '?'. Shortened to fit. */
void plot_quote(char *out, size_t outlen, const char *text);

#define PLOT_PNG_TERMINAL "set terminal pngcairo size 900,600 font 'sans,10'\n"
#endif
