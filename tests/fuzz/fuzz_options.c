/* libFuzzer harness: the command-line parser of ./train (config_parse over options_parse)
   on any argument list: the input split at NUL bytes, at most 64 arguments; and every
   argument as a list of ./simulate (numlist_parse: --betas, --ds, --depths). Checked: no
   crash, no UB, one-line errors (config_parse checks every rule between flags, --resume's
   too), and lists of at most the room given, of finite numbers. */
#include "fuzz_input.h"

#include <string.h>

#include <math.h>

#include "config.h"
#include "numlist.h"

enum { MAX_ARGS = 64, MAX_LIST = 16 };

static void parse_list(const char *arg) {
    double v[MAX_LIST];
    char err[512];
    int k = numlist_parse(arg, v, MAX_LIST, err, sizeof err);
    if (k > MAX_LIST) abort();
    for (int i = 0; i < k; i++)
        if (!isfinite(v[i])) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = text_copy(data, size);
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = "train";
    for (size_t i = 0; i <= size && argc <= MAX_ARGS; ) {   /* text[size] is the last NUL */
        argv[argc++] = text + i;
        i += strlen(text + i) + 1;
    }
    argv[argc] = NULL;
    static Config c;
    char err[512];
    int rc = config_parse(&c, argc, argv, err, sizeof err);
    if (rc == CONFIG_ERROR) {
        if (strchr(err, '\n') && !memchr(data, '\n', size)) abort();
    } else if (rc == CONFIG_OK) {
        config_given(&c, "steps");
    }
    for (int i = 1; i < argc; i++) parse_list(argv[i]);
    free(text);
    return 0;
}
