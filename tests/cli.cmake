# End-to-end tests of the `nerve` tool (tests/cli/test_cli.py, one ctest test
# per case) and the C API example (examples/api_example.c), compiled and run
# here so that it cannot rot. Label "cli".
if(TARGET nerve)
  find_package(Python3 COMPONENTS Interpreter)
endif()
if(TARGET nerve AND NOT Python3_Interpreter_FOUND)
  # never skipped silently: without python3 (Debian package python3) a
  # failing test says what is missing, and the build itself still works
  message(WARNING "nerve: python3 not found; the cli tests will fail until it is installed")
  add_test(NAME cli_needs_python3 COMMAND ${CMAKE_COMMAND} -E false)
  set_tests_properties(cli_needs_python3 PROPERTIES LABELS cli)
elseif(TARGET nerve)
  set(NERVE_CLI_CASES help train_digits text_output progress_tty json plot resume reproducible
      predict_eval regression_and_mse options idx_dir bad_input sigint info selftest bf16)
  foreach(case IN LISTS NERVE_CLI_CASES)
    add_test(NAME cli_${case}
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_cli.py
                     --nerve $<TARGET_FILE:nerve> --source ${PROJECT_SOURCE_DIR}
                     --work ${CMAKE_CURRENT_BINARY_DIR}/cli_work/${case} ${case})
    set_tests_properties(cli_${case} PROPERTIES TIMEOUT 600 LABELS cli)
  endforeach()
  # tabular data, preprocessing in the model, nerve 0.1 files (issue 14)
  set(NERVE_CLI_TABULAR_CASES tabular_classes standardization_matters label_col
      tabular_regression early_stop refusals digits_raw_pixels compat_v1)
  foreach(case IN LISTS NERVE_CLI_TABULAR_CASES)
    add_test(NAME cli_tabular_${case}
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_cli_tabular.py
                     --nerve $<TARGET_FILE:nerve> --source ${PROJECT_SOURCE_DIR}
                     --work ${CMAKE_CURRENT_BINARY_DIR}/cli_work/tabular_${case} ${case})
    set_tests_properties(cli_tabular_${case} PROPERTIES TIMEOUT 600 LABELS cli)
  endforeach()
endif()

add_executable(api_example ${PROJECT_SOURCE_DIR}/examples/api_example.c)
target_link_libraries(api_example PRIVATE nerve_static)
nerve_target_warnings(api_example)
add_test(NAME example_api COMMAND api_example ${CMAKE_CURRENT_BINARY_DIR}/api_example.nrv)
set_tests_properties(example_api PROPERTIES TIMEOUT 300 LABELS cli)

# examples/backend_mlp.c: an MLP trained with the kernel API alone must match
# nerve_net bit for bit; run on the best table and capped to scalar, on one
# and on three threads (the matching does not depend on either).
add_executable(backend_mlp ${PROJECT_SOURCE_DIR}/examples/backend_mlp.c)
target_link_libraries(backend_mlp PRIVATE nerve_static)
nerve_target_warnings(backend_mlp)
foreach(cfg best:1 best:3 scalar:2 avx2:2)
  string(REPLACE ":" ";" parts ${cfg})
  list(GET parts 0 isa)
  list(GET parts 1 threads)
  set(env OMP_NUM_THREADS=${threads})
  if(NOT isa STREQUAL "best")
    list(APPEND env NERVE_MAX_ISA=${isa})
  endif()
  add_test(NAME example_backend_mlp_${isa}_${threads}t COMMAND backend_mlp)
  set_tests_properties(example_backend_mlp_${isa}_${threads}t PROPERTIES TIMEOUT 300 LABELS cli
                       ENVIRONMENT "${env}")
endforeach()

# Issue 11 (saves, NaN steps, FIFOs, outputs vs classes, stdout errors):
# tests/cli/test_cli_reliability.py, one ctest test per case.
if(TARGET nerve AND Python3_Interpreter_FOUND)
  set(NERVE_CLI_REL_CASES out_special_files out_symlink out_long_name nan_step fifo_inputs
      predict_stdin outputs_exceed_classes stdout_full svg_non_utf8 out_is_data
      predict_huge_feature eval_many_classes resume_default_schedule resume_after_sigint
      predict_one_input)
  foreach(case IN LISTS NERVE_CLI_REL_CASES)
    add_test(NAME cli_rel_${case}
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_cli_reliability.py
                     --nerve $<TARGET_FILE:nerve> --source ${PROJECT_SOURCE_DIR}
                     --work ${CMAKE_CURRENT_BINARY_DIR}/cli_work/rel_${case} ${case})
    set_tests_properties(cli_rel_${case} PROPERTIES TIMEOUT 600 LABELS cli)
  endforeach()
endif()

# Issue 11, case 11: the evaluation after training fails, and the trained
# model must still be in --out. tests/cli/failmalloc.c, an LD_PRELOAD shim,
# makes one chosen malloc fail (or kills the process there, as the kernel's
# out-of-memory killer would). Not with the sanitizers: their runtime must
# be the first library loaded and owns the allocator.
if(TARGET nerve AND Python3_Interpreter_FOUND)
  if(NERVE_SANITIZE)
    message(STATUS "nerve: sanitizer build: cli_rel_eval_fails_after_training is not registered "
                   "(its malloc shim cannot be preloaded before the sanitizer runtime)")
  else()
    add_library(nerve_failmalloc MODULE ${CMAKE_CURRENT_SOURCE_DIR}/cli/failmalloc.c)
    nerve_target_warnings(nerve_failmalloc)
    add_test(NAME cli_rel_eval_fails_after_training
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_cli_reliability.py
                     --nerve $<TARGET_FILE:nerve> --source ${PROJECT_SOURCE_DIR}
                     --work ${CMAKE_CURRENT_BINARY_DIR}/cli_work/rel_eval_fails_after_training
                     eval_fails_after_training)
    set_tests_properties(cli_rel_eval_fails_after_training PROPERTIES TIMEOUT 600 LABELS cli
                         ENVIRONMENT "NERVE_TEST_FAILMALLOC=$<TARGET_FILE:nerve_failmalloc>")
  endif()
endif()
