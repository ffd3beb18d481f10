/* Pictures of a training run, drawn from its CSV files with gnuplot. */
#ifndef RUNPLOTS_H
#define RUNPLOTS_H
#include <stddef.h>

/* dir/curves.png: training loss and accuracy, test loss and accuracy, over updates.
   dir/clusters.png: heatmaps over (update, layer 0..L) of mean_cos, order, n_clusters,
   stable_rank (and energy when clusters.csv has that column), on fixed colour scales:
   [-1, 1], [0, 1], [1, n], [1, min(n, d)], [0, 1] (n tokens and d from config.json; without
   it those two span the values present). Both titled with the directory and the settings
   of config.json (noise scale, value mean, L, seed; qk when identity). Each is written
   whole or not at all (plot_run). Returns
   0, or -1 with the reasons in err, which says that only the plots failed (the CSV files
   are the results either way). */
int runplots_write(const char *dir, char *err, size_t errlen);
/* 1 if curves.png or clusters.png is missing from dir (a failed plot, a kill while drawing). */
int runplots_missing(const char *dir);
#endif
