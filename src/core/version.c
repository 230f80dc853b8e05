/* nerve_version(): the version this library was built as (include/nerve/version.h). */
#include "nerve/version.h"

const char *nerve_version(void) { return NERVE_VERSION_STRING; }
