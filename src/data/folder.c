/* Image folders ROOT/{train,test}/<class>/<file> read with stb_image: classes from the
   subfolder names, every image checked against the first one's size. */
#define _POSIX_C_SOURCE 200809L
#include "data.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <stb_image.h>

#include "data_internal.h"
#include "util.h"

typedef struct { char **items; int n, cap; } NameList;

static void names_push(NameList *l, const char *s) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->items = realloc(l->items, (size_t)l->cap * sizeof *l->items);
        if (!l->items) FATAL("out of memory");
    }
    l->items[l->n++] = xstrdup(s);
}

static void names_free(NameList *l) {
    for (int i = 0; i < l->n; i++) free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_image_ext(const char *name) {
    static const char *const exts[] = {".png", ".jpg", ".jpeg", ".bmp"};
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof exts / sizeof *exts; i++)
        if (strcasecmp(dot, exts[i]) == 0) return 1;
    return 0;
}

/* Sorted entries of dir: subdirectories (want_dirs) or image files. Hidden entries and files
   with other extensions (README, .DS_Store...) are ignored. stat() follows symlinks. */
static int list_dir(NameList *out, const char *dir, int want_dirs, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d) return data_fail(err, errlen, "%s: cannot open directory: %s", dir, strerror(errno));
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char *p = data_path_join(dir, e->d_name);
        struct stat st;
        int ok = stat(p, &st) == 0;
        free(p);
        if (ok && (want_dirs ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode) && has_image_ext(e->d_name)))
            names_push(out, e->d_name);
    }
    closedir(d);
    if (out->n) qsort(out->items, (size_t)out->n, sizeof *out->items, cmp_names);
    return 0;
}

/* The class folders of a split, sorted; an error if there are none. */
static int list_classes(NameList *out, const char *split_dir, char *err, size_t errlen) {
    if (list_dir(out, split_dir, 1, err, errlen)) return -1;
    if (out->n == 0) return data_fail(err, errlen, "%s: no class subdirectories", split_dir);
    return 0;
}

/* Test must hold exactly the train classes; name the first class found in only one. */
static int same_classes(const NameList *a, const NameList *b, const char *adir, const char *bdir,
                        char *err, size_t errlen) {
    int i = 0, j = 0;
    while (i < a->n && j < b->n && strcmp(a->items[i], b->items[j]) == 0) i++, j++;
    if (i == a->n && j == b->n) return 0;
    int in_a = j == b->n || (i < a->n && strcmp(a->items[i], b->items[j]) < 0);
    return data_fail(err, errlen, "%s: class folders differ from %s: '%s' is only in %s", bdir, adir,
                     in_a ? a->items[i] : b->items[j], in_a ? adir : bdir);
}

/* The shape every image must have: set by the first train image. */
typedef struct { int h, w, c; char *first; } Shape;

/* Gray+alpha is stored as gray and RGBA as RGB: the alpha channel is dropped, since the
   model takes 1 or 3 channels and dataset images are opaque in practice. */
static int stored_channels(int c) { return c == 2 ? 1 : c == 4 ? 3 : c; }

/* The size an image's header declares, checked against (or setting) shape, before a pixel
   is decoded: a small file may declare an image of gigabytes. */
static int image_header(Shape *shape, const char *path, char *err, size_t errlen) {
    int w, h, c;
    if (!stbi_info(path, &w, &h, &c))
        return data_fail(err, errlen, "%s: cannot read image: %s", path, stbi_failure_reason());
    int sc = stored_channels(c);
    if (!shape->first) *shape = (Shape){h, w, sc, xstrdup(path)};
    if (h != shape->h || w != shape->w || sc != shape->c)
        return data_fail(err, errlen, "%s: image is %dx%dx%d but %s is %dx%dx%d (HxWxC; all images must match)",
                         path, h, w, sc, shape->first, shape->h, shape->w, shape->c);
    return 0;
}

/* Load one image into dst (h*w*shape->c bytes), checking it against (or setting) shape. */
static int load_image(uint8_t **dst, Dataset *ds, int index, Shape *shape, const char *path,
                      char *err, size_t errlen) {
    int w, h, c;
    uint8_t *img = stbi_load(path, &w, &h, &c, 0);
    if (!img) return data_fail(err, errlen, "%s: cannot read image: %s", path, stbi_failure_reason());
    int sc = stored_channels(c);
    if (!shape->first) *shape = (Shape){h, w, sc, xstrdup(path)};
    if (h != shape->h || w != shape->w || sc != shape->c) {
        stbi_image_free(img);
        return data_fail(err, errlen, "%s: image is %dx%dx%d but %s is %dx%dx%d (HxWxC; all images must match)",
                         path, h, w, sc, shape->first, shape->h, shape->w, shape->c);
    }
    if (!*dst) *dst = xmalloc((size_t)ds->count * h * w * sc);
    uint8_t *out = *dst + (size_t)index * h * w * sc;
    for (size_t p = 0; p < (size_t)h * w; p++)
        for (int k = 0; k < sc; k++) out[p * sc + k] = img[p * c + k];
    stbi_image_free(img);
    return 0;
}

