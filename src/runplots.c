/* gnuplot scripts for a run directory. */
#include "runplots.h"

#include <stdio.h>

#include "plot.h"

int runplots_write(const char *dir, char *err, size_t errlen) {
    if (!plot_available()) {
        snprintf(err, errlen, "gnuplot is not installed (apt-get install gnuplot-nox): no plots");
        return -1;
    }
    char script[8192];
    snprintf(script, sizeof script,
             PLOT_PNG_TERMINAL
             "set datafile separator ','\n"
             "set output '%s/curves.png'\n"
             "set multiplot layout 1,2 title '%s'\n"
             "set xlabel 'update'; set ylabel 'loss'; set key top right; set grid\n"
             "plot '%s/train.csv' using 1:3 every ::1 with lines title 'training loss (its batch)', \\\n"
             "     '%s/eval.csv' using 1:2 every ::1 with linespoints title 'test loss'\n"
             "set ylabel 'accuracy'; set key bottom right\n"
             "plot '%s/train.csv' using 1:4 every ::1 with lines title 'training accuracy (its batch)', \\\n"
             "     '%s/eval.csv' using 1:3 every ::1 with linespoints title 'test accuracy'\n"
             "unset multiplot\n"
             "set output '%s/clusters.png'\n"
             "set title 'mean cosine between tokens (probe batch), %s'\n"
             "set xlabel 'update'; set ylabel 'layer (0 = embedding)'; set cblabel 'mean cos'\n"
             "set cbrange [-1:1]; set palette defined (-1 'blue', 0 'white', 1 'red')\n"
             "plot '%s/clusters.csv' using 1:2:3 every ::1 with points pt 5 ps 2.2 lc palette notitle\n",
             dir, dir, dir, dir, dir, dir, dir, dir, dir);
    return plot_run(script, err, errlen);
}
