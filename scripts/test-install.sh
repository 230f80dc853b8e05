#!/usr/bin/env bash
# Checks nerve as its users get it (issue 12), from a build directory:
#   1. `cmake --install` into a temporary prefix: every file a well-kept C
#      library installs is there, the SONAME is right;
#   2. the examples (examples/*.c) built by an outside CMake project with
#      find_package(nerve 0.2), shared and static, and run; a C++-only project
#      using the shared library; a request for the next 0.x refused;
#   3. the same examples built with plain cc and pkg-config, shared and
#      static (Libs.private), and run;
#   4. examples/ctypes_example.py against the installed libnerve.so, and the
#      installed tool;
#   5. `cpack -G DEB`: the package's metadata and contents, then installed
#      and purged with dpkg in a scratch root (--root), never the host's.
# Usage: scripts/test-install.sh BUILD_DIR (built already). Exits non-zero on
# any failure; removes its temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=$(cd "${1:?usage: scripts/test-install.sh BUILD_DIR}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test-install: $*" >&2; exit 1; }
step() { printf -- '-- %s\n' "$*"; }

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
[ -n "$version" ] || fail "no project version in $build/CMakeCache.txt"
IFS=. read -r major minor _ <<<"$version"
if [ "$major" = 0 ]; then soname=libnerve.so.$major.$minor; else soname=libnerve.so.$major; fi
cc=${CC:-cc}

step "1. cmake --install into a temporary prefix"
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
so=$(find "$prefix" -name libnerve.so -print -quit)
[ -n "$so" ] || fail "no libnerve.so installed"
libdir=$(dirname "$so")
for f in include/nerve/nerve.h include/nerve/version.h include/nerve/net.h include/nerve/data.h \
    bin/nerve share/man/man1/nerve.1 share/doc/nerve/README.md share/doc/nerve/LICENSE \
    share/doc/nerve/cli.md share/doc/nerve/examples/CMakeLists.txt; do
  [ -f "$prefix/$f" ] || fail "not installed: $f"
done
for f in libnerve.a "libnerve.so.$version" "$soname" pkgconfig/nerve.pc cmake/nerve/nerveConfig.cmake \
    cmake/nerve/nerveConfigVersion.cmake cmake/nerve/nerveTargets.cmake \
    cmake/nerve/nerveStaticTargets.cmake; do
  [ -e "$libdir/$f" ] || fail "not installed: ${libdir#"$prefix"/}/$f"
done
[ ! -e "$prefix/include/nerve/version.h.in" ] || fail "version.h.in installed"
got=$(readelf -d "$libdir/libnerve.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$got" = "$soname" ] || fail "SONAME is '$got', expected $soname"
grep -qx "prefix=$prefix" "$libdir/pkgconfig/nerve.pc" || fail "nerve.pc: prefix is not $prefix"
[ "$("$prefix/bin/nerve" --version)" = "nerve $version" ] || fail "installed nerve --version"
examples=("$root"/examples/*.c)
run() { # run DIR PROGRAM: runs it with no argument in a fresh directory
  mkdir -p "$1"
  (cd "$1" && "$2" >/dev/null) || fail "$2 failed"
}
uses_installed() { # the shared build must resolve libnerve from the prefix
  local where
  where=$(ldd "$1" | awk '/libnerve\.so/ {print $3}')
  [ "$where" = "$libdir/$soname" ] || fail "$1 loads libnerve from '$where', not $libdir"
}
no_libnerve_so() { # a static build must not need libnerve.so
  local deps
  deps=$(ldd "$1")
  [[ $deps != *libnerve* ]] || fail "$1 links libnerve.so"
}

step "2. examples through find_package(nerve $major.$minor): ${examples[*]##*/}"
cmake -S "$root/examples" -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
  -DNERVE_EXAMPLES_WERROR=ON >"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log"; fail "configure"; }
grep -q "nerve $version found in $libdir/cmake/nerve" "$tmp/cmake.log" ||
  { cat "$tmp/cmake.log"; fail "find_package did not find the installed nerve"; }
cmake --build "$tmp/cmake" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; fail "build"; }
for src in "${examples[@]}"; do
  name=$(basename "$src" .c)
  uses_installed "$tmp/cmake/$name"
  no_libnerve_so "$tmp/cmake/${name}_static"
done
(cd "$tmp/cmake" && ctest --output-on-failure) >"$tmp/ctest.log" 2>&1 ||
  { cat "$tmp/ctest.log"; fail "examples (find_package) failed"; }
