/* The model flags that ./train and ./simulate depth share and that depend on each other. */
#include "model_options.h"

#include <stdio.h>
#include <string.h>

#include "model.h"

int model_options_resolve(const char *residual_scale, int L, double horizon,
                          int value_mean_given, int drift_given, double *value_mean,
                          double *value_drift, float *alpha, char *err, size_t errlen) {
    if (horizon != 1 && strcmp(residual_scale, "sqrt") != 0)
        return snprintf(err, errlen, "--horizon needs --residual-scale sqrt (alpha = sqrt(T/L))"), -1;
    if (value_mean_given && drift_given)
        return snprintf(err, errlen, "--value-mean and --value-drift say the same thing in two "
                        "units: give one"), -1;
    *alpha = model_alpha(residual_scale, L, horizon);
    double depth_time = (double)L * *alpha;   /* L alpha: the drift time of value mean 1 */
    if (drift_given) *value_mean = *value_drift / depth_time;
    *value_drift = *value_mean * depth_time;
    return 0;
}
