# Which ISA kernel tables this build contains, with the flags of each.
# x86 ISAs are built only for x86-64, NEON only for aarch64; scalar always.
# Never -march=native: the library picks a table at run time (src/core/dispatch.c).
set(NERVE_ISAS scalar)
set(NERVE_ISA_FLAGS_scalar "")
set(NERVE_UKR_SRC_scalar ${CMAKE_CURRENT_SOURCE_DIR}/simd/gemm_scalar.c)

string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" _nerve_proc)
if(_nerve_proc MATCHES "^(x86_64|amd64)$")
  set(NERVE_ARCH_X86 ON)
  foreach(isa avx2 avx512)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/simd/gemm_${isa}.c)
      list(APPEND NERVE_ISAS ${isa})
      set(NERVE_UKR_SRC_${isa} ${CMAKE_CURRENT_SOURCE_DIR}/simd/gemm_${isa}.c)
    endif()
  endforeach()
  set(NERVE_ISA_FLAGS_avx2 -mavx2 -mfma)
  set(NERVE_ISA_FLAGS_avx512 -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma)
  # The AVX512_BF16 kernels (vdpbf16ps) belong to the avx512 table; only their
  # own file gets -mavx512bf16, and src/core/dispatch.c uses them only on a
  # CPU that has the extension (NERVE_HAVE_AVX512BF16 says they are built).
  include(CheckCCompilerFlag)
  check_c_compiler_flag(-mavx512bf16 NERVE_CC_HAS_AVX512BF16)
  if(NERVE_CC_HAS_AVX512BF16 AND "avx512" IN_LIST NERVE_ISAS
     AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/simd/gemm_avx512bf16.c)
    set(NERVE_HAVE_AVX512BF16 ON)
    list(APPEND NERVE_UKR_SRC_avx512 ${CMAKE_CURRENT_SOURCE_DIR}/simd/gemm_avx512bf16.c)
    set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/simd/gemm_avx512bf16.c
        PROPERTIES COMPILE_OPTIONS "-mavx512bf16")
  endif()
elseif(_nerve_proc MATCHES "^(aarch64|arm64)$")
  set(NERVE_ARCH_ARM64 ON)
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/simd/gemm_neon.c)
    list(APPEND NERVE_ISAS neon)
    set(NERVE_UKR_SRC_neon ${CMAKE_CURRENT_SOURCE_DIR}/simd/gemm_neon.c)
  endif()
  set(NERVE_ISA_FLAGS_neon "")   # Advanced SIMD and FMA are baseline on AArch64
endif()

# src/core/dispatch.c learns which tables exist through NERVE_HAVE_<ISA>.
set(NERVE_ISA_DEFINES)
foreach(isa IN LISTS NERVE_ISAS)
  string(TOUPPER ${isa} ISA)
  list(APPEND NERVE_ISA_DEFINES NERVE_HAVE_${ISA}=1)
endforeach()
if(NERVE_HAVE_AVX512BF16)
  list(APPEND NERVE_ISA_DEFINES NERVE_HAVE_AVX512BF16=1)
endif()
message(STATUS "nerve: kernel tables: ${NERVE_ISAS}; AVX512_BF16 kernels: ${NERVE_HAVE_AVX512BF16}")
