# Compiler flags shared by every nerve target.
#
# -ffp-contract=off: the compiler must never fuse a*b+c on its own; fused
# multiply-adds are written explicitly (fmaf / intrinsics), identically in every
# ISA, which is what makes results bit-identical across ISAs
# (docs/architecture.md, "Reproducibility").
add_compile_options(-ffp-contract=off -fno-math-errno -fvisibility=hidden)

set(NERVE_WARNINGS -Wall -Wextra -Wshadow -Wconversion -Wno-sign-conversion
    -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Wvla -Wformat=2)
if(NERVE_WERROR)
  list(APPEND NERVE_WARNINGS -Werror)
endif()

function(nerve_target_warnings tgt)
  get_target_property(langs ${tgt} LINKER_LANGUAGE)
  target_compile_options(${tgt} PRIVATE $<$<COMPILE_LANGUAGE:C>:${NERVE_WARNINGS}>)
endfunction()

if(NERVE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# ThreadSanitizer (scripts/test.sh): nerve's own code instrumented; libgomp
# is not, its synchronisation is declared to TSan in src/core/omp_sync.h and its
# internals suppressed by tests/tsan.supp.
option(NERVE_TSAN "Build with ThreadSanitizer" OFF)
if(NERVE_TSAN)
  if(NERVE_SANITIZE)
    message(FATAL_ERROR "NERVE_TSAN and NERVE_SANITIZE cannot be combined")
  endif()
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()
