/* nerve: train and run multi-layer perceptrons on CPUs. One include for the
 * whole public API. */
#ifndef NERVE_NERVE_H
#define NERVE_NERVE_H

#include "nerve/version.h" /* NERVE_VERSION_*, nerve_version() */
#include "nerve/errors.h"
#include "nerve/cpu.h"
#include "nerve/kernels.h"
#include "nerve/net.h"
#include "nerve/data.h"
#include "nerve/selftest.h"

#endif
