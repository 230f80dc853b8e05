#!/usr/bin/env bash
# Installs the Debian 12 packages nerve needs when they are missing.
# As root it runs apt-get; otherwise it prints the exact apt-get line and fails.
#   scripts/deps.sh [extra-package ...]
#   scripts/deps.sh --only package ...   (just these: scripts/test-neon.sh)
#
# Required: what the build probes with REQUIRED (compiler, OpenMP, zlib,
# Criterion through pkg-config, Google Benchmark) and what the test scripts
# run (python3 for the CLI tests, clang and its libFuzzer runtime, valgrind),
# plus the Fashion-MNIST data set of the demo. On x86-64 also the AArch64
# cross compiler and qemu-user of scripts/test-neon.sh (on an arm64 machine
# NEON is tested natively, and those cross packages do not exist there).
# Optional: the benchmark peers OpenBLAS and oneDNN. The build probes them in
# a way that can only switch them off; here they are installed where Debian
# has them for this architecture and left out, with a note, where it does not.
set -euo pipefail
native=$(dpkg --print-architecture)

if [ "${1:-}" = --only ]; then
  shift
  PKGS=("$@") OPTIONAL=()
else
  PKGS=(build-essential cmake ninja-build pkg-config libcriterion-dev libbenchmark-dev zlib1g-dev
        clang libclang-rt-14-dev valgrind dataset-fashion-mnist python3
        libopenmpi-dev openmpi-bin)
  OPTIONAL=(libopenblas-dev libdnnl-dev)
  [ "$native" = amd64 ] && PKGS+=(gcc-aarch64-linux-gnu qemu-user)
  PKGS+=("$@")
fi

# installed for this architecture (or arch "all"): with arm64 enabled, a bare
# name also matches the arm64 instance of a multi-arch package
# (outputs are read whole: grep -q in a pipe under pipefail can kill the
# writer with SIGPIPE and fail the test at random)
installed() {
  local arch=$native out
  case $1 in *:*) arch=${1##*:} ;; esac
  out=$(dpkg-query -W -f='${Status} ${Architecture}\n' "$1" 2>/dev/null) || return 1
  grep -Eqx "install ok installed ($arch|all)" <<<"$out"
}
# a candidate version in the archive for this architecture (needs the lists)
available() {
  local out
  out=$(apt-cache policy "$1" 2>/dev/null) || return 1
  grep -q 'Candidate: [0-9]' <<<"$out"
}

missing=() optional=()
for p in "${PKGS[@]}"; do installed "$p" || missing+=("$p"); done
for p in "${OPTIONAL[@]}"; do installed "$p" || optional+=("$p"); done
[ ${#missing[@]} -eq 0 ] && [ ${#optional[@]} -eq 0 ] && exit 0

# the missing optional packages the archive has for this architecture
wanted=()
pick_optional() { # pick_optional quiet|say
  wanted=()
  for p in ${optional[@]+"${optional[@]}"}; do
    if available "$p"; then
      wanted+=("$p")
    elif [ "$1" = say ]; then
      echo "nerve: optional $p is not in the archive for $native; its benchmark peer stays off" >&2
    fi
  done
}

if [ "$(id -u)" -ne 0 ]; then
  pick_optional quiet
  all=(${missing[@]+"${missing[@]}"} ${wanted[@]+"${wanted[@]}"})
  [ ${#all[@]} -eq 0 ] && exit 0
  echo "nerve: missing Debian packages. Run as root:" >&2
  echo "  apt-get update && apt-get install -y --no-install-recommends ${all[*]}" >&2
  exit 1
fi
if [ ${#missing[@]} -eq 0 ]; then
  # only optional ones missing: no apt-get update unless the lists offer one
  pick_optional quiet
  [ ${#wanted[@]} -gt 0 ] || exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
pick_optional say
all=(${missing[@]+"${missing[@]}"} ${wanted[@]+"${wanted[@]}"})
[ ${#all[@]} -eq 0 ] && exit 0
echo "nerve: installing ${all[*]}" >&2
# waits for the dpkg lock when another apt-get holds it
apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "${all[@]}" >/dev/null
