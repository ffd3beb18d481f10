/* The option-table rows of the model (MODEL.md) that ./train and ./simulate depth share,
   so both commands take the same flags, ranges and help for the same model. Type is the
   command's settings struct with int fields d, layers, heads, mlp, double fields beta,
   noise_scale, value_mean, value_drift, horizon and strings residual_scale, qk. Two groups,
   so that a command can put its own rows between them (./train: --patch). After parsing, a
   command calls model_options_resolve (below) on them. */
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

/* mlp, beta, residual-scale, horizon, qk, noise-scale, value-mean, value-drift
   (horizon, qk and value-drift are optional in a settings file: files from before they
   existed ran with their defaults) */
#define MODEL_LAYER_OPTIONS(Type)                                                             \
    {"mlp", "0", "MLP width M after each attention (0 = no MLP)", T_INT,                       \
     OPTION_FIELD(Type, mlp), 0, 1e6, NULL, 1, 0},                                              \
    {"beta", "1", "attention inverse temperature", T_DOUBLE, OPTION_FIELD(Type, beta), 0, 1e6,  \
     NULL, 1, 0},                                                                               \
    {"residual-scale", "sqrt", "alpha: sqrt = 1/sqrt(L), linear = 1/L, one = 1", T_STRING,      \
     OPTION_FIELD(Type, residual_scale), 0, 0, "sqrt|linear|one", 1, 0},                        \
    {"horizon", "1", "with --residual-scale sqrt: alpha = sqrt(T/L), the time T of MODEL.md's "  \
     "depth limit", T_DOUBLE, OPTION_FIELD(Type, horizon), 1e-9, 1e9, NULL, SAVED_OPTIONAL, 0},           \
    {"qk", "random", "Q, K at initialization: random (N(0, 1/d)) | identity (Q = K = I, the "  \
     "theory's attention)", T_STRING, OPTION_FIELD(Type, qk), 0, 0, "random|identity", SAVED_OPTIONAL, 0}, \
    {"noise-scale", "1", "V = value_mean*I + noise_scale*G; 0 = no noise (suppressed noise)",   \
     T_DOUBLE, OPTION_FIELD(Type, noise_scale), 0, 1e6, NULL, 1, 0},                            \
    {"value-mean", "0", "value_mean in the initialization of V (1 with noise 0: V = I)",        \
     T_DOUBLE, OPTION_FIELD(Type, value_mean), -1e6, 1e6, NULL, 1, 0},                          \
    {"value-drift", "0", "the value mean in the depth limit's units, m = value_mean*L*alpha "   \
     "(the total drift time, the same at every depth; V = I is m = L*alpha); give it or "       \
     "--value-mean, not both; config.json has both", T_DOUBLE,                                  \
     OPTION_FIELD(Type, value_drift), -1e9, 1e9, NULL, SAVED_OPTIONAL, 0}

/* The settings of the rows above that depend on each other: alpha from the residual scale,
   L and the horizon (a horizon T != 1 needs "sqrt": alpha = sqrt(T/L)); the value mean
   from the drift if drift_given (value_mean = m / (L alpha); refused together with
   value_mean_given), then value_drift = value_mean * L * alpha either way, so a settings
   file always holds both. 0, or -1 with one line in err. */
int model_options_resolve(const char *residual_scale, int L, double horizon,
                          int value_mean_given, int drift_given, double *value_mean,
                          double *value_drift, float *alpha, char *err, size_t errlen);
#endif
