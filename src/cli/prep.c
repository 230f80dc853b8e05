/* The preprocessing the tool stores in a model (prep.h). */
#include "prep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

int prep_is_regression(const nerve_net *net) {
    return nerve_net_loss(net) == NERVE_LOSS_MSE && nerve_net_has_output_transform(net);
}

const char **prep_csv_for_model(const nerve_net *net, nerve_csv_opts *csv) {
    csv->raw_pixels = nerve_net_has_input_transform(net);
    const size_t k = nerve_net_width(net, nerve_net_layers(net));
    const char **names = NULL;
    if (nerve_net_class_name(net, 0)) {
        /* the model's names, in its order: labels get its indices */
        names = malloc(k * sizeof *names);
        if (names) {
            for (size_t i = 0; i < k; i++) names[i] = nerve_net_class_name(net, i);
            csv->class_names = names;
            csv->n_class_names = k;
        }
    }
    if (prep_is_regression(net) && !csv->targets) csv->targets = k;
    return names;
}

int prep_fit(nerve_net *net, const cli_data *d, int standardize, char *desc, size_t cap) {
    const nerve_data *tr = d->train;
    const size_t in = tr->in, out = nerve_net_width(net, nerve_net_layers(net));
    size_t w = in > out ? in : out;
    float *shift = malloc(2 * w * sizeof *shift), *scale = shift ? shift + w : NULL;
    if (!shift) return cli_failure("out of memory");
    nerve_status st = NERVE_OK;
    int len = snprintf(desc, cap, "none");
    if (d->pixel_max > 0) {
        for (size_t j = 0; j < in; j++) {
            shift[j] = 0.0f;
            scale[j] = d->pixel_max;
        }
        st = nerve_net_set_input_transform(net, shift, scale);
        len = snprintf(desc, cap, "pixels / %g", (double)d->pixel_max);
    } else if (standardize) {
        st = nerve_data_feature_stats(tr, shift, scale);
        if (st == NERVE_OK) st = nerve_net_set_input_transform(net, shift, scale);
        size_t constant = 0;
        for (size_t j = 0; j < in; j++) constant += scale[j] == 1.0f;
        len =
            snprintf(desc, cap, "%zu features standardized on the %zu training samples", in, tr->n);
        if (len >= 0 && (size_t)len < cap && constant)
            len += snprintf(desc + len, cap - (size_t)len, " (%zu with scale 1)", constant);
    }
    if (st == NERVE_OK && tr->y && nerve_net_loss(net) == NERVE_LOSS_MSE && out == tr->out) {
        if (standardize) {
            st = nerve_data_target_stats(tr, shift, scale);
        } else {
            for (size_t k = 0; k < out; k++) {
                shift[k] = 0.0f;
                scale[k] = 1.0f;
            }
        }
        /* stored even as the identity: it marks the model as a regression */
        if (st == NERVE_OK) st = nerve_net_set_output_transform(net, shift, scale);
        if (standardize && len >= 0 && (size_t)len < cap)
            snprintf(desc + len, cap - (size_t)len, "%s", ", targets standardized");
    }
    if (st == NERVE_OK && tr->class_names) {
        if (out == tr->out)
            st = nerve_net_set_class_names(net, (const char *const *)tr->class_names);
        else
            cli_note("%zu outputs for %zu named classes: the model keeps no class names", out,
                     tr->out);
    }
    free(shift);
    if (st != NERVE_OK) return cli_lib_error(st, "preprocessing");
    return CLI_OK;
}

int prep_apply(const nerve_net *net, nerve_data *d, const char *what) {
    if (!d || d->n == 0) return CLI_OK;
    nerve_status st = NERVE_OK;
    if (nerve_net_has_input_transform(net)) st = nerve_net_transform_inputs(net, d->x, d->n, d->x);
    if (st == NERVE_OK && d->y && nerve_net_has_output_transform(net) &&
        d->out == nerve_net_width(net, nerve_net_layers(net)))
        st = nerve_net_transform_targets(net, d->y, d->n, d->y);
    if (st != NERVE_OK) return cli_lib_error(st, what);
    return CLI_OK;
}

/* Before the real load of a CSV: the feature count against the model, and a
 * regression model given class labels, each as one clear line (the real
 * load would stop at the first label it cannot map instead). */
int prep_precheck_csv(const nerve_net *net, const char *spec, const nerve_csv_opts *csv) {
    if (!spec || !strstr(spec, ".csv")) return CLI_OK;
    nerve_csv_opts o = *csv;
    o.targets = 0;
    o.class_names = NULL;
    o.n_class_names = 0;
    o.labels = NERVE_CSV_LABELS_NAMES; /* any label: only the shape matters */
    nerve_data *d = NULL;
    if (nerve_data_load_csv(&d, spec, &o) != NERVE_OK) return CLI_OK; /* the real load reports */
    const size_t k = csv->targets ? csv->targets : 1, cols = d->in + 1;
    const size_t in = nerve_net_width(net, 0), outs = nerve_net_width(net, nerve_net_layers(net));
    nerve_data_free(d);
    if (cols <= k || cols - k != in)
        return cli_error("--data: the model takes %zu features but %s has %zu columns (%zu "
                         "features beside %zu label/target column%s)",
                         in, spec, cols, cols > k ? cols - k : 0, k, k == 1 ? "" : "s");
    if (!prep_is_regression(net)) return CLI_OK;
    o.labels = NERVE_CSV_LABELS_AUTO;
    if (nerve_data_load_csv(&d, spec, &o) != NERVE_OK) return CLI_OK; /* numbers, not labels */
    int named = d->class_names != NULL;
    nerve_data_free(d);
    if (named)
        return cli_error("--data: the model is a regression model (%zu target%s) but the label "
                         "column of %s holds class labels",
                         outs, outs == 1 ? "" : "s", spec);
    return CLI_OK;
}
