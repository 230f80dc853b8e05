# bench/peers/ (issue 16 item 4): nerve's own peer program, built here from
# bench/peers/nerve_train.c and run on the embedded digits in fp32 and bf16,
# and report.py's table and chart from its results (tests/peers/test_peers.py,
# one ctest test per case). The other peers (oneDNN, PyTorch, FANN) are
# optional packages: bench/peers/run.sh runs them. Label "peers".
find_package(Python3 COMPONENTS Interpreter)
add_executable(peer_nerve_train ${PROJECT_SOURCE_DIR}/bench/peers/nerve_train.c)
target_link_libraries(peer_nerve_train PRIVATE nerve_static)
nerve_target_warnings(peer_nerve_train)
if(NOT Python3_Interpreter_FOUND)
  # never skipped silently (tests/cli.cmake)
  add_test(NAME peers_needs_python3 COMMAND ${CMAKE_COMMAND} -E false)
  set_tests_properties(peers_needs_python3 PROPERTIES LABELS peers)
else()
  foreach(case fp32_and_bf16 refusals report)
    add_test(NAME peers_${case}
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/peers/test_peers.py
                     --nerve $<TARGET_FILE:peer_nerve_train> --source ${PROJECT_SOURCE_DIR}
                     --work ${CMAKE_CURRENT_BINARY_DIR}/peers_work/${case} ${case})
    set_tests_properties(peers_${case} PROPERTIES TIMEOUT 300 LABELS peers)
  endforeach()
endif()
