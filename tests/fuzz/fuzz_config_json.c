/* libFuzzer harness: the config.json reader of ./train --resume (config_read_json, which is
   options_read_json over the JSON reader of json.c) on any text. Checked: no crash, no UB, and
   whatever it accepts is written back by config_write_json and read again unchanged. */
#include "fuzz_input.h"

#include <string.h>

#include "config.h"
#include "json.h"
#include "options.h"

static void defaults(Config *c) {
    char *argv[] = {"train", NULL};
    char err[256];
    if (config_parse(c, 1, argv, err, sizeof err) != CONFIG_OK) abort();
}

/* The saved settings of c as config.json text (malloc'd). */
static char *to_json(const Config *c) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) abort();
    fputs("{\n", f);
    config_write_json(c, f);
    fputs("  \"end\": 0\n}\n", f);
    fclose(f);
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *json = text_copy(data, size);
    static Config c, back;
    char err[512], v[8];
    json_text_value(json, "dataset", v, sizeof v);   /* a value longer than the buffer */
    defaults(&c);
    if (config_read_json(&c, json, err, sizeof err) == 0) {
        char *again = to_json(&c);
        defaults(&back);
        if (config_read_json(&back, again, err, sizeof err) != 0) abort();
        memcpy(back.given, c.given, sizeof c.given);
        if (memcmp(&c, &back, sizeof c) != 0) abort();   /* the round trip changed a setting */
        free(again);
    }
    free(json);
    return 0;
}
