/* The one JSON string escaper (json_quote): what it writes for quotes, backslashes,
   control characters and bytes above ASCII, that the project's reader and Python's strict
   UTF-8 JSON reader both take it back, and that safetensors headers with such names read. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "json.h"
#include "proc.h"
#include "safetensors.h"
#include "util.h"

/* json_quote(s) is exactly want. */
static void expect_quote(const char *s, const char *want, const char *what) {
    char got[256];
    size_t n = json_quote(got, sizeof got, s);
    CHECK(n == strlen(want) && strcmp(got, want) == 0, "%s: got %s (%zu bytes), want %s", what,
          got, n, want);
}

static void test_json_quote_escapes(void) {
    expect_quote("", "\"\"", "empty");
    expect_quote("a\"b\\c/d", "\"a\\\"b\\\\c/d\"", "quote and backslash (slash as is)");
    expect_quote("\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"", "the named control characters");
    expect_quote("\x01\x1f\x0b\x7f", "\"\\u0001\\u001f\\u000b\x7f\"", "other control characters");
    for (int c = 1; c < 0x20; c++) {
        char s[2] = {(char)c, 0}, got[16];
        json_quote(got, sizeof got, s);
        CHECK(got[1] == '\\', "control character %#x is escaped: %s", c, got);
    }
}

static void test_json_quote_utf8(void) {
    const char *valid = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf";
    char want[64];
    snprintf(want, sizeof want, "\"%s\"", valid);
    expect_quote(valid, want, "valid UTF-8 (2, 3, 4 bytes, the last code point) as it is");
#define FFFD "\\ufffd"
    expect_quote("a\x80z", "\"a" FFFD "z\"", "a stray continuation byte");
    expect_quote("\xc0\xaf", "\"" FFFD FFFD "\"", "an overlong '/'");
    expect_quote("\xed\xa0\x80", "\"" FFFD FFFD FFFD "\"", "a surrogate");
    expect_quote("\xf4\x90\x80\x80", "\"" FFFD FFFD FFFD FFFD "\"", "above U+10FFFF");
    expect_quote("\xe2\x82", "\"" FFFD FFFD "\"", "a sequence cut short by the end");
    expect_quote("\xe2\x82z", "\"" FFFD FFFD "z\"", "a sequence cut short by ASCII");
    expect_quote("\xff\xfe", "\"" FFFD FFFD "\"", "bytes that never occur in UTF-8");
#undef FFFD
}

/* Like snprintf: the length of the whole literal, what fits written and NUL-terminated. */
static void test_json_quote_short_buffer(void) {
    char small[5] = "xxxx";
    CHECK(json_quote(NULL, 0, "a\"b") == 6, "measured without a buffer");
    CHECK(json_quote(small, sizeof small, "a\"b") == 6 && strcmp(small, "\"a\\\"") == 0,
          "cut short: '%s'", small);
}

/* Every byte 1..255 once: the project's reader gives back each valid UTF-8 text exactly,
   and Python's json (strict UTF-8) reads the literal to the same string. */
static void test_json_quote_reads_back(void) {
    char all[256], lit[2048], err[160];
    for (int i = 0; i < 255; i++) all[i] = (char)(i + 1);
    all[255] = 0;
    const char *text = "q\"\\\b\x01\x1f\x7f caf\xc3\xa9 \xf0\x9f\x98\x80";
    json_quote(lit, sizeof lit, text);
    Json v;
    int rc = json_parse(&v, lit, strlen(lit), err, sizeof err);
    CHECK(rc == 0 && v.type == J_STRING && strcmp(v.str, text) == 0, "our reader: %s", rc ? err : v.str);
    json_free(&v);
    json_quote(lit, sizeof lit, all);
    CHECK(json_parse(&v, lit, strlen(lit), err, sizeof err) == 0, "every byte: %s", err);
    json_free(&v);

    char dir[256], path[320], cmd[1024], out[4096];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/s.json", dir);
    if (write_file_atomic(path, lit, strlen(lit), err, sizeof err)) FATAL("%s", err);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c 'import json, sys; s = json.load(open(sys.argv[1], "
             "encoding=\"utf-8\", errors=\"strict\")); print(len(s), s[:127] == \"\".join(map(chr, "
             "range(1, 128))), s[127:].count(\"\\ufffd\"))' %s", path);
    rc = run_cmd(cmd, out, sizeof out);
    /* 127 ASCII, then 128 bytes 0x80..0xFF, none of them valid UTF-8 alone */
    CHECK(rc == 0 && strcmp(out, "255 True 128\n") == 0, "Python's json: rc %d: %s", rc, out);
    remove(path);
    rmdir(dir);
}

