/* The preprocessing the tool stores in a model (net.h, "preprocessing
 * carried by the model"; docs/cli.md, "Preprocessing"):
 *   - digits and IDX: inputs divided by the largest pixel value (16, 255);
 *   - CSV: every feature standardized with the mean and standard deviation
 *     of the training part (never the validation or test part), unless
 *     --no-standardize; constant features are only centred;
 *   - regression: targets standardized likewise, predictions mapped back;
 *   - text class labels: their names.
 * Data are loaded raw and go through the model's own transform
 * (nerve_net_transform_inputs), so training, eval and predict see the very
 * same network inputs. */
#ifndef NERVE_CLI_PREP_H
#define NERVE_CLI_PREP_H

#include <stddef.h>

#include "dataset.h"
#include "nerve/nerve.h"

/* Fits the preprocessing of a fresh network on d->train and stores it in
 * net. `standardize`: CSV features and regression targets. A short
 * description goes to desc ("13 features standardized, targets
 * standardized"). CLI_OK or the exit status with the message printed. */
int prep_fit(nerve_net *net, const cli_data *d, int standardize, char *desc, size_t cap);

/* Applies net's input transform (and for regression data its output
 * transform to the targets) to d in place. */
int prep_apply(const nerve_net *net, nerve_data *d, const char *what);

/* Loader options that fit a model: raw pixels when it carries an input
 * transform, its class names, its targets when it is a regression model.
 * Returns the names array csv points to (free it after loading; it
 * borrows the model's strings), NULL when the model has none. */
const char **prep_csv_for_model(const nerve_net *net, nerve_csv_opts *csv);

/* A regression model: an mse model with an output transform (what the tool
 * writes for regression data; format 1 files cannot say). */
int prep_is_regression(const nerve_net *net);

/* Before loading CSV data for a model (eval, --resume, --init): one clear
 * line for a feature count that does not match, or for class labels given
 * to a regression model. CLI_OK when the data fit or are no CSV file. */
int prep_precheck_csv(const nerve_net *net, const char *spec, const nerve_csv_opts *csv);

#endif
