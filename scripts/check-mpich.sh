#!/usr/bin/env bash
# Builds nerve's MPI sources against MPICH without installing MPICH (Debian's
# libmpich-dev and libopenmpi-dev both claim mpi.h through alternatives; the
# tests use Open MPI): downloads libmpich-dev and libmpich12 with apt-get
# download, unpacks them with dpkg -x into a temporary directory, compiles
# src/mpi/mpi.c, src/cli/mpi_cli.c and tests/mpi/mpi_api.c with the project's
# warnings and -Werror, links mpi_api against libmpich and the static
# libnerve of BUILD_DIR, and runs it as a singleton (1 rank, no mpiexec):
# it must match nerve_net_train_epoch bit for bit.
#   scripts/check-mpich.sh [BUILD_DIR]     (default build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
[ -f "$build/libnerve.a" ] || { echo "no $build/libnerve.a: build first" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download libmpich-dev libmpich12 >/dev/null 2>&1)
for d in "$tmp"/*.deb; do dpkg -x "$d" "$tmp/root"; done
inc=$(dirname "$(find "$tmp/root" -name mpi.h | head -1)")
lib=$(dirname "$(find "$tmp/root" -name 'libmpich.so' | head -1)")
warn=(-std=c11 -O2 -ffp-contract=off -fopenmp -Wall -Wextra -Wshadow -Wconversion
      -Wno-sign-conversion -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Wvla
      -Wformat=2 -Werror)
incs=(-isystem "$inc" -Iinclude -I"$build/generated/include" -Isimd -Isrc/core -Isrc/gemm -Isrc/net
      -Isrc/cli)   # the include path of src/mpi (cmake/NerveMpi.cmake)
gcc "${warn[@]}" "${incs[@]}" -c src/mpi/mpi.c -o "$tmp/mpi.o"
gcc "${warn[@]}" "${incs[@]}" -DNERVE_HAVE_MPI=1 -c src/cli/mpi_cli.c -o "$tmp/mpi_cli.o"
gcc "${warn[@]}" "${incs[@]}" -c tests/mpi/mpi_api.c -o "$tmp/mpi_api.o"
gcc -fopenmp "$tmp/mpi_api.o" "$tmp/mpi.o" "$build/libnerve.a" -L"$lib" -lmpich -lz -lm \
  -o "$tmp/mpi_api"
(cd "$tmp" && LD_LIBRARY_PATH="$lib" ./mpi_api replicas)
echo "MPICH $(basename "$(ls "$tmp"/libmpich-dev_*.deb)" | cut -d_ -f2): compiles with -Werror, 1-rank run matches"