/* Full paths of the image files of one class folder, sorted; an error if there are none. */
static int list_class_files(NameList *out, const char *split_dir, const char *cls, char *err, size_t errlen) {
    char *cdir = data_path_join(split_dir, cls);
    NameList files;
    int rc = list_dir(&files, cdir, 0, err, errlen);
    if (rc == 0 && files.n == 0)
        rc = data_fail(err, errlen, "%s: empty class: no .png/.jpg/.jpeg/.bmp files", cdir);
    memset(out, 0, sizeof *out);
    for (int i = 0; rc == 0 && i < files.n; i++) {
        char *p = data_path_join(cdir, files.items[i]);
        names_push(out, p);
        free(p);
    }
    names_free(&files);
    free(cdir);
    return rc;
}

/* Read every image of ROOT/split into ds; labels are class indices in class order. With
   header_only, only the images' sizes are read and checked (ds gets no pixels or labels). */
static int read_split_images(Dataset *ds, const NameList *files, Shape *shape, int header_only,
                             char *err, size_t errlen) {
    int index = 0;
    for (int k = 0; k < ds->num_classes; k++) {
        for (int i = 0; header_only && i < files[k].n; i++)
            if (image_header(shape, files[k].items[i], err, errlen)) return -1;
        if (header_only) continue;
        for (int i = 0; i < files[k].n; i++, index++) {
            ds->labels[index] = k;
            if (load_image(&ds->pixels, ds, index, shape, files[k].items[i], err, errlen)) return -1;
        }
    }
    return 0;
}

static int load_split(Dataset *ds, const char *root, const char *split, const NameList *classes,
                      Shape *shape, int header_only, char *err, size_t errlen) {
    memset(ds, 0, sizeof *ds);
    char *dir = data_path_join(root, split);
    NameList *files = xcalloc((size_t)classes->n, sizeof *files);
    int rc = 0;
    for (int k = 0; rc == 0 && k < classes->n; k++) {
        rc = list_class_files(&files[k], dir, classes->items[k], err, errlen);
        ds->count += files[k].n;
    }
    ds->kind = DATA_IMAGES;
    ds->num_classes = classes->n;
    if (rc == 0) {
        if (!header_only) ds->labels = xmalloc((size_t)ds->count * sizeof *ds->labels);
        rc = read_split_images(ds, files, shape, header_only, err, errlen);
    }
    for (int k = 0; k < classes->n; k++) names_free(&files[k]);
    free(files);
    free(dir);
    if (rc) {
        data_free(ds);
        return -1;
    }
    ds->height = shape->h;
    ds->width = shape->w;
    ds->channels = shape->c;
    ds->class_names = data_copy_names((const char *const *)classes->items, classes->n);
    return 0;
}

static int load_folder_splits(Dataset *train, Dataset *test, const char *root,
                              const NameList *classes, int header_only, char *err, size_t errlen) {
    Shape shape = {0, 0, 0, NULL};
    int rc = load_split(train, root, "train", classes, &shape, header_only, err, errlen);
    if (rc == 0) rc = load_split(test, root, "test", classes, &shape, header_only, err, errlen);
    free(shape.first);
    if (rc) {
        data_free(train);
        data_free(test);
    }
    return rc;
}

static int folder(Dataset *train, Dataset *test, const char *root, int header_only, char *err,
                  size_t errlen) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    char *train_dir = data_path_join(root, "train"), *test_dir = data_path_join(root, "test");
    NameList tr = {0}, te = {0};
    int rc = list_classes(&tr, train_dir, err, errlen);
    if (rc == 0) rc = list_classes(&te, test_dir, err, errlen);
    if (rc == 0) rc = same_classes(&tr, &te, train_dir, test_dir, err, errlen);
    if (rc == 0) rc = load_folder_splits(train, test, root, &tr, header_only, err, errlen);
    names_free(&tr);
    names_free(&te);
    free(train_dir);
    free(test_dir);
    return rc;
}

int data_load_folder(Dataset *train, Dataset *test, const char *root, char *err, size_t errlen) {
    return folder(train, test, root, 0, err, errlen);
}

int data_folder_sizes(Dataset *train, Dataset *test, const char *root, char *err, size_t errlen) {
    return folder(train, test, root, 1, err, errlen);
}
