#!/usr/bin/env bash
# NEON check without ARM hardware (stage 5 of scripts/test.sh):
#   1. installs the cross compiler, qemu-user and arm64 zlib when missing;
#   2. builds and runs the native (x86-64) nerve_selftest and nerve, which
#      yield the reference checksum of the seeded training run and a
#      reference model;
#   3. cross-builds for AArch64 (cmake/aarch64-linux-gnu.cmake) into
#      build/aarch64: the library, the statically linked nerve_selftest and
#      the nerve CLI; with NERVE_NEON_FULL=1 the whole tree with every default
#      option instead (tests, bench, CLI, self-test), as a native arm64 build
#      would;
#   4. runs nerve_selftest under qemu-aarch64 with 2 OpenMP threads: vector
#      API and every kernel check of the NEON table against scalar, the
#      PyTorch vectors, the training run, and inference on prepared weights
#      against the unprepared pass;
#   5. requires the weights trained on AArch64 to equal the x86-64 ones bit
#      for bit (same CRC-32);
#   6. runs the dynamically linked nerve CLI under qemu-aarch64 with one
#      thread (nerve info, train, eval) and requires the model file it writes
#      to equal the x86-64 one byte for byte, in fp32 and in bf16 mixed
#      precision (--precision bf16: the NEON emulation against x86-64's
#      vdpbf16ps or emulation).
# The self-test is static, because under qemu-aarch64 7.2 a dynamically linked
# program hangs at its first pthread_create; the CLI runs dynamically linked
# with OMP_NUM_THREADS=1 (no thread is started). The Criterion tests and the
# bench are built but not run under qemu (Criterion starts threads and hangs).
# Timings under qemu mean nothing.
#
# NERVE_NEON_FULL=1 needs libcriterion-dev:arm64 and libbenchmark-dev:arm64,
# which this script never installs: on Debian 12 libcriterion-dev:arm64 is not
# co-installable with libcriterion-dev (amd64), and installing it removes the
# x86-64 Criterion. scripts/fresh-machine.sh installs them in a throwaway
# Debian root and runs NERVE_NEON_FULL=1 there.
#
#   scripts/test-neon.sh            (NERVE_NEON_TIMEOUT=seconds, default 600)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)
limit=${NERVE_NEON_TIMEOUT:-600}
full=${NERVE_NEON_FULL:-0}

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
# --only: just what this check builds with (the full list holds the amd64
# Criterion, which would replace the arm64 one of NERVE_NEON_FULL=1)
"$root/scripts/deps.sh" --only build-essential cmake ninja-build pkg-config zlib1g-dev \
  gcc-aarch64-linux-gnu qemu-user zlib1g-dev:arm64
if [ "$full" = 1 ]; then
  for p in libcriterion-dev:arm64 libbenchmark-dev:arm64; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] ||
      die "NERVE_NEON_FULL=1 needs $p, which is not installed; it removes the x86-64 Criterion, so install it only in a throwaway root (scripts/fresh-machine.sh does)"
  done
  "$root/scripts/deps.sh" --only g++-aarch64-linux-gnu
fi

configure() { # configure DIR cmake-args...
  local dir=$1; shift
  cmake -S "$root" -B "$dir" -G Ninja -DNERVE_WERROR=ON -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null 2>&1 ||
    cmake -S "$root" -B "$dir" -DNERVE_WERROR=ON -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
}
# readelf's whole output, then grep: `readelf | grep -q` under pipefail fails
# at random (grep exits at the first match, readelf dies of SIGPIPE)
elf_has() { # elf_has -h|-l FILE PATTERN
  local out
  out=$(aarch64-linux-gnu-readelf "$1" "$2") || return 1
  grep -q "$3" <<<"$out"
}
crc_of() { sed -n 's/^weights-crc32 \([0-9a-f]\{8\}\)$/\1/p' "$1"; }

# ---- 2. native reference -------------------------------------------------
# Reuse scripts/test.sh's release build when there is one, else a small one.
native=build/release
if [ ! -f "$native/CMakeCache.txt" ]; then
  native=build/selftest-native
  configure "$native" -DNERVE_BUILD_TESTS=OFF -DNERVE_BUILD_BENCH=OFF -DNERVE_BUILD_CLI=ON \
            -DNERVE_BUILD_SELFTEST=ON
fi
note "building the native self-test and CLI in $native"
cmake --build "$native" -j "$jobs" --target nerve_selftest nerve
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
if [ "$full" = 1 ]; then
  arm=build/aarch64-full
  note "cross-building the whole tree for AArch64, every option at its default, in $arm"
  configure "$arm" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/aarch64-linux-gnu.cmake"
else
  arm=build/aarch64
  note "cross-building the library, nerve_selftest and nerve for AArch64 in $arm"
  note "(tests and bench: NERVE_NEON_FULL=1, in a root with the arm64 Criterion; scripts/fresh-machine.sh)"
  configure "$arm" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/aarch64-linux-gnu.cmake" \
            -DNERVE_BUILD_TESTS=OFF -DNERVE_BUILD_BENCH=OFF -DNERVE_BUILD_CLI=ON \
            -DNERVE_BUILD_SELFTEST=ON
