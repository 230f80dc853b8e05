#!/usr/bin/env bash
# Installs the Debian 12 packages nerve needs when they are missing.
# As root it runs apt-get; otherwise it prints the exact apt-get line and fails.
#   scripts/deps.sh [extra-package ...]
set -euo pipefail

PKGS=(build-essential cmake ninja-build pkg-config libcriterion-dev libbenchmark-dev zlib1g-dev
      clang libclang-rt-14-dev gcc-aarch64-linux-gnu qemu-user
      libopenblas-dev libdnnl-dev valgrind dataset-fashion-mnist python3
      libopenmpi-dev openmpi-bin "$@")

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

line="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "nerve: missing Debian packages. Run as root:" >&2
  echo "  apt-get update && $line" >&2
  exit 1
fi
echo "nerve: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
