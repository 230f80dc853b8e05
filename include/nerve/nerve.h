/* nerve: train and run multi-layer perceptrons on CPUs. One include for the
 * whole public API. */
#ifndef NERVE_NERVE_H
#define NERVE_NERVE_H

#define NERVE_VERSION_MAJOR  0
#define NERVE_VERSION_MINOR  1
#define NERVE_VERSION_PATCH  0
#define NERVE_VERSION_STRING "0.1.0"

#include "nerve/errors.h"
#include "nerve/cpu.h"
#include "nerve/kernels.h"
#include "nerve/net.h"
#if __has_include("nerve/data.h")
#include "nerve/data.h"
#endif

#endif
