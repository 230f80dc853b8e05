# Cross-compiling nerve for AArch64 Linux on a Debian x86-64 host:
#   apt-get install gcc-aarch64-linux-gnu qemu-user      (scripts/deps.sh)
#   cmake -S . -B build/aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
#         -DNERVE_BUILD_TESTS=OFF -DNERVE_BUILD_BENCH=OFF -DNERVE_BUILD_CLI=OFF \
#         -DNERVE_BUILD_SELFTEST=ON
# (scripts/test-neon.sh does this and runs the static self-test under qemu.)
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

# Target programs (try_run, ctest, custom commands using the target's
# executables) run under user-mode qemu with the target's loader and libraries.
# Note: under qemu-aarch64 7.2 a dynamically linked program hangs at its first
# pthread_create; statically linked ones run (docs/architecture.md).
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L ${NERVE_AARCH64_ROOT})
