# The library's face to its users (issue 12): what the shared library exports,
# the public headers on their own in C and C++, the C API from C++ and from
# Python (ctypes), and the manual page. Labels: unit (the ABI checks), cli
# (the programs). The installed package itself is checked by
# scripts/test-install.sh (scripts/test.sh runs it).

# test_version compares the generated header with the project version.
if(TARGET test_version)
  target_compile_definitions(test_version PRIVATE NERVE_PROJECT_VERSION="${PROJECT_VERSION}")
endif()

# Every public header, as users will include them (the generated one too).
file(GLOB _pkg_headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/include/nerve/*.h)
list(APPEND _pkg_headers ${NERVE_GENERATED_INCLUDE}/nerve/version.h)

# Only nerve_* leaves the shared library, exactly the functions the headers
# declare NERVE_API (-fvisibility=hidden does the rest, cmake/NerveFlags.cmake),
# plus the private ABI for libnerve_mpi under its version node
# (cmake/NervePrivateAbi.cmake). nerve/mpi.h declares libnerve_mpi's
# functions, which the second test checks in libnerve_mpi.so, with its
# private references bound to the node.
set(_pkg_so_headers ${_pkg_headers})
list(FILTER _pkg_so_headers EXCLUDE REGEX "/mpi\\.h$")
add_test(NAME abi_exported_symbols
         COMMAND ${CMAKE_COMMAND} -DNM=${CMAKE_NM} -DLIB=$<TARGET_FILE:nerve_shared>
                 "-DHEADERS=${_pkg_so_headers}" "-DPRIVATE=${NERVE_PRIVATE_SYMBOLS}"
                 -DNODE=${NERVE_PRIVATE_NODE}
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/package/check_symbols.cmake)
set_tests_properties(abi_exported_symbols PROPERTIES LABELS unit)
if(TARGET nerve_mpi)
  add_test(NAME abi_exported_symbols_mpi
           COMMAND ${CMAKE_COMMAND} -DNM=${CMAKE_NM} -DLIB=$<TARGET_FILE:nerve_mpi>
                   -DHEADERS=${PROJECT_SOURCE_DIR}/include/nerve/mpi.h
                   "-DPRIVATE=${NERVE_PRIVATE_SYMBOLS}" -DNODE=${NERVE_PRIVATE_NODE}
                   -DUSER=$<TARGET_FILE:nerve_mpi> -DMIN_DECLARED=3
                   -P ${CMAKE_CURRENT_SOURCE_DIR}/package/check_symbols.cmake)
  set_tests_properties(abi_exported_symbols_mpi PROPERTIES LABELS unit)
endif()

# Each header alone, as C11 and as C++11, -Wall -Wextra -pedantic -Werror.
include(CheckLanguage)
check_language(CXX)
if(CMAKE_CXX_COMPILER)
  enable_language(CXX)
endif()
set(_pkg_langs C)
if(CMAKE_CXX_COMPILER)
  list(APPEND _pkg_langs CXX)
else()
  # never skipped silently: the C++ checks fail, saying what is missing
  message(WARNING "nerve: no C++ compiler (Debian g++); the C++ header tests will fail")
  add_test(NAME header_cxx_needs_a_cxx_compiler COMMAND ${CMAKE_COMMAND} -E false)
  set_tests_properties(header_cxx_needs_a_cxx_compiler PROPERTIES LABELS unit)
endif()
foreach(h IN LISTS _pkg_headers)
  get_filename_component(name ${h} NAME_WE)
  set(_pkg_incs ${PROJECT_SOURCE_DIR}/include ${NERVE_GENERATED_INCLUDE})
  set(_pkg_sys "")
  if(name STREQUAL "mpi")
    # needs <mpi.h>: checked where MPI is (said, not silent, where it is not)
    if(NOT NERVE_WITH_MPI)
      message(STATUS "nerve: built without MPI: the nerve/mpi.h header tests are not registered")
      continue()
    endif()
    set(_pkg_sys ${MPI_C_INCLUDE_DIRS})
  endif()
  foreach(lang IN LISTS _pkg_langs)
    string(TOLOWER ${lang} l)
    add_test(NAME header_${l}_${name}
             COMMAND ${CMAKE_COMMAND} -DCOMPILER=${CMAKE_${lang}_COMPILER} -DLANG=${lang}
                     -DHEADER=nerve/${name}.h
                     "-DINCLUDES=${_pkg_incs}" "-DSYSINCLUDES=${_pkg_sys}"
                     -DWORK=${CMAKE_CURRENT_BINARY_DIR}/header_work -DNM=${CMAKE_NM}
                     -P ${CMAKE_CURRENT_SOURCE_DIR}/package/compile_header.cmake)
    set_tests_properties(header_${l}_${name} PROPERTIES LABELS unit)
  endforeach()
endforeach()

# The C API from C++, linked against the shared library (extern "C").
if(CMAKE_CXX_COMPILER)
  add_executable(abi_cxx_link ${CMAKE_CURRENT_SOURCE_DIR}/package/cxx_link.cc)
  set_target_properties(abi_cxx_link PROPERTIES CXX_STANDARD 11 CXX_STANDARD_REQUIRED ON
                                                CXX_EXTENSIONS OFF)
  target_compile_options(abi_cxx_link PRIVATE -Wall -Wextra -pedantic
                         $<$<BOOL:${NERVE_WERROR}>:-Werror>)
  target_link_libraries(abi_cxx_link PRIVATE nerve::nerve)
  add_test(NAME abi_cxx_link COMMAND abi_cxx_link)
  set_tests_properties(abi_cxx_link PROPERTIES LABELS unit)
endif()

# examples/ctypes_example.py: Python loads libnerve.so, trains on the digits
# and predicts. Without python3 the test fails, saying so.
find_package(Python3 COMPONENTS Interpreter)
if(CMAKE_CROSSCOMPILING)
  # said, not silent: the host's python cannot load the target's libnerve.so
  message(STATUS "nerve: cross build: example_ctypes not registered (runs on the target only)")
elseif(Python3_Interpreter_FOUND)
  add_test(NAME example_ctypes
           COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/examples/ctypes_example.py
                   $<TARGET_FILE:nerve_shared>)
  set_tests_properties(example_ctypes PROPERTIES TIMEOUT 300 LABELS cli)
  if(NERVE_SANITIZE)
    # An instrumented libnerve.so in an uninstrumented python: the sanitizer
    # runtimes must be loaded first, and python's own allocations are not ours.
    execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libasan.so
                    OUTPUT_VARIABLE _pkg_asan OUTPUT_STRIP_TRAILING_WHITESPACE)
    execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libubsan.so
                    OUTPUT_VARIABLE _pkg_ubsan OUTPUT_STRIP_TRAILING_WHITESPACE)
    set_tests_properties(example_ctypes PROPERTIES ENVIRONMENT
        "LD_PRELOAD=${_pkg_asan}:${_pkg_ubsan};ASAN_OPTIONS=detect_leaks=0:abort_on_error=1")
  endif()
else()
  message(WARNING "nerve: python3 not found; example_ctypes will fail until it is installed")
  add_test(NAME example_ctypes_needs_python3 COMMAND ${CMAKE_COMMAND} -E false)
  set_tests_properties(example_ctypes_needs_python3 PROPERTIES LABELS cli)
endif()

# docs/nerve.1 names every command and option of the tool and its version.
if(TARGET nerve)
  find_program(NERVE_GROFF groff)
  if(NOT NERVE_GROFF)
    message(STATUS "nerve: groff not found: man_page checks the options, not the typesetting")
  endif()
  add_test(NAME man_page
           COMMAND ${CMAKE_COMMAND} -DNERVE=$<TARGET_FILE:nerve> -DMAN=${PROJECT_SOURCE_DIR}/docs/nerve.1
                   -DVERSION=${PROJECT_VERSION} -DGROFF=${NERVE_GROFF}
                   -P ${CMAKE_CURRENT_SOURCE_DIR}/package/check_man.cmake)
  set_tests_properties(man_page PROPERTIES LABELS cli)
endif()