# A C++-only project (no C enabled: the static target is left out quietly)
# through the shared library: the headers' extern "C" from outside.
mkdir -p "$tmp/cxx"
cp "$root/tests/package/cxx_link.cc" "$tmp/cxx/"
cat >"$tmp/cxx/CMakeLists.txt" <<EOT
cmake_minimum_required(VERSION 3.25)
project(cxx_user LANGUAGES CXX)
find_package(nerve $major.$minor REQUIRED)
add_executable(cxx_link cxx_link.cc)
target_compile_options(cxx_link PRIVATE -Wall -Wextra -pedantic -Werror)
target_link_libraries(cxx_link PRIVATE nerve::nerve)
EOT
{ cmake -S "$tmp/cxx" -B "$tmp/cxx/b" -DCMAKE_PREFIX_PATH="$prefix" && cmake --build "$tmp/cxx/b" &&
  "$tmp/cxx/b/cxx_link"; } >"$tmp/cxx.log" 2>&1 || { cat "$tmp/cxx.log"; fail "C++ user project"; }
uses_installed "$tmp/cxx/b/cxx_link"
# With MPI: libnerve_mpi through find_package(nerve COMPONENTS mpi), linked
# and run as one rank (singleton MPI_Init, no mpirun needed).
if [ -f "$libdir/cmake/nerve/nerveMpiTargets.cmake" ]; then
  mkdir -p "$tmp/mpi"
  cat >"$tmp/mpi/CMakeLists.txt" <<EOT
cmake_minimum_required(VERSION 3.25)
project(mpi_user LANGUAGES C)
find_package(nerve $major.$minor REQUIRED COMPONENTS mpi)
add_executable(mpi_user mpi_user.c)
target_link_libraries(mpi_user PRIVATE nerve::mpi)
EOT
  cat >"$tmp/mpi/mpi_user.c" <<'EOT'
#include <nerve/mpi.h>
#include <stdio.h>
int main(int argc, char **argv) {
    if (MPI_Init(&argc, &argv) != MPI_SUCCESS) return 1;
    nerve_net *net;
    const size_t sizes[] = {4, 3};
    const nerve_act acts[] = {NERVE_ACT_IDENTITY};
    int rc = nerve_net_create(&net, 1, sizes, acts, NERVE_LOSS_MSE, 1) != NERVE_OK;
    if (!rc) rc = nerve_net_check_replicas_mpi(net, MPI_COMM_WORLD, NULL) != NERVE_OK;
    if (!rc) nerve_net_free(net);
    MPI_Finalize();
    return rc;
}
EOT
  { cmake -S "$tmp/mpi" -B "$tmp/mpi/b" -DCMAKE_PREFIX_PATH="$prefix" && cmake --build "$tmp/mpi/b" &&
    OMPI_MCA_btl=self,vader "$tmp/mpi/b/mpi_user"; } >"$tmp/mpi.log" 2>&1 ||
    { cat "$tmp/mpi.log"; fail "MPI user project (find_package(nerve COMPONENTS mpi))"; }
fi
# A version the package must refuse: the next minor (0.x) or major release.
if [ "$major" = 0 ]; then want=0.$((minor + 1)); else want=$((major + 1)).0; fi
mkdir -p "$tmp/refuse"
cat >"$tmp/refuse/CMakeLists.txt" <<EOT
cmake_minimum_required(VERSION 3.25)
project(refuse LANGUAGES C)
find_package(nerve $want REQUIRED)
EOT
if cmake -S "$tmp/refuse" -B "$tmp/refuse/b" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null 2>&1; then
  fail "find_package(nerve $want) accepted nerve $version"
fi

step "3. examples through pkg-config (cc $(PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --cflags --libs nerve))"
export PKG_CONFIG_PATH=$libdir/pkgconfig
[ "$(pkg-config --modversion nerve)" = "$version" ] || fail "pkg-config --modversion nerve"
read -r -a cflags <<<"$(pkg-config --cflags nerve)"
read -r -a libs <<<"$(pkg-config --libs nerve)"
# static: the archive by name, then what Libs.private / Requires.private add
read -r -a slibs <<<"$(pkg-config --static --libs nerve | sed 's/-lnerve\b/-l:libnerve.a/')"
for src in "${examples[@]}"; do
  name=$(basename "$src" .c)
  "$cc" -std=c11 -Wall -Wextra -pedantic -Werror "${cflags[@]}" "$src" -o "$tmp/pc-$name" \
    "${libs[@]}" -Wl,-rpath,"$libdir" || fail "cc $name.c with pkg-config --libs"
  "$cc" -std=c11 -Wall -Wextra -pedantic -Werror "${cflags[@]}" "$src" -o "$tmp/pc-$name-static" \
    "${slibs[@]}" || fail "cc $name.c with pkg-config --static --libs"
  uses_installed "$tmp/pc-$name"
  no_libnerve_so "$tmp/pc-$name-static"
  run "$tmp/run/pc-$name" "$tmp/pc-$name"
  run "$tmp/run/pc-$name-static" "$tmp/pc-$name-static"
