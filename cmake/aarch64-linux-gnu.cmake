# Cross-compiling nerve for AArch64 Linux on a Debian x86-64 host:
#   apt-get install gcc-aarch64-linux-gnu qemu-user zlib1g-dev:arm64   (scripts/test-neon.sh)
#   cmake -S . -B build/aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
#         -DNERVE_BUILD_TESTS=OFF -DNERVE_BUILD_BENCH=OFF
# The whole tree (every option at its default) also needs g++-aarch64-linux-gnu,
# libcriterion-dev:arm64 and libbenchmark-dev:arm64; on Debian 12 the arm64
# Criterion cannot be installed beside the amd64 one (installing it removes
# it), so scripts/fresh-machine.sh does that build in a throwaway Debian root
# (scripts/test-neon.sh with NERVE_NEON_FULL=1). scripts/test-neon.sh runs the
# static self-test and the nerve CLI under qemu.
# A native build on an AArch64 machine needs no toolchain file.
#
# Debian's cross compiler finds the target's C library under
# /usr/aarch64-linux-gnu (package libc6-dev-arm64-cross) and, being
# multiarch-aware, also searches /usr/lib/aarch64-linux-gnu and
# /usr/include, where Debian's own arm64 packages go (zlib1g-dev:arm64, after
# `dpkg --add-architecture arm64`). So no --sysroot is passed (CMAKE_SYSROOT
# would make it look under /usr/aarch64-linux-gnu/usr); both places are roots
# for find_library / find_path / find_package. With the target architecture
# known (CMAKE_LIBRARY_ARCHITECTURE = aarch64-linux-gnu, detected from the
# compiler), the "/" root yields /usr/lib/aarch64-linux-gnu, never the host's
# /usr/lib/x86_64-linux-gnu.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(NERVE_AARCH64_TRIPLE aarch64-linux-gnu)
set(NERVE_AARCH64_ROOT /usr/${NERVE_AARCH64_TRIPLE})

set(CMAKE_C_COMPILER ${NERVE_AARCH64_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${NERVE_AARCH64_TRIPLE}-g++)

set(CMAKE_FIND_ROOT_PATH ${NERVE_AARCH64_ROOT} /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)   # host tools (ninja, pkg-config)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)    # target libraries only
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# pkg-config (Criterion, OpenBLAS) must read the arm64 .pc files only, never
# the host's: an x86-64 library found there would fail the link.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${NERVE_AARCH64_TRIPLE}/pkgconfig:/usr/share/pkgconfig)

# Target programs (try_run, ctest, custom commands using the target's
# executables) run under user-mode qemu with the target's loader and libraries.
# Note: under qemu-aarch64 7.2 a dynamically linked program hangs at its first
# pthread_create; statically linked ones run (docs/architecture.md).
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L ${NERVE_AARCH64_ROOT})
