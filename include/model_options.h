/* The option-table rows of the model (MODEL.md) that ./train and ./simulate depth share,
   so both commands take the same flags, ranges and help for the same model. Type is the
   command's settings struct with int fields d, layers, heads, mlp, double fields beta,
   noise_scale, value_mean and a string residual_scale. Two groups, so that a command can
   put its own rows between them (./train: --patch). */
#ifndef MODEL_OPTIONS_H
#define MODEL_OPTIONS_H
#include "options.h"

/* d, layers (default layers_default, a string), heads */
#define MODEL_SIZE_OPTIONS(Type, layers_default)                                              \
    {"d", "64", "model width", T_INT, OPTION_FIELD(Type, d), 1, 65536, NULL, 1, 0},             \
    {"layers", layers_default, "number of layers L", T_INT, OPTION_FIELD(Type, layers), 1,      \
     100000, NULL, 1, 0},                                                                       \
    {"heads", "1", "attention heads (must divide d)", T_INT, OPTION_FIELD(Type, heads), 1,      \
     65536, NULL, 1, 0}

/* mlp, beta, residual-scale, noise-scale, value-mean */
#define MODEL_LAYER_OPTIONS(Type)                                                             \
    {"mlp", "0", "MLP width M after each attention (0 = no MLP)", T_INT,                       \
     OPTION_FIELD(Type, mlp), 0, 1e6, NULL, 1, 0},                                              \
    {"beta", "1", "attention inverse temperature", T_DOUBLE, OPTION_FIELD(Type, beta), 0, 1e6,  \
     NULL, 1, 0},                                                                               \
    {"residual-scale", "sqrt", "alpha: sqrt = 1/sqrt(L), linear = 1/L, one = 1", T_STRING,      \
     OPTION_FIELD(Type, residual_scale), 0, 0, "sqrt|linear|one", 1, 0},                        \
    {"noise-scale", "1", "V = value_mean*I + noise_scale*G; 0 = no noise (suppressed noise)",   \
     T_DOUBLE, OPTION_FIELD(Type, noise_scale), 0, 1e6, NULL, 1, 0},                            \
    {"value-mean", "0", "value_mean in the initialization of V (1 with noise 0: V = I)",        \
     T_DOUBLE, OPTION_FIELD(Type, value_mean), -1e6, 1e6, NULL, 1, 0}
#endif
