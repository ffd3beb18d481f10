/* ./simulate: the token dynamics of deep random Transformers at initialization.
   `./simulate COMMAND [flags]`; each command has its own --help. */
#include <stdio.h>
#include <string.h>

#include "simulate.h"
#include "suggest.h"

typedef struct {
    const char *name, *help;
    int (*main)(int argc, char **argv);
} Command;

static const Command COMMANDS[] = {
    {"depth", "every clustering metric per layer of random deep Transformers, over many draws", sim_depth_main},
    {"pair", "two tokens under the SDE limit: how often they end antipodal or clustered", sim_pair_main},
    {"tokens", "n tokens under the SDE limit: one cluster, two antipodal groups, or neither", sim_tokens_main},
};
#define NUM_COMMANDS ((int)(sizeof COMMANDS / sizeof *COMMANDS))

static void usage(FILE *out) {
    fprintf(out, "Usage: ./simulate COMMAND [flags]\n"
                 "Token dynamics of deep random Transformers (MODEL.md) at initialization;\n"
                 "every command writes a run directory (runs/NAME/) with config.json, CSV files\n"
                 "and PNG plots.\n\nCommands:\n");
    for (int i = 0; i < NUM_COMMANDS; i++)
        fprintf(out, "  %-8s %s\n", COMMANDS[i].name, COMMANDS[i].help);
    fprintf(out, "\npair and tokens take the limit's beta: for the network with one head and\n"
                 "Q = K = I it is beta_net * sqrt(d) (logits beta_net q k^T / sqrt(dh) on tokens of\n"
                 "norm sqrt(d); MODEL.md \"The limit\").\n"
                 "\n'./simulate COMMAND --help' lists the flags of a command.\n"
                 "Exit status: 0 done, 1 runtime error (data, files), 2 bad command, flags or values.\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *names[NUM_COMMANDS];
    for (int i = 0; i < NUM_COMMANDS; i++) {
        if (strcmp(argv[1], COMMANDS[i].name) == 0) return COMMANDS[i].main(argc, argv);
        names[i] = COMMANDS[i].name;
    }
    const char *close = suggest_closest(argv[1], names, NUM_COMMANDS);
    fprintf(stderr, "simulate: unknown command '%s' (%s%s%scommands: depth, pair, tokens)\n"
                    "Run './simulate --help' for the list.\n", argv[1], close ? "did you mean " : "",
            close ? close : "", close ? "? " : "");
    return 2;
}
