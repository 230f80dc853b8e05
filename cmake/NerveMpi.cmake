# Optional data-parallel training over MPI (issue 15): libnerve_mpi, a static
# library of src/mpi/ over the static libnerve, with the public header
# include/nerve/mpi.h. libnerve (static and shared) never depends on MPI, so
# its ABI is the same with and without this option; the tool links
# libnerve_mpi when it is built and then runs data-parallel under mpirun.
#
# Why a separate static library: src/mpi/ drives the internal training step
# (net_step_hooked, the optimizer's prepare/update/commit in src/net/net_plan.h),
# which libnerve.so does not export (-fvisibility=hidden). A shared
# libnerve_mpi would need those internals in libnerve.so's ABI, or a second
# copy of the whole library; the static one needs neither.
find_package(MPI COMPONENTS C)
option(NERVE_WITH_MPI "Build libnerve_mpi and data-parallel nerve train (needs MPI)" ${MPI_C_FOUND})
if(NERVE_WITH_MPI AND NOT MPI_C_FOUND)
  message(FATAL_ERROR "nerve: NERVE_WITH_MPI=ON but CMake found no MPI for C "
                      "(Debian: libopenmpi-dev openmpi-bin, or libmpich-dev mpich)")
endif()
if(NERVE_WITH_MPI)
  add_library(nerve_mpi STATIC ${CMAKE_CURRENT_SOURCE_DIR}/src/mpi/mpi.c)
  set_target_properties(nerve_mpi PROPERTIES OUTPUT_NAME nerve_mpi EXPORT_NAME mpi)
  # src/mpi sits above the net layer and sees its internals (and those below)
  target_include_directories(nerve_mpi PRIVATE ${NERVE_LAYER_INCLUDES_net})
  target_link_libraries(nerve_mpi PUBLIC nerve_static MPI::MPI_C PRIVATE OpenMP::OpenMP_C)
  nerve_target_warnings(nerve_mpi)
  add_library(nerve::mpi ALIAS nerve_mpi)
  # its own export set: it links nerve::nerve_static (another set) and MPI,
  # so it is loaded only on request (find_package(nerve COMPONENTS mpi))
  install(TARGETS nerve_mpi EXPORT nerveMpiTargets)
  message(STATUS "nerve: MPI ${MPI_C_VERSION} (${MPI_C_LIBRARIES}): libnerve_mpi, data-parallel "
                 "nerve train and the mpi tests are built")
else()
  message(STATUS "nerve: built without MPI (NERVE_WITH_MPI=OFF or no MPI found): no libnerve_mpi, "
                 "the mpi tests are not registered")
endif()
