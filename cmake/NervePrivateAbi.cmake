# The private ABI between libnerve.so and libnerve_mpi.so (src/core/private_abi.h):
# the internal functions src/mpi/ calls, exported by libnerve.so under the
# version node NERVE_PRIVATE_<release>. A libnerve_mpi.so records that node for
# each of them, so the dynamic linker refuses to pair it with a libnerve.so of
# another release ("version NERVE_PRIVATE_x not found") instead of letting it
# read a changed struct. The public nerve_* functions are not versioned.
#
# Each name here is defined with NERVE_PRIVATE in src/; test
# abi_exported_symbols checks that libnerve.so exports exactly these under the
# node and nothing else outside nerve_*, and abi_exported_symbols_mpi that
# libnerve_mpi.so uses every one of them (no export without a user).
set(NERVE_PRIVATE_SYMBOLS
    error_set split_range crc32_update kernels_active                  # core
    net_check_samples net_step_hooked plan_ensure_undo                 # net
    optim_prepare optim_update optim_rollback optim_commit optim_undo_floats
    optim_bound_prepare optim_bound optim_bound_commit
    batches_init batches_seek batches_next batches_free epoch_check epoch_begin epoch_end)
set(NERVE_PRIVATE_NODE NERVE_PRIVATE_${PROJECT_VERSION})

set(NERVE_PRIVATE_MAP ${CMAKE_CURRENT_BINARY_DIR}/generated/nerve_private.map)
list(JOIN NERVE_PRIVATE_SYMBOLS ";\n    " _np_list)
file(WRITE ${NERVE_PRIVATE_MAP}.tmp "${NERVE_PRIVATE_NODE} {\n  global:\n    ${_np_list};\n};\n")
configure_file(${NERVE_PRIVATE_MAP}.tmp ${NERVE_PRIVATE_MAP} COPYONLY)   # rewritten only on change
# -Bsymbolic-functions: libnerve's calls to its own functions bind inside it,
# so a program that defines its own error_set (or nerve_sgemm) changes nothing
# in the library
target_link_options(nerve_shared PRIVATE "LINKER:--version-script=${NERVE_PRIVATE_MAP}"
                    "LINKER:-Bsymbolic-functions")
set_property(TARGET nerve_shared APPEND PROPERTY LINK_DEPENDS ${NERVE_PRIVATE_MAP})
