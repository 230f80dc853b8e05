/* NERVE_PRIVATE marks the definition of an internal function that
 * libnerve.so exports for the project's own add-on library libnerve_mpi.so
 * (src/mpi/: data-parallel training drives the net layer's internal step).
 * These symbols carry the version node NERVE_PRIVATE_<release> (the linker
 * version script that cmake/NervePrivateAbi.cmake writes; the idea of
 * glibc's GLIBC_PRIVATE): only a libnerve_mpi built from the same release
 * binds to them, a user's program cannot by accident (no header declares
 * them outside src/), and libnerve.so binds its own calls to its own
 * definitions (-Bsymbolic-functions), so a user's function of the same name
 * never replaces one. The list of names is in cmake/NervePrivateAbi.cmake;
 * test abi_exported_symbols requires the two to agree. */
#ifndef NERVE_SRC_PRIVATE_ABI_H
#define NERVE_SRC_PRIVATE_ABI_H

#if defined(__GNUC__)
#define NERVE_PRIVATE __attribute__((visibility("default")))
#else
#define NERVE_PRIVATE
#endif

#endif
