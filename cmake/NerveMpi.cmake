# Optional data-parallel training over MPI (issue 15): libnerve_mpi.so, the
# shared library of src/mpi/ over libnerve.so, with the public header
# include/nerve/mpi.h. libnerve (static and shared) never depends on MPI, so
# its ABI is the same with and without this option; the tool links
# libnerve_mpi when it is built and then runs data-parallel under mpirun.
#
# src/mpi/ drives the net layer's internal training step (net_step_hooked,
# the optimizer's prepare/update/commit in src/net/net_plan.h). libnerve.so
# exports those few internals for it alone, under a version node tied to the
# release (cmake/NervePrivateAbi.cmake, src/core/private_abi.h), so there is
# one copy of the library in a process (one ISA cap, one thread setting, one
# last-error message), whether a program links the tool's way or its own.
find_package(MPI COMPONENTS C)
option(NERVE_WITH_MPI "Build libnerve_mpi and data-parallel nerve train (needs MPI)" ${MPI_C_FOUND})
if(NERVE_WITH_MPI AND NOT MPI_C_FOUND)
  message(FATAL_ERROR "nerve: NERVE_WITH_MPI=ON but CMake found no MPI for C "
                      "(Debian: libopenmpi-dev openmpi-bin, or libmpich-dev mpich)")
endif()
if(NERVE_WITH_MPI)
  add_library(nerve_mpi SHARED ${CMAKE_CURRENT_SOURCE_DIR}/src/mpi/mpi.c)
  set_target_properties(nerve_mpi PROPERTIES OUTPUT_NAME nerve_mpi EXPORT_NAME mpi
      VERSION ${PROJECT_VERSION} SOVERSION ${NERVE_SOVERSION})
  # src/mpi sits above the net layer and sees its internals (and those below)
  target_include_directories(nerve_mpi PRIVATE ${NERVE_LAYER_INCLUDES_net})
  target_link_libraries(nerve_mpi PUBLIC nerve_shared MPI::MPI_C PRIVATE OpenMP::OpenMP_C)
  nerve_target_warnings(nerve_mpi)
  add_library(nerve::mpi ALIAS nerve_mpi)
  # its own export set: it links nerve::nerve (another set) and MPI,
  # so it is loaded only on request (find_package(nerve COMPONENTS mpi))
  install(TARGETS nerve_mpi EXPORT nerveMpiTargets)
  message(STATUS "nerve: MPI ${MPI_C_VERSION} (${MPI_C_LIBRARIES}): libnerve_mpi, data-parallel "
                 "nerve train and the mpi tests are built")
else()
  message(STATUS "nerve: built without MPI (NERVE_WITH_MPI=OFF or no MPI found): no libnerve_mpi, "
                 "the mpi tests are not registered")
endif()