fi
cmake --build "$arm" -j "$jobs"
want_exes=(tests/selftest/nerve_selftest src/cli/nerve)
if [ "$full" = 1 ]; then
  want_exes+=(bench/nerve_bench tests/api_example)   # and every Criterion test program:
  for src in tests/*/test_*.c; do want_exes+=("tests/$(basename "$src" .c)"); done
fi
for e in "${want_exes[@]}"; do
  [ -x "$arm/$e" ] || die "the AArch64 build did not produce $arm/$e"
  elf_has -h "$arm/$e" AArch64 || die "$arm/$e is not an AArch64 program"
done
exe=$arm/tests/selftest/nerve_selftest
# A dynamic executable would hang under qemu rather than fail: refuse it.
if elf_has -l "$exe" INTERP; then
  die "$exe is dynamically linked (it would hang under qemu-aarch64)"
fi
elf_has -h "$exe" AArch64 || die "$exe is not an AArch64 program"

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

# ---- 6. the dynamically linked CLI under qemu, one thread ------------------
# The arm64 loader and libgomp come from the cross packages under
# /usr/aarch64-linux-gnu; qemu falls back to / for the rest (libz of
# zlib1g:arm64 in /usr/lib/aarch64-linux-gnu).
cli=$arm/src/cli/nerve
elf_has -l "$cli" INTERP || die "$cli is not dynamically linked"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
qemu_cli() { # qemu_cli LOG nerve-args...
  local log=$1; shift
  set +e
  OMP_NUM_THREADS=1 QEMU_LD_PREFIX=/usr/aarch64-linux-gnu timeout "$limit" qemu-aarch64 "$cli" "$@" >"$log" 2>&1
  local rc=$?
  set -e
  cat "$log"
  [ $rc -ne 124 ] || die "nerve $1 timed out after ${limit}s under qemu-aarch64"
  [ $rc -eq 0 ] || die "nerve $1 failed under qemu-aarch64 (exit $rc)"
}
train_args=(train --data digits --epochs 2 --threads 1 --quiet)
note "nerve info, train and eval under qemu-aarch64 (OMP_NUM_THREADS=1)"
qemu_cli "$tmp/info.log" info
grep -Eq '^ +neon +supported.*<- in use' "$tmp/info.log" || die "nerve info under qemu does not use the NEON table"
qemu_cli "$tmp/train.log" "${train_args[@]}" --out "$tmp/arm.nrv"
qemu_cli "$tmp/eval.log" eval --model "$tmp/arm.nrv" --data digits --threads 1
OMP_NUM_THREADS=1 "$native/src/cli/nerve" "${train_args[@]}" --out "$tmp/x86.nrv" >/dev/null
cmp -s "$tmp/x86.nrv" "$tmp/arm.nrv" ||
  die "the model trained by nerve on AArch64 differs from the x86-64 one ($(uname -m), same arguments)"
note "nerve on AArch64 (qemu, one thread) trained a model identical byte for byte to x86-64's"
# bf16 mixed precision: the NEON emulation against x86-64 (vdpbf16ps on a CPU
# with AVX512_BF16, an emulation elsewhere): one epoch, the same file
qemu_cli "$tmp/train16.log" train --data digits --epochs 1 --threads 1 --quiet --precision bf16 \
  --out "$tmp/arm16.nrv"
OMP_NUM_THREADS=1 "$native/src/cli/nerve" train --data digits --epochs 1 --threads 1 --quiet \
  --precision bf16 --out "$tmp/x86_16.nrv" >/dev/null
cmp -s "$tmp/x86_16.nrv" "$tmp/arm16.nrv" ||
  die "the bf16 model trained on AArch64 differs from the x86-64 one"
note "bf16: the same model byte for byte on AArch64 (NEON emulation) and x86-64 ($("$native/src/cli/nerve" info | sed -n 's/^bf16 *//p' | cut -c1-40))"

# ---- 7. the public kernel API on NEON: examples/backend_mlp.c ------------
# A trainer written with kernels.h alone must match nerve_net bit for bit.
mlp=$arm/backend_mlp
aarch64-linux-gnu-gcc -O2 -std=c11 -I"$root/include" -I"$arm/generated/include" \
  "$root/examples/backend_mlp.c" \
  "$arm/libnerve.a" -static -fopenmp -lz -lm -o "$mlp" ||
  die "cannot build examples/backend_mlp.c for AArch64"
for isa in neon scalar; do
  OMP_NUM_THREADS=2 NERVE_MAX_ISA=$isa timeout "$limit" qemu-aarch64 "$mlp" ||
    die "examples/backend_mlp.c differs from nerve_net on AArch64 ($isa)"
done
note "passed"
