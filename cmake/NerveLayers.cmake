# nerve_layer(NAME [DEPS layer...]): the OBJECT library nerve_layer_NAME of
# src/NAME/*.c. Its include path is the public headers, the generated
# version header, simd/ (the kernel layer below everything), src/NAME and the
# src/ directories of the layers in DEPS and of those below them, nothing
# else: a file of src/core that includes "net_internal.h" fails to compile. Headers are included by
# bare name ("error.h"), so the path alone decides what a layer may see.
#
# Also sets, in the caller's scope:
#   NERVE_LAYER_INCLUDES_NAME  that include path (tests/ and bench/ of a layer
#                              use it to see the layer's internals)
#   NERVE_LAYER_DEPS_NAME      DEPS with the layers below them; NERVE_LAYERS every layer declared so far
#                              (tests/layers.cmake checks the paths against them)
#   NERVE_LIB_OBJECTS          every layer's objects and every ISA's (simd/),
#                              which make libnerve.a and libnerve.so
function(nerve_layer name)
  cmake_parse_arguments(L "" "" "DEPS" ${ARGN})
  set(inc ${PROJECT_SOURCE_DIR}/include ${NERVE_GENERATED_INCLUDE} ${PROJECT_SOURCE_DIR}/simd
      ${PROJECT_SOURCE_DIR}/src/${name})
  # the layers below, transitively: net's headers include gemm's, so a
  # layer that uses net sees gemm too (never one above it or beside it)
  set(below)
  foreach(dep IN LISTS L_DEPS)
    if(NOT TARGET nerve_layer_${dep})
      message(FATAL_ERROR "nerve_layer(${name}): layer ${dep} must be declared before it")
    endif()
    list(APPEND below ${dep} ${NERVE_LAYER_DEPS_${dep}})
  endforeach()
  list(REMOVE_DUPLICATES below)
  foreach(dep IN LISTS below)
    list(APPEND inc ${PROJECT_SOURCE_DIR}/src/${dep})
  endforeach()
  file(GLOB src CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.c)
  add_library(nerve_layer_${name} OBJECT ${src})
  target_include_directories(nerve_layer_${name} PRIVATE ${inc})
  # NERVE_HAVE_<ISA>: which kernel tables this build contains
  target_compile_definitions(nerve_layer_${name} PRIVATE ${NERVE_ISA_DEFINES})
  target_link_libraries(nerve_layer_${name} PRIVATE OpenMP::OpenMP_C)
  nerve_target_warnings(nerve_layer_${name})
  set(NERVE_LAYER_INCLUDES_${name} ${inc} PARENT_SCOPE)
  set(NERVE_LAYER_DEPS_${name} ${below} PARENT_SCOPE)
  set(NERVE_LAYERS ${NERVE_LAYERS} ${name} PARENT_SCOPE)
  if(NOT NERVE_LIB_OBJECTS)
    set(NERVE_LIB_OBJECTS ${NERVE_ISA_OBJECTS})
  endif()
  list(APPEND NERVE_LIB_OBJECTS $<TARGET_OBJECTS:nerve_layer_${name}>)
  set(NERVE_LIB_OBJECTS ${NERVE_LIB_OBJECTS} PARENT_SCOPE)
endfunction()
