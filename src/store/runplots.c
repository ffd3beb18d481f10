/* gnuplot scripts for a run directory. gnuplot runs inside the directory (plot_run), so
   the scripts name files only by their fixed names; the directory's name appears only in
   a quoted title, beside settings that are numbers formatted here. The heatmaps' cells come from clusters.csv, read here. */
#define _POSIX_C_SOURCE 200809L
#include "runplots.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "plot.h"
#include "util.h"

/* The panels of clusters.png: a clusters.csv column, its title and its colour scale,
   fixed so that two runs compare by eye: [lo, hi], where hi is the number of tokens n for
   n_clusters and min(n, d) for the stable rank (the rank of an n x d matrix), from
   config.json (without it, the values present). `energy` is drawn only when the column
   exists (older runs do not have it). */
typedef enum { HI_FIXED, HI_TOKENS, HI_RANK } HiKind;
typedef struct { const char *column, *title; double lo, hi; HiKind hi_kind; } Panel;
static const Panel PANELS[] = {
    {"mean_cos", "mean cosine between tokens", -1, 1, HI_FIXED},
    {"order", "order |mean_i u_i|", 0, 1, HI_FIXED},
    {"n_clusters", "clusters (single linkage at delta)", 1, 0, HI_TOKENS},
    {"stable_rank", "stable rank of the token matrix", 1, 0, HI_RANK},
    {"energy", "energy", 0, 1, HI_FIXED},
};
#define MAX_PANELS ((int)(sizeof PANELS / sizeof *PANELS))

/* clusters.csv as numbers: rows x cols, and the columns the plot needs (-1 if absent). */
typedef struct {
    double *v;
    int rows, cols, cap;
    int step, layer, panel[MAX_PANELS];
} Table;

/* Index of name in the comma-separated header line, or -1. */
static int header_index(const char *header, const char *name) {
    size_t n = strlen(name);
    int i = 0;
    for (const char *p = header; *p; i++) {
        size_t len = strcspn(p, ",\r\n");
        if (len == n && strncmp(p, name, n) == 0) return i;
        p += len;
        if (*p != ',') break;
        p++;
    }
    return -1;
}

