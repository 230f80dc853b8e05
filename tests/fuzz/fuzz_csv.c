/* libFuzzer harness: the csv loader (tests/fuzz/fuzz_targets.h). */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_csv_one(data, size);
    return 0;
}
