/* Looking up a name in a list, ignoring case: the *_from_name functions of
 * activations, losses and optimizers (src/net/net.c, src/net/optim.c) share it. */
#ifndef NERVE_SRC_NAMES_H
#define NERVE_SRC_NAMES_H

#include "nerve/errors.h"

/* The index i < count of names[i] equal to `name` ignoring case, in *out;
 * else NERVE_EINVAL with "unknown <what> 'name' (expected a, b or c)"
 * listing the names. */
nerve_status find_name(const char *what, const char *name, const char *const *names, int count,
                       int *out);

#endif
