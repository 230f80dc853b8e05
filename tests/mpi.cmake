# Data-parallel training over MPI (issue 15): tests/mpi/test_mpi.py drives
# `mpirun --oversubscribe -np 1|2|3` over the built `nerve` and the API
# program tests/mpi/mpi_api.c, on loopback only (btl self,vader). Label
# "mpi". Registered only when libnerve_mpi is built (NERVE_WITH_MPI); then
# they fail, never skip, when something is missing (mpirun, python3).
if(TARGET nerve_mpi AND TARGET nerve)
  add_executable(mpi_api ${CMAKE_CURRENT_SOURCE_DIR}/mpi/mpi_api.c)
  target_link_libraries(mpi_api PRIVATE nerve_mpi)
  nerve_target_warnings(mpi_api)
  find_package(Python3 COMPONENTS Interpreter)
  find_program(NERVE_MPIEXEC NAMES ${MPIEXEC_EXECUTABLE} mpirun mpiexec)
  if(NOT Python3_Interpreter_FOUND OR NOT NERVE_MPIEXEC)
    message(WARNING "nerve: the mpi tests need python3 and mpirun (Debian: python3 openmpi-bin); "
                    "they fail until both are installed")
  endif()
  set(NERVE_MPI_CASES api_replicas api_nan api_mismatch np1_equals_single np2 np3_uneven
      one_rank_bad_file diverge killed_rank sigint_rank info bf16)
  foreach(case IN LISTS NERVE_MPI_CASES)
    if(NOT Python3_Interpreter_FOUND OR NOT NERVE_MPIEXEC)
      # never skipped silently: a failing test says what is missing
      add_test(NAME mpi_${case} COMMAND ${CMAKE_COMMAND} -E false)
    else()
      add_test(NAME mpi_${case}
               COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/mpi/test_mpi.py
                       --nerve $<TARGET_FILE:nerve> --api $<TARGET_FILE:mpi_api>
                       --mpirun ${NERVE_MPIEXEC}
                       --work ${CMAKE_CURRENT_BINARY_DIR}/mpi_work/${case} ${case})
    endif()
    set_tests_properties(mpi_${case} PROPERTIES TIMEOUT 600 LABELS mpi)
  endforeach()
endif()
