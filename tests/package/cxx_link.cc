// The public API from C++: <nerve/nerve.h> included by a C++ program that
// calls one function of every header and links against the shared library.
// Without the headers' extern "C" blocks the names would be mangled and the
// link would fail. Exits 1 if a result is wrong.
#include <nerve/nerve.h>

#include <cstdio>
#include <cstring>

int main() {
    int bad = 0;
    if (std::strcmp(nerve_version(), NERVE_VERSION_STRING) != 0) {
        std::fprintf(stderr, "nerve_version() %s, headers %s\n", nerve_version(),
                     NERVE_VERSION_STRING);
        bad = 1;
    }
    if (std::strcmp(nerve_strerror(NERVE_EINVAL), "") == 0) bad = 1;            // errors.h
    if (std::strcmp(nerve_isa_name(NERVE_ISA_SCALAR), "scalar") != 0) bad = 1; // cpu.h
    float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8}, c[4] = {0, 0, 0, 0};        // kernels.h
    if (nerve_sgemm(NERVE_NO_TRANS, NERVE_NO_TRANS, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2) !=
            NERVE_OK ||
        c[0] != 19 || c[1] != 22 || c[2] != 43 || c[3] != 50)
        bad = 1;
    nerve_data *digits = nullptr;                                               // data.h
    if (nerve_data_load_digits(&digits) != NERVE_OK || digits->n != 1797) bad = 1;
    size_t sizes[] = {64, 10};
    nerve_act acts[] = {NERVE_ACT_IDENTITY};
    nerve_net *net = nullptr;                                                   // net.h
    if (nerve_net_create(&net, 1, sizes, acts, NERVE_LOSS_XENT, 1) != NERVE_OK ||
        nerve_net_param_count(net) != 650)
        bad = 1;
    nerve_net_free(net);
    nerve_data_free(digits);
    if (bad) std::fprintf(stderr, "C++ use of the C API failed: %s\n", nerve_last_error());
    else std::printf("nerve %s from C++: ok\n", nerve_version());
    return bad;
}
