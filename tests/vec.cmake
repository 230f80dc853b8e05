# test_vec: direct checks of every vector header (simd/vec_<isa>.h) this
# architecture has. tests/vec/vec_check.c is compiled once per header with that
# ISA's flags (test_vec.c itself gets none) and linked into test_vec, which
# calls an ISA's checks only when the CPU can run it. The x86 headers are
# checked whether or not their kernel tables are built yet.
if(TARGET test_vec)
  set(_vec_isas scalar)
  if(NERVE_ARCH_X86)
    list(APPEND _vec_isas avx2 avx512)
  elseif(NERVE_ARCH_ARM64 AND EXISTS ${PROJECT_SOURCE_DIR}/simd/vec_neon.h)
    list(APPEND _vec_isas neon)
  endif()
  target_include_directories(test_vec PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/vec)
  foreach(isa IN LISTS _vec_isas)
    string(TOUPPER ${isa} ISA)
    add_library(vec_check_${isa} OBJECT ${CMAKE_CURRENT_SOURCE_DIR}/vec/vec_check.c)
    target_include_directories(vec_check_${isa} PRIVATE ${PROJECT_SOURCE_DIR}/simd
        ${CMAKE_CURRENT_SOURCE_DIR}/vec)
    target_compile_definitions(vec_check_${isa} PRIVATE NERVE_ISA_BUILD=${isa}
        NERVE_ISA_BUILD_${ISA}=1)
    target_compile_options(vec_check_${isa} PRIVATE ${NERVE_ISA_FLAGS_${isa}})
    nerve_target_warnings(vec_check_${isa})
    target_sources(test_vec PRIVATE $<TARGET_OBJECTS:vec_check_${isa}>)
    target_compile_definitions(test_vec PRIVATE VEC_CHECK_HAVE_${ISA}=1)
  endforeach()
endif()
