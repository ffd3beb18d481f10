/* Datasets: Fashion-MNIST IDX (.gz), image folders, built-in synthetic sequence tasks.
   A Dataset is plain data: either images (uint8 pixels) or token sequences. */
#ifndef DATA_H
#define DATA_H
#include <stddef.h>
#include <stdint.h>

typedef enum { DATA_IMAGES = 0, DATA_SEQUENCES = 1 } DataKind;

typedef struct {
    DataKind kind;
    int count;                        /* number of examples */
    int num_classes;
    int32_t *labels;                  /* (count) in [0, num_classes) */
    /* images */
    int height, width, channels;
    uint8_t *pixels;                  /* (count, height, width, channels), row-major */
    /* sequences */
    int seq_len, vocab;
    int32_t *tokens;                  /* (count, seq_len) in [0, vocab) */
    char **class_names;               /* (num_classes) or NULL; owned */
} Dataset;

/* All loaders return 0, or -1 with a one-line "path: what is wrong" message in err. */

/* Fashion-MNIST / MNIST IDX files in dir: {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
   (or the same names without .gz). Gzip is inflated with stb_image's zlib decoder.
   Labels must be 0..9 and the test images must have the train images' size; all four files
   are checked before the datasets are allocated. */
int data_load_idx(Dataset *train, Dataset *test, const char *dir, char *err, size_t errlen);

/* One IDX pair (images file, labels file), each optionally .gz; any label byte is a class. */
int data_load_idx_pair(Dataset *out, const char *images_path, const char *labels_path,
                       char *err, size_t errlen);

/* Image folder ROOT/{train,test}/<class>/<file>.png|jpg|jpeg|bmp via stb_image. Classes are the
   subfolders of ROOT/train sorted by name (test must have the same ones); all images must
   have one size and channel count (1 = gray or 3 = RGB). */
int data_load_folder(Dataset *train, Dataset *test, const char *root, char *err, size_t errlen);
/* The same folder's sizes alone, from the images' headers (no pixel decoded): counts,
   classes, height, width, channels, with the same checks of sizes; no pixels or labels. For
   the memory estimate before loading: a small file may declare a huge image. */
int data_folder_sizes(Dataset *train, Dataset *test, const char *root, char *err, size_t errlen);

/* Built-in synthetic sequence tasks, generated from the seed (train and test use different
   streams). task: "majority" (label = the symbol that occurs most often; a unique maximum
   is guaranteed; classes = vocab) or "repeat" (label 1 if the first symbol occurs again
   later in the sequence, else 0; balanced classes). Returns -1 on unknown task/bad sizes. */
int data_synthetic(Dataset *train, Dataset *test, const char *task, int train_count,
                   int test_count, int seq_len, int vocab, uint64_t seed,
                   char *err, size_t errlen);
extern const char *const DATA_SYNTHETIC_TASKS[];  /* NULL-terminated list of task names */

/* Images -> patches for the model: out (B, n, P) with n = (H/p)*(W/p), P = p*p*channels.
   Patches in row-major patch order; each patch flattened (row, col, channel); pixel/255. */
void data_patches(float *out, const Dataset *ds, const int32_t *idx, int B, int patch,
                  int threads);
/* Sequences -> tokens (B, seq_len) and any dataset -> labels (B). */
void data_tokens(int32_t *out, const Dataset *ds, const int32_t *idx, int B);
void data_labels(int32_t *out, const Dataset *ds, const int32_t *idx, int B);

void data_free(Dataset *ds);
#endif
