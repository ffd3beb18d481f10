/* libFuzzer harness: the command-line parser of ./train (config_parse over options_parse)
   on any argument list: the input split at NUL bytes, at most 64 arguments. Checked: no
   crash, no UB, one-line errors, and the --resume check on whatever was accepted. */
#include "fuzz_input.h"

#include <string.h>

#include "config.h"

enum { MAX_ARGS = 64 };

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
        config_check_resume_flags(&c, err, sizeof err);
        config_given(&c, "steps");
    }
    free(text);
    return 0;
}
