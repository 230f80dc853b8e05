# tests/concurrency/concurrency.c: threads using nerve at once (issue 11),
# a plain program (no Criterion threads) so that scripts/test.sh can run it
# under ThreadSanitizer (NERVE_TSAN). Label "unit" and "tsan".
find_package(Threads REQUIRED)
add_executable(nerve_concurrency ${CMAKE_CURRENT_SOURCE_DIR}/concurrency/concurrency.c)
target_link_libraries(nerve_concurrency PRIVATE nerve_static Threads::Threads)
nerve_target_warnings(nerve_concurrency)
add_test(NAME concurrency COMMAND nerve_concurrency)
set_tests_properties(concurrency PROPERTIES TIMEOUT 600 LABELS "unit;tsan"
    ENVIRONMENT "TSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/tsan.supp halt_on_error=1 second_deadlock_stack=1")
