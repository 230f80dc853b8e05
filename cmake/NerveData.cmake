# Included by CMakeLists.txt after the layers are declared: zlib for gzip'd
# data files, the embedded digits data set, and the fuzzing harnesses.

# zlib (Debian zlib1g-dev): data_file.c inflates .gz data files.
find_package(ZLIB REQUIRED)
target_include_directories(nerve_layer_data PRIVATE ${ZLIB_INCLUDE_DIRS})
list(APPEND NERVE_EXTRA_LIBS ZLIB::ZLIB)

# data/digits.csv.gz compiled into the library as a byte array (src/data/data_load.c
# loads it by the name "digits").
set(NERVE_DIGITS_C ${CMAKE_CURRENT_BINARY_DIR}/generated/digits_csv_gz.c)
add_custom_command(
  OUTPUT ${NERVE_DIGITS_C}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/generated
  COMMAND ${CMAKE_COMMAND} -DIN=${CMAKE_CURRENT_SOURCE_DIR}/data/digits.csv.gz
          -DOUT=${NERVE_DIGITS_C} -DSYMBOL=nerve_digits_csv_gz -DHEADER=data_internal.h
          -P ${CMAKE_CURRENT_SOURCE_DIR}/cmake/NerveEmbed.cmake
  DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/data/digits.csv.gz ${CMAKE_CURRENT_SOURCE_DIR}/cmake/NerveEmbed.cmake
  COMMENT "Embedding data/digits.csv.gz"
  VERBATIM)
target_sources(nerve_layer_data PRIVATE ${NERVE_DIGITS_C})

# libFuzzer harnesses (scripts/fuzz.sh configures a clang build with this on).
option(NERVE_FUZZ "Build the libFuzzer harnesses in tests/fuzz (clang only)" OFF)
if(NERVE_FUZZ)
  add_subdirectory(tests/fuzz)
endif()