static int read_table(Table *t, const char *text) {
    memset(t, 0, sizeof *t);
    const char *line = text, *nl = strchr(line, '\n');
    if (!nl) return -1;
    for (const char *p = line; p < nl; p++) t->cols += *p == ',';
    t->cols++;
    t->step = header_index(line, "step");
    t->layer = header_index(line, "layer");
    for (int i = 0; i < MAX_PANELS; i++) t->panel[i] = header_index(line, PANELS[i].column);
    if (t->step < 0 || t->layer < 0) return -1;
    for (line = nl + 1; *line; line = nl ? nl + 1 : line + strlen(line)) {
        nl = strchr(line, '\n');
        if (!nl) break;   /* a torn last line (the run was killed while writing) */
        if (t->rows == t->cap) {
            t->cap = t->cap ? 2 * t->cap : 1024;
            t->v = realloc(t->v, sizeof(double) * t->cap * t->cols);
            if (!t->v) FATAL("out of memory reading clusters.csv");
        }
        double *row = t->v + (size_t)t->rows * t->cols;
        const char *p = line;
        int c = 0;
        for (; c < t->cols && p <= nl; c++) {
            char *end;
            row[c] = strtod(p, &end);
            if (end == p) row[c] = NAN;
            p = strchr(p, ',');
            if (!p || p > nl) break;
            p++;
        }
        /* a short row, or one without its step and layer, is dropped */
        if (c == t->cols - 1 && isfinite(row[t->step]) && isfinite(row[t->layer])) t->rows++;
    }
    return t->rows > 0 ? 0 : -1;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The distinct steps, sorted; their count. */
static int distinct_steps(const Table *t, double *steps) {
    for (int r = 0; r < t->rows; r++) steps[r] = t->v[(size_t)r * t->cols + t->step];
    qsort(steps, t->rows, sizeof *steps, cmp_double);
    int k = 0;
    for (int r = 0; r < t->rows; r++)
        if (k == 0 || steps[r] != steps[k - 1]) steps[k++] = steps[r];
    return k;
}

/* Cell i spans from halfway to the step before to halfway to the step after; the first
   and last cells are as wide on their outer side, so every cell is whole. */
static void cell_bounds(const double *steps, int k, int i, double *lo, double *hi) {
    double left = i > 0 ? steps[i] - steps[i - 1] : k > 1 ? steps[1] - steps[0] : 1.0;
    double right = i + 1 < k ? steps[i + 1] - steps[i] : left;
    *lo = steps[i] - left / 2;
    *hi = steps[i] + right / 2;
}

/* The run's settings for the titles, from dir/config.json: only numbers formatted here
   and fixed words go into `line` (never a string of the file), so a hand-edited
   config.json cannot put text into gnuplot's program; tokens and d are 0 when unknown. */
typedef struct { char line[256]; int tokens, d; } RunInfo;

/* The number named key of config.json, or NAN. */
static double json_number(const Json *root, const char *key) {
    const Json *v = json_get(root, key);
    return v && v->type == J_NUMBER ? strtod(v->str, NULL) : NAN;
}

static void run_info(const char *dir, RunInfo *ri) {
    char path[4200], e[256];
    size_t len;
    memset(ri, 0, sizeof *ri);
    snprintf(path, sizeof path, "%s/config.json", dir);
    char *text = (char *)read_whole_file(path, &len, e, sizeof e);
    Json root;
    int parsed = text && json_parse(&root, text, len, e, sizeof e) == 0;
    free(text);
    if (!parsed) return;
    const Json *seed = json_get(&root, "seed"), *qk = json_get(&root, "qk");
    double tokens = json_number(&root, "tokens"), d = json_number(&root, "d");
    snprintf(ri->line, sizeof ri->line, "noise scale %.6g, value mean %.6g, L %.6g, seed %llu%s",
             json_number(&root, "noise_scale"), json_number(&root, "value_mean"),
             json_number(&root, "layers"), seed && seed->is_uint ? (unsigned long long)seed->uint : 0ULL,
             qk && qk->type == J_STRING && strcmp(qk->str, "identity") == 0 ? ", qk identity" : "");
    ri->tokens = tokens >= 1 && tokens <= 1e6 ? (int)tokens : 0;
    ri->d = d >= 1 && d <= 1e6 ? (int)d : 0;
    json_free(&root);
}

/* The title of a picture of the run in dir, as a gnuplot string literal: the directory
   and the settings. */
static void run_title(char *out, size_t outlen, const char *dir, const RunInfo *ri) {
    char text[1400];
    snprintf(text, sizeof text, "%.1100s%s%s", dir, *ri->line ? ": " : "", ri->line);
    plot_quote(out, outlen, text);
}

/* Panel p's colour scale: its fixed range (PANELS), or, where that needs the run's sizes
   and config.json did not give them, the finite values present. */
static void panel_range(const Table *t, int p, const RunInfo *ri, double *lo, double *hi) {
    const Panel *pn = &PANELS[p];
    int rank = ri->tokens < ri->d ? ri->tokens : ri->d;
    *lo = pn->lo;
    *hi = pn->hi_kind == HI_TOKENS ? ri->tokens : pn->hi_kind == HI_RANK ? rank : pn->hi;
    if (pn->hi_kind == HI_FIXED || *hi > *lo) return;
    *lo = INFINITY, *hi = -INFINITY;
    for (int r = 0; r < t->rows; r++) {
        double x = t->v[(size_t)r * t->cols + t->panel[p]];
        if (isfinite(x)) *lo = fmin(*lo, x), *hi = fmax(*hi, x);
    }
    if (!(*lo <= *hi)) *lo = 0, *hi = 1;   /* nothing finite: an empty panel */
    if (*hi - *lo < 1e-9 * fmax(1.0, fabs(*hi))) *lo -= 0.5, *hi += 0.5;
}

/* One panel: cells coloured by column col of the data block on the panel's colour scale. */
static void panel_script(FILE *s, const Table *t, int p, int col, const RunInfo *ri) {
    double lo, hi;
    panel_range(t, p, ri, &lo, &hi);
    char title[160];
    plot_quote(title, sizeof title, PANELS[p].title);
    fprintf(s, "set title %s\nset cbrange [%.9g:%.9g]\n"
            "plot $cells using 1:2:3:4:5:6:%d with boxxyerror fs solid 1.0 noborder "
            "fc palette notitle\n", title, lo, hi, col);
}

/* clusters.png: a heatmap per metric, whole cells at the logged (update, layer) points. */
static int clusters_plot(const char *dir, char *err, size_t errlen) {
    char path[4200], lenerr[512];
    size_t len;
    snprintf(path, sizeof path, "%s/clusters.csv", dir);
    char *text = (char *)read_whole_file(path, &len, lenerr, sizeof lenerr);
    Table t;
    int ok = text && read_table(&t, text) == 0;
    free(text);
    if (!ok) return snprintf(err, errlen, "%.900s: no metrics to plot", path), -1;
    double *steps = xmalloc(sizeof(double) * t.rows);
    int k = distinct_steps(&t, steps), layers = 0, npanels = 0, cols[MAX_PANELS];
    for (int p = 0; p < MAX_PANELS; p++)
        if (t.panel[p] >= 0) cols[npanels++] = p;
    for (int r = 0; r < t.rows; r++) {
        int l = (int)t.v[(size_t)r * t.cols + t.layer];
        if (l > layers) layers = l;
    }
    char *script;
    size_t slen;
    FILE *s = open_memstream(&script, &slen);
    if (!s) FATAL("open_memstream failed");
    RunInfo ri;
    run_info(dir, &ri);
    char title[3000];
    run_title(title, sizeof title, dir, &ri);
    int gc = npanels > 4 ? 3 : 2, gr = (npanels + gc - 1) / gc;
    fprintf(s, "set terminal pngcairo size %d,%d font 'sans,10' noenhanced\n"
            "$cells << EOD\n", 560 * gc, 60 + 420 * gr);
    /* x y xlo xhi ylo yhi, then the panels' values; NaN leaves a cell empty */
    for (int r = 0; r < t.rows; r++) {
        const double *row = t.v + (size_t)r * t.cols;
        double *hit = bsearch(&row[t.step], steps, k, sizeof *steps, cmp_double), lo, hi;
        cell_bounds(steps, k, (int)(hit - steps), &lo, &hi);
        /* cells overlap their neighbours (2% of a width, 8% of a layer): no anti-aliasing
           seams between them; the outer edges are cut by the plot ranges, the true bounds */
        double pad = 0.02 * (hi - lo);
        fprintf(s, "%.9g %.9g %.9g %.9g %.9g %.9g", row[t.step], row[t.layer], lo - pad, hi + pad,
                row[t.layer] - 0.58, row[t.layer] + 0.58);
        for (int i = 0; i < npanels; i++) {
            double x = row[t.panel[cols[i]]];
            if (isfinite(x)) fprintf(s, " %.9g", x);
            else fputs(" NaN", s);
        }
        fputc('\n', s);
    }
    double xlo, xhi, unused;
    cell_bounds(steps, k, 0, &xlo, &unused);
    cell_bounds(steps, k, k - 1, &unused, &xhi);
    fprintf(s, "EOD\nset multiplot layout %d,%d title %s font 'sans,12'\n"
            "set xlabel 'update'; set ylabel 'layer (0 = embedding)'\n"
            "set xrange [%.9g:%.9g]; set yrange [-0.5:%d.5]; set ytics %d; set tics out\n"
            "set palette defined (0 '#440154', 0.25 '#3b528b', 0.5 '#21908d', 0.75 '#5dc963', "
            "1 '#fde725')\n", gr, gc, title, xlo, xhi, layers, layers <= 16 ? 1 : (layers + 7) / 8);
    for (int i = 0; i < npanels; i++) panel_script(s, &t, cols[i], 7 + i, &ri);
    fputs("unset multiplot\n", s);
    fclose(s);
    int rc = plot_run(dir, "clusters.png", script, err, errlen);
    free(script);
    free(steps);
    free(t.v);
    return rc;
}

/* Data rows of dir/name (lines after the header). */
static int data_rows(const char *dir, const char *name) {
    char path[4200], e[512];
    size_t len;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = (char *)read_whole_file(path, &len, e, sizeof e);
    int lines = 0;
    for (char *p = text; p && *p; p++) lines += *p == '\n';
    free(text);
    return lines > 0 ? lines - 1 : 0;
}

/* curves.png: loss and accuracy (percent: the CSV files hold fractions); a file with no rows yet (no evaluation before a stop)
   is left out, since gnuplot refuses to plot nothing. */
static int curves_plot(const char *dir, char *err, size_t errlen) {
    int has_train = data_rows(dir, "train.csv") > 0, has_eval = data_rows(dir, "eval.csv") > 0;
    if (!has_train && !has_eval) return 0;
    RunInfo ri;
    run_info(dir, &ri);
    char title[3000];
    run_title(title, sizeof title, dir, &ri);
    const char *sep = has_train && has_eval ? ", \\\n     " : "";
    char script[8192];
    snprintf(script, sizeof script,
             "set terminal pngcairo size 900,600 font 'sans,10' noenhanced\n"
             "set datafile separator ','\n"
             "set multiplot layout 1,2 title %s\n"
             "set xlabel 'update'; set ylabel 'loss'; set key top right; set grid\n"
             "plot %s%s%s\n"
             "set ylabel 'accuracy (%%)'; set key bottom right\n"
             "plot %s%s%s\n"
             "unset multiplot\n", title,
             has_train ? "'train.csv' using 1:3 every ::1 with lines title 'training loss (its batch)'" : "",
             sep, has_eval ? "'eval.csv' using 1:2 every ::1 with linespoints title 'test loss'" : "",
             has_train ? "'train.csv' using 1:($4*100) every ::1 with lines title 'training accuracy (its batch)'" : "",
             sep, has_eval ? "'eval.csv' using 1:($3*100) every ::1 with linespoints title 'test accuracy'" : "");
    return plot_run(dir, "curves.png", script, err, errlen);
}

/* Both pictures are tried, each on its own: a failed one leaves the other drawn. */
int runplots_write(const char *dir, char *err, size_t errlen) {
    char why[2][1024];
    int bad[2] = {curves_plot(dir, why[0], sizeof why[0]) != 0,
                  clusters_plot(dir, why[1], sizeof why[1]) != 0};
    if (!bad[0] && !bad[1]) return 0;
    snprintf(err, errlen, "only the plots failed (the run's CSV files, checkpoint and summary.json "
             "are complete; --resume draws a missing plot again): %.1000s%s%.1000s",
             bad[0] ? why[0] : why[1], bad[0] && bad[1] ? "; " : "", bad[0] && bad[1] ? why[1] : "");
    return -1;
}

int runplots_missing(const char *dir) {
    const char *names[] = {"curves.png", "clusters.png"};
    char path[4200];
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (!file_exists(path)) return 1;
    }
    return 0;
}
