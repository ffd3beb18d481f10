/* Pictures of a training run, drawn from its CSV files with gnuplot. */
#ifndef RUNPLOTS_H
#define RUNPLOTS_H
#include <stddef.h>

/* dir/curves.png: training loss and accuracy, test accuracy, over updates.
   dir/clusters.png: mean cosine between tokens, per layer (0..L) and update.
   Returns 0, or -1 with a reason in err (the CSV files are the results either way). */
int runplots_write(const char *dir, char *err, size_t errlen);
#endif