/* Tensor names and metadata with quotes, backslashes, control characters and UTF-8: the
   header written is JSON that the reader parses back to the same names. */
static void test_safetensors_odd_names(void) {
    float x[3] = {1, 2, 3};
    const char *names[4] = {"q\"uote", "back\\slash", "ctl\x01\x1f\t\n", "caf\xc3\xa9"};
    StTensor ts[4];
    for (int i = 0; i < 4; i++) ts[i] = (StTensor){names[i], x, 1, {i < 3 ? i + 1 : 3, 0}};
    StMeta meta[1] = {{"k\"\\\b", "v\x7f\xc3\xa9\f"}};
    char dir[256], path[320], err[512] = "";
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/odd.safetensors", dir);
    CHECK(st_write(path, ts, 4, meta, 1, err, sizeof err) == 0, "st_write: %s", err);
    StFile f;
    if (st_read(&f, path, err, sizeof err) != 0) {
        CHECK(0, "st_read: %s", err);
    } else {
        float back[3];
        for (int i = 0; i < 4; i++) {
            size_t n = i < 3 ? (size_t)i + 1 : 3;
            CHECK(st_get(&f, names[i], back, n) == 0 && back[n - 1] == x[n - 1], "tensor %d read back", i);
        }
        const char *v = st_meta(&f, meta[0].key);
        CHECK(v && strcmp(v, meta[0].value) == 0, "metadata read back: %s", v ? v : "(none)");
        st_free(&f);
    }
    remove(path);
    rmdir(dir);
}

/* A setting that is not UTF-8 is refused, as a flag and in config.json: json_quote would
   save it as U+FFFD, and --resume would read another path than the run's. */
static void test_settings_must_be_utf8(void) {
    static Config c;
    char err[256];
    char *bad[] = {"train", "--data-dir", "/tmp/a\xff" "b", NULL}, *good[] = {"train", "--data-dir", "/tmp/caf\xc3\xa9", NULL};
    CHECK(config_parse(&c, 3, bad, err, sizeof err) != CONFIG_OK && strstr(err, "not UTF-8"), "flag: %s", err);
    CHECK(config_parse(&c, 3, good, err, sizeof err) == CONFIG_OK, "UTF-8 flag: %s", err);
    char *text = NULL, *json = malloc(8192);
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fputs("{\n", f);
    char *none[] = {"train", NULL};   /* no flag given: config.json's data_dir is read */
    CHECK(config_parse(&c, 1, none, err, sizeof err) == CONFIG_OK, "defaults: %s", err);
    config_resolve_intervals(&c, c.steps);
    config_write_json(&c, f);   /* every setting, then a byte 0xff put into the data_dir */
    fputs("  \"end\": 0\n}\n", f);
    fclose(f);
    char *at = strstr(text, "\"data_dir\": \"");
    CHECK(at && len < 8000, "config_write_json wrote a data_dir");
    if (at) {
        size_t head = (size_t)(at - text) + strlen("\"data_dir\": \"");
        snprintf(json, 8192, "%.*s\xff%s", (int)head, text, text + head);
        CHECK(config_read_json(&c, json, err, sizeof err) != 0 && strstr(err, "not UTF-8"), "config.json: %s", err);
    }
    free(text);
    free(json);
    CHECK(json_is_utf8("caf\xc3\xa9") && !json_is_utf8("\xc0\xaf") && json_is_utf8(""), "json_is_utf8");
}

SUITE(json_tests) = {
    {"settings_must_be_utf8", test_settings_must_be_utf8},
    {"json_quote_escapes", test_json_quote_escapes},
    {"json_quote_utf8", test_json_quote_utf8},
    {"json_quote_short_buffer", test_json_quote_short_buffer},
    {"json_quote_reads_back", test_json_quote_reads_back},
    {"safetensors_odd_names", test_safetensors_odd_names},
    END_SUITE
};
