# Script mode: cmake -DCOMPILER=cc -DLANG=C|CXX -DHEADER=nerve/net.h
#   -DINCLUDES="dir;dir" -DWORK=dir -P compile_header.cmake
# Compiles a translation unit that includes one public header alone (twice,
# for the include guard) as C11 or as C++11, at -Wall -Wextra -pedantic
# -Werror: each header must bring what it needs and be clean in both languages
# (C++ also checks the extern "C" block is balanced and the C is valid C++).
cmake_policy(VERSION 3.25)
foreach(v COMPILER LANG HEADER INCLUDES WORK)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "compile_header.cmake needs -D${v}=")
  endif()
endforeach()
string(MAKE_C_IDENTIFIER "${HEADER}" id)
file(MAKE_DIRECTORY ${WORK})
if(LANG STREQUAL "C")
  set(src ${WORK}/${id}.c)
  set(flags -std=c11 -Wall -Wextra -pedantic -Werror -Wstrict-prototypes)
  set(main "int main(void) { return 0; }")
else()
  set(src ${WORK}/${id}.cc)
  set(flags -std=c++11 -Wall -Wextra -pedantic -Werror)
  set(main "int main() { return 0; }")
endif()
file(WRITE ${src} "#include <${HEADER}>\n#include <${HEADER}>\n${main}\n")
set(incs)
foreach(d IN LISTS INCLUDES)
  list(APPEND incs -I${d})
endforeach()
execute_process(COMMAND ${COMPILER} ${flags} ${incs} -c ${src} -o ${src}.o
                OUTPUT_VARIABLE out ERROR_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT out STREQUAL "")
  message(FATAL_ERROR "<${HEADER}> alone as ${LANG}: ${COMPILER} ${flags} (exit ${rc}):\n${out}")
endif()
message(STATUS "<${HEADER}> compiles alone as ${LANG}, no warnings")
