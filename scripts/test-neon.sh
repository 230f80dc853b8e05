#!/usr/bin/env bash
# NEON check without ARM hardware (stage 5 of scripts/test.sh):
#   1. installs the cross compiler, qemu-user and arm64 zlib when missing;
#   2. builds and runs the native (x86-64) nerve_selftest, which yields the
#      reference checksum of the seeded training run;
#   3. cross-builds the library and the statically linked nerve_selftest for
#      AArch64 (cmake/aarch64-linux-gnu.cmake) into build/aarch64;
#   4. runs it under qemu-aarch64 with 2 OpenMP threads: vector API and every
#      kernel check of the NEON table against scalar, the PyTorch vectors,
#      and the training run;
#   5. requires the weights trained on AArch64 to equal the x86-64 ones bit
#      for bit (same CRC-32).
# Static, because under qemu-aarch64 7.2 a dynamically linked program hangs
# at its first pthread_create. Timings under qemu mean nothing.
#
#   scripts/test-neon.sh            (NERVE_NEON_TIMEOUT=seconds, default 600)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)
limit=${NERVE_NEON_TIMEOUT:-600}

note() { printf 'test-neon: %s\n' "$*"; }
die() { printf 'test-neon: FAILED: %s\n' "$*" >&2; exit 1; }

# ---- 1. packages ---------------------------------------------------------
# libz.a for arm64 comes from Debian's own arm64 package, which needs the
# foreign architecture enabled (the cross gcc searches /usr/lib/aarch64-linux-gnu).
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  if [ "$(id -u)" -ne 0 ]; then
    die "arm64 packages are not enabled. Run as root: dpkg --add-architecture arm64 && apt-get update"
  fi
  note "enabling the arm64 architecture for zlib1g-dev:arm64"
  dpkg --add-architecture arm64
fi
"$root/scripts/deps.sh" gcc-aarch64-linux-gnu qemu-user zlib1g-dev:arm64

configure() { # configure DIR cmake-args...
  local dir=$1; shift
  cmake -S "$root" -B "$dir" -G Ninja -DNERVE_WERROR=ON -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null 2>&1 ||
    cmake -S "$root" -B "$dir" -DNERVE_WERROR=ON -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
}
crc_of() { sed -n 's/^weights-crc32 \([0-9a-f]\{8\}\)$/\1/p' "$1"; }

# ---- 2. native reference -------------------------------------------------
# Reuse scripts/test.sh's release build when there is one, else a small one.
native=build/release
if [ ! -f "$native/CMakeCache.txt" ]; then
  native=build/selftest-native
  configure "$native" -DNERVE_BUILD_TESTS=OFF -DNERVE_BUILD_BENCH=OFF -DNERVE_BUILD_CLI=OFF \
            -DNERVE_BUILD_SELFTEST=ON
fi
note "building the native self-test in $native"
cmake --build "$native" -j "$jobs" --target nerve_selftest
native_log=$native/selftest-native.log
note "running it"
if ! OMP_NUM_THREADS=2 timeout "$limit" "$native/tests/selftest/nerve_selftest" --threads 2 \
      >"$native_log" 2>&1; then
  cat "$native_log"
  die "the native self-test failed, so there is no reference checksum ($native_log)"
fi
want=$(crc_of "$native_log")
[ -n "$want" ] || { cat "$native_log"; die "no weights-crc32 line in $native_log"; }
note "x86-64 ($(uname -m)) trained weights: crc32 $want"

# ---- 3. cross build --------------------------------------------------------
arm=build/aarch64
note "cross-building for AArch64 in $arm"
configure "$arm" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/aarch64-linux-gnu.cmake" \
          -DNERVE_BUILD_TESTS=OFF -DNERVE_BUILD_BENCH=OFF -DNERVE_BUILD_CLI=OFF \
          -DNERVE_BUILD_SELFTEST=ON
cmake --build "$arm" -j "$jobs"
exe=$arm/tests/selftest/nerve_selftest
# A dynamic executable would hang under qemu rather than fail: refuse it.
if aarch64-linux-gnu-readelf -l "$exe" | grep -q 'INTERP'; then
  die "$exe is dynamically linked (it would hang under qemu-aarch64)"
fi
aarch64-linux-gnu-readelf -h "$exe" | grep -q 'AArch64' || die "$exe is not an AArch64 program"

# ---- 4. run under qemu -----------------------------------------------------
arm_log=$arm/selftest-qemu.log
note "running $exe under qemu-aarch64 (2 OpenMP threads, limit ${limit}s)"
set +e
OMP_NUM_THREADS=2 timeout "$limit" qemu-aarch64 "$exe" --threads 2 >"$arm_log" 2>&1
rc=$?
set -e
cat "$arm_log"
[ $rc -ne 124 ] || die "timed out after ${limit}s under qemu-aarch64"
[ $rc -eq 0 ] || die "the AArch64 self-test failed under qemu (exit $rc, $arm_log)"
grep -Eq '^kernel .* neon +ok' "$arm_log" || die "no NEON kernel check ran ($arm_log)"

# ---- 5. same model on both architectures ----------------------------------
got=$(crc_of "$arm_log")
[ -n "$got" ] || die "no weights-crc32 line in $arm_log"
if [ "$got" != "$want" ]; then
  die "weights trained on AArch64 (crc32 $got) differ from x86-64 (crc32 $want)"
fi
note "AArch64 (NEON, qemu) trained weights: crc32 $got, identical to x86-64"

# ---- 6. the public kernel API on NEON: examples/backend_mlp.c ------------
# A trainer written with kernels.h alone must match nerve_net bit for bit.
mlp=$arm/backend_mlp
aarch64-linux-gnu-gcc -O2 -std=c11 -I"$root/include" "$root/examples/backend_mlp.c" \
  "$arm/libnerve.a" -static -fopenmp -lz -lm -o "$mlp" 2>/dev/null ||
  die "cannot build examples/backend_mlp.c for AArch64"
for isa in neon scalar; do
  OMP_NUM_THREADS=2 NERVE_MAX_ISA=$isa timeout "$limit" qemu-aarch64 "$mlp" ||
    die "examples/backend_mlp.c differs from nerve_net on AArch64 ($isa)"
done
note "passed"