done

step "4. examples/ctypes_example.py with the installed libnerve.so"
python3 "$root/examples/ctypes_example.py" "$libdir/libnerve.so" >/dev/null ||
  fail "ctypes example against $libdir/libnerve.so"

step "5. cpack -G DEB, installed and purged with dpkg --root"
(cd "$build" && cpack -G DEB -B "$tmp/deb") >"$tmp/cpack.log" 2>&1 ||
  { cat "$tmp/cpack.log"; fail "cpack -G DEB"; }
deb=$(find "$tmp/deb" -maxdepth 1 -name "nerve_${version}_*.deb" -print -quit)
[ -n "$deb" ] || { cat "$tmp/cpack.log"; fail "no nerve_${version}_*.deb"; }
[ "$(dpkg-deb -f "$deb" Package)" = nerve ] || fail "Package field"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "Version field"
depends=$(dpkg-deb -f "$deb" Depends)
for d in libc6 libgomp1 zlib1g; do
  [[ $depends == *"$d "* || $depends == *"$d" || $depends == *"$d,"* ]] ||
    fail "Depends '$depends' lacks $d"
done
dpkg-deb -c "$deb" >"$tmp/contents"
for f in ./usr/bin/nerve ./usr/include/nerve/nerve.h ./usr/include/nerve/version.h \
    "/libnerve.so.$version" /libnerve.a /pkgconfig/nerve.pc /cmake/nerve/nerveConfig.cmake \
    ./usr/share/man/man1/nerve.1 ./usr/share/doc/nerve/README.md; do
  grep -q -- "$f\$" "$tmp/contents" || fail ".deb lacks $f"
done
outside=$(grep -v -e ' \./usr/' -e ' \./$' "$tmp/contents" || true)
[ -z "$outside" ] || fail ".deb installs outside /usr: $outside"
# a scratch root with an empty dpkg database: the host's is never touched
droot=$tmp/droot
mkdir -p "$droot/var/lib/dpkg/info" "$droot/var/lib/dpkg/updates" "$droot/var/log"
: >"$droot/var/lib/dpkg/status"
# Maintainer scripts run outside the scratch root (it has no shell), with a
# stub ldconfig first in PATH: the package's postinst and postrm call ldconfig,
# which here only notes the call instead of rewriting the host's cache.
mkdir -p "$tmp/stub"
printf '#!/bin/sh\necho "ldconfig $*" >>"%s"\n' "$tmp/ldconfig.calls" >"$tmp/stub/ldconfig"
chmod +x "$tmp/stub/ldconfig"
dpkgr=(env PATH="$tmp/stub:$PATH" dpkg --root="$droot" --log="$droot/var/log/dpkg.log"
       --force-not-root --force-script-chrootless)
# its dependencies (libc6, ...) are the host's, not in the scratch database
"${dpkgr[@]}" --force-depends -i "$deb" >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; fail "dpkg -i"; }
status=$("${dpkgr[@]}" -s nerve) || fail "dpkg -s nerve"
grep -qx 'Status: install ok installed' <<<"$status" || fail "not installed: $status"
so=$(find "$droot/usr" -name libnerve.so -print -quit)
[ -n "$so" ] || fail "the .deb installed no libnerve.so"
usrlib=$(dirname "$so")
[ -f "$usrlib/libnerve.so.$version" ] || fail "libnerve.so.$version not installed"
[ -L "$usrlib/$soname" ] || fail "$soname not installed"
grep -qx "prefix=/usr" "$usrlib/pkgconfig/nerve.pc" || fail ".deb's nerve.pc: prefix is not /usr"
[ "$("$droot/usr/bin/nerve" --version)" = "nerve $version" ] || fail "the .deb's nerve --version"
"${dpkgr[@]}" --purge nerve >>"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; fail "dpkg --purge"; }
[ "$(wc -l <"$tmp/ldconfig.calls")" = 2 ] || fail "postinst and postrm did not run ldconfig once each"
left=$(find "$droot/usr" ! -type d 2>/dev/null || true)
[ -z "$left" ] || fail "left behind after dpkg --purge: $left"
"${dpkgr[@]}" -s nerve >/dev/null 2>&1 && fail "still known to dpkg after --purge"
step "installed package checks passed ($deb)"
