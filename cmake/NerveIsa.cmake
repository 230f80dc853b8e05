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
message(STATUS "nerve: kernel tables: ${NERVE_ISAS}")
