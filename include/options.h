/* Command-line flags from a table: each row is a flag, its type, default, range and help,
   and where its value lives in a plain settings struct. One table drives parsing, --help,
   the settings' JSON file and reading it back, so they cannot disagree. */
#ifndef OPTIONS_H
#define OPTIONS_H
#include <stddef.h>
#include <stdio.h>

typedef enum { T_INT, T_LONG, T_DOUBLE, T_STRING, T_FLAG } OptionType;

/* saved: written to the settings JSON (and restored from it); SAVED_OPTIONAL: the same, but
   a settings JSON written before the flag existed may lack it, and then the default, which
   is what such a run used, stands.
   resumable: may be given together with --resume (does not change what was computed). */
typedef struct {
    const char *flag, *def, *help;
    OptionType type;
    size_t offset, size;
    double min, max;         /* numeric range */
    const char *choices;     /* "a|b|c" for strings with fixed values, else NULL */
    int saved, resumable;
} Option;
enum { SAVED_OPTIONAL = 2 };

/* Offset and size of a field of a settings struct, for the table rows. */
#define OPTION_FIELD(Type, field) offsetof(Type, field), sizeof(((Type *)0)->field)

enum { OPTIONS_OK = 0, OPTIONS_HELP = 1, OPTIONS_ERROR = 2 };

/* Fills dst with the defaults, then applies argv[first..argc-1]. given (n bytes) records
   which flags were set. On error, one line in err. */
int options_parse(const Option *opts, int n, void *dst, unsigned char *given, int argc,
                  char **argv, int first, char *err, size_t errlen);
const Option *options_find(const Option *opts, int n, const char *flag);
/* One line per flag with its help and default (none shown for an empty default, whose
   help text says what is used instead), and a line for --help. */
void options_help(const Option *opts, int n, FILE *out);
/* The value of option o in src as text: a string as it is, a number as config.json has it
   (%d, %ld, %.17g). */
void options_value_text(const Option *o, const void *src, char *buf, size_t len);
/* "key": value lines (flag names with '_'), each ending ",\n", for the saved options. */
void options_write_json(const Option *opts, int n, const void *src, FILE *out);
/* Restores the saved options not marked in given (may be NULL) from a JSON object text;
   -1 with err if it is not one or lacks a setting that is not optional. */
int options_read_json(const Option *opts, int n, void *dst, const unsigned char *given,
                      const char *json, char *err, size_t errlen);
#endif
