/* Version macros and nerve_version(): the header's numbers come from the
 * CMake project version (include/nerve/version.h.in), and the library reports
 * the same version at run time. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "nerve/nerve.h"

Test(version, string_matches_the_numbers) {
    char expect[64];
    snprintf(expect, sizeof expect, "%d.%d.%d", NERVE_VERSION_MAJOR, NERVE_VERSION_MINOR,
             NERVE_VERSION_PATCH);
    cr_assert_str_eq(NERVE_VERSION_STRING, expect);
    cr_assert_eq(NERVE_VERSION_NUMBER,
                 NERVE_VERSION_MAJOR * 10000 + NERVE_VERSION_MINOR * 100 + NERVE_VERSION_PATCH);
}

Test(version, matches_the_project_version) {
    cr_assert_str_eq(NERVE_VERSION_STRING, NERVE_PROJECT_VERSION);
}

Test(version, run_time_version_is_the_headers) {
    cr_assert_not_null(nerve_version());
    cr_assert_str_eq(nerve_version(), NERVE_VERSION_STRING);
    cr_assert_eq(nerve_version(), nerve_version(), "a static string");
}
