/* Selects the vector header of the ISA this translation unit is compiled for
 * (CMake defines NERVE_ISA_BUILD_<ISA> per OBJECT library) and defines
 * KNAME(x), the per-ISA name suffix: KNAME(f32_relu_fwd) is
 * f32_relu_fwd__avx512 in the avx512 object library.
 *
 * Every vector header provides the same API over a fixed logical width of
 * VL = 16 floats (one zmm, two ymm, four NEON q registers, sixteen scalars):
 *
 *   vf  16 floats          vm  16-lane mask          vi  16 int32
 *   vf_zero() vf_set1(s) vf_loadu(p) vf_storeu(p,v)
 *   vf_keep(v) = v, held in registers: the compiler may not fold the load
 *        that made v into each of its uses (an operand of several fmas is
 *        then read from memory once, not once per fma)
 *   vf_load_tail(p,n)  lanes >= n are 0 (n < 16)   vf_store_tail(p,v,n)
 *   vf_add vf_sub vf_mul vf_div vf_sqrt vf_abs vf_neg   (IEEE, one rounding)
 *   vf_fma(a,b,c) = a*b+c  vf_fnma(a,b,c) = c-a*b      (one rounding)
 *   vf_max(a,b) = a > b ? a : b     vf_min(a,b) = a < b ? a : b   (exactly;
 *        NaN handling therefore identical on every ISA)
 *   vf_lt vf_le vf_gt vf_ge vf_eq (ordered, false for NaN)  vf_isnan
 *   vm_and vm_or vm_andnot(a,b) = a & ~b   vf_select(m,a,b) = m ? a : b
 *   vf_as_vi vi_as_vf (bit casts)  vi_set1 vi_add vi_sub vi_and vi_or
 *   vi_shl23 vi_sra23 (shift by 23, the float mantissa width)
 *   vi_shl16 (shift left by 16: the low bf16 of a 32-bit pair to float bits)
 *   vi_to_vf (int32 -> float)   vf_to_vi (float -> int32, round to nearest even)
 *   vf_reduce_add(v): the fixed tree  t_i = v_i + v_{i+8}; t_i += t_{i+4};
 *        t_i += t_{i+2}; t_0 + t_1
 *
 * Nothing else may be used by generic kernels: that is what keeps every ISA
 * bit-identical to the scalar one. */
#ifndef NERVE_SIMD_VEC_H
#define NERVE_SIMD_VEC_H

#define VL 16

#define KNAME_CAT2(a, b) a##__##b
#define KNAME_CAT(a, b)  KNAME_CAT2(a, b)
#define KNAME(x)         KNAME_CAT(x, NERVE_ISA_BUILD)

#if defined(NERVE_ISA_BUILD_SCALAR)
#include "vec_scalar.h"
#elif defined(NERVE_ISA_BUILD_AVX2)
#include "vec_avx2.h"
#elif defined(NERVE_ISA_BUILD_AVX512)
#include "vec_avx512.h"
#elif defined(NERVE_ISA_BUILD_NEON)
#include "vec_neon.h"
#else
#error "simd/vec.h: compile through a per-ISA object library (NERVE_ISA_BUILD_<ISA>)"
#endif

#endif
