#!/usr/bin/env bash
# The README's promise checked on a fresh machine (stage 6 of scripts/test.sh):
#   1. a minimal Debian 12 root (debootstrap --variant=minbase bookworm), built
#      once and cached as a tarball of the *bare* root (NERVE_FRESH_CACHE,
#      default /var/cache/nerve), copied fresh for every run, so that
#      scripts/deps.sh installs every package from nothing each time;
#   2. this machine's Debian apt sources and keyrings copied into it (only
#      the Debian suites: other repositories configured here are left out);
#   3. the committed HEAD of this checkout cloned into it (/root/nerve);
#   4. inside, as root with chroot, what a new user types:
#        NERVE_TEST_QUICK=1 scripts/test.sh       (installs the packages)
#        NERVE_DEMO_EPOCHS=1 scripts/demo.sh
#   5. on x86-64, the same root then becomes an AArch64 cross-build machine:
#      arm64 added as a foreign architecture, the cross compilers and the
#      arm64 Criterion, Google Benchmark, zlib and OpenBLAS installed (this
#      removes the x86-64 Criterion, which is why it is done here and never on
#      the build machine), and NERVE_NEON_FULL=1 scripts/test-neon.sh builds
#      the whole tree with every default option for AArch64 and runs the
#      self-test and the nerve CLI under qemu-aarch64.
# Exits non-zero on any failure. Mounts (/proc, /sys, /dev, /dev/pts,
# /dev/shm, the package cache) are always undone, also on failure or Ctrl-C.
# Downloaded .deb files are kept in NERVE_FRESH_CACHE/apt-archives and
# bind-mounted into the root: a rerun installs every package again, from the
# local files, without downloading them again.
#
#   scripts/fresh-machine.sh             (as root)
#   NERVE_FRESH_REBUILD=1   rebuild the cached bare root (also done when it is
#                           older than 7 days)
#   NERVE_FRESH_KEEP=1      keep the root afterwards (its path is printed)
#   NERVE_FRESH_ARM64=0     skip step 5 (it says so)
set -euo pipefail
{ # read whole before it runs: a checkout or an edit during a run cannot change it
cd "$(dirname "$0")/.."
root=$(pwd)
cache=${NERVE_FRESH_CACHE:-/var/cache/nerve}
suite=bookworm

note() { printf 'fresh-machine: %s\n' "$*"; }
die() { printf 'fresh-machine: FAILED: %s\n' "$*" >&2; exit 1; }
step() { printf '\n---- fresh-machine: %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }
t0=$SECONDS

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, mount and chroot): sudo $0"
arch=$(dpkg --print-architecture)
"$root/scripts/deps.sh" --only debootstrap git ca-certificates   # the project's own: inside

# ---- the Debian apt sources of this machine ------------------------------
# deb822 stanzas (/etc/apt/sources.list.d/*.sources) whose suites are all
# Debian's bookworm suites; anything else (vendor or cloud repositories) is
# left out. The mirror for debootstrap is the URI serving "bookworm" itself.
debian_sources() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    awk -v suite="$suite" '
      function flush() {
        if (n && keep && suites) { for (i = 1; i <= n; i++) print buf[i]; print "" }
        n = 0; keep = 1; suites = 0
      }
      BEGIN { n = 0; keep = 1; suites = 0 }
      /^[[:space:]]*$/ { flush(); next }
      /^#/ { next }
      {
        buf[++n] = $0
        if (tolower($1) == "suites:") {
          suites = 1
          for (i = 2; i <= NF; i++)
            if ($i !~ "^" suite "(-updates|-security|-backports|-proposed-updates)?$") keep = 0
        }
        if (tolower($1) == "enabled:" && tolower($2) == "no") keep = 0
      }
      END { flush() }' "$f"
  done
}
sources=$(debian_sources)
[ -n "$sources" ] || die "no Debian $suite source in /etc/apt/sources.list.d/*.sources"
mirror=$(printf '%s\n' "$sources" | awk -v suite="$suite" '
  /^[[:space:]]*$/ { if (has && uri) { print uri; exit } uri = ""; has = 0; next }
  tolower($1) == "uris:" { uri = $2 }
  tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) has = 1 }
  END { if (has && uri) print uri }' | head -n 1)
[ -n "$mirror" ] || die "no apt source serves the suite $suite"
keyrings=$(printf '%s\n' "$sources" | awk 'tolower($1) == "signed-by:" && $2 ~ /^\// { print $2 }' | sort -u)
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -z "$keyrings" ] || keyring=$(printf '%s\n' "$keyrings" | head -n 1)
note "Debian mirror from this machine's apt sources: $mirror"

# ---- 1. the cached bare root ---------------------------------------------
tarball=$cache/$suite-$arch-minbase.tar
mkdir -p "$cache/apt-archives/partial"
# one run at a time: the cache (and apt's lock in it) is shared
exec 9>"$cache/lock"
if ! flock -n 9; then
  note "waiting for another fresh-machine run to finish (lock $cache/lock)"
  flock 9
fi
work=$(mktemp -d /var/tmp/nerve-fresh.XXXXXX)
rootfs=$work/root
mounted=()

cleanup() {
  local rc=$? i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" ||
      echo "fresh-machine: could not unmount ${mounted[i]}" >&2
  done
  # never delete through a mount that is still there (it could be /dev)
  if grep -q " $work/" /proc/self/mounts; then
    echo "fresh-machine: mounts remain under $work; not deleting it:" >&2
    grep " $work/" /proc/self/mounts >&2
    rc=1
  elif [ "${NERVE_FRESH_KEEP:-0}" = 1 ]; then
    echo "fresh-machine: root kept in $rootfs (delete with: rm -rf $work)" >&2
  else
    rm -rf "$work"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# a bare root older than a week is built again, so the base stays what a
# fresh machine gets today
if [ "${NERVE_FRESH_REBUILD:-0}" = 1 ] || [ ! -s "$tarball" ] ||
   [ -n "$(find "$tarball" -mtime +7)" ]; then
  step "debootstrap --variant=minbase $suite ($arch), cached afterwards as $tarball"
  mkdir -p "$rootfs"
  include=()   # apt in the root needs the CA certificates for an https mirror
  case $mirror in https:*) include=(--include=ca-certificates) ;; esac
  if ! debootstrap --variant=minbase --arch="$arch" --keyring="$keyring" ${include[@]+"${include[@]}"} \
        "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
    tail -n 30 "$work/debootstrap.log" >&2
    [ ! -e "$rootfs/debootstrap/debootstrap.log" ] || tail -n 30 "$rootfs/debootstrap/debootstrap.log" >&2
    die "debootstrap failed"
  fi
  rm -f "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" --numeric-owner -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$rootfs"
fi
step "fresh copy of the bare root ($tarball)"
mkdir -p "$rootfs"
tar -C "$rootfs" --numeric-owner -xf "$tarball"

# ---- 2. apt sources, keyrings, name resolution ------------------------------
rm -f "$rootfs/etc/apt/sources.list" "$rootfs"/etc/apt/sources.list.d/*
printf '%s\n' "$sources" >"$rootfs/etc/apt/sources.list.d/debian.sources"
for k in $keyrings; do
  [ -f "$k" ] || die "keyring $k (Signed-By of a Debian source) is missing"
  mkdir -p "$rootfs$(dirname "$k")"
  cp "$k" "$rootfs$k"
done
cp -L /etc/resolv.conf "$rootfs/etc/resolv.conf"
# no daemons started by package scripts inside the root
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod 755 "$rootfs/usr/sbin/policy-rc.d"
# keep what apt downloads (the bind-mounted cache below)
echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";' >"$rootfs/etc/apt/apt.conf.d/10keep-debs"

mnt() { # mnt TARGET mount-args...
  local target=$rootfs$1; shift
  mkdir -p "$target"
  mount "$@" "$target"
  mounted+=("$target")
}
mnt /proc -t proc proc
mnt /sys -t sysfs sysfs
mnt /dev --bind /dev
mnt /dev/pts --bind /dev/pts
mnt /dev/shm -t tmpfs tmpfs
mnt /var/cache/apt/archives --bind "$cache/apt-archives"

# ---- 3. the checkout: committed HEAD ---------------------------------------
head=$(git -C "$root" rev-parse HEAD)
if [ -n "$(git -C "$root" status --porcelain --untracked-files=no)" ]; then
  note "warning: uncommitted changes in $root are not tested (only HEAD $head is)"
fi
git clone --quiet --no-checkout "$root" "$rootfs/root/nerve"
git -C "$rootfs/root/nerve" checkout --quiet --detach "$head"
note "cloned $(git -C "$root" log -1 --format='%h %s' "$head")"

inside() { # inside COMMAND: a login-like root shell in the fresh machine
  chroot "$rootfs" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/bash -c "set -euo pipefail; cd /root/nerve; $1"
}

# ---- 4. the README's two commands --------------------------------------------
# test.sh first: it installs every package and makes the -Werror build, which
# demo.sh then reuses (the other order would build build/release twice).
step "inside: NERVE_TEST_QUICK=1 scripts/test.sh"
t=$SECONDS
inside 'NERVE_TEST_QUICK=1 scripts/test.sh' || die "scripts/test.sh failed on a fresh $suite root"
note "quick test passed ($((SECONDS - t)) s)"

step "inside: NERVE_DEMO_EPOCHS=1 scripts/demo.sh"
t=$SECONDS
inside 'NERVE_DEMO_EPOCHS=1 scripts/demo.sh' || die "scripts/demo.sh failed on a fresh $suite root"
note "demo passed ($((SECONDS - t)) s)"

# ---- 5. the whole tree for AArch64 --------------------------------------------
if [ "$arch" != amd64 ]; then
  note "AArch64 cross build not run: it is the x86-64 machine's check ($arch builds natively)"
elif [ "${NERVE_FRESH_ARM64:-1}" = 0 ]; then
  note "AArch64 whole-tree build not run: NERVE_FRESH_ARM64=0"
else
  step "inside: arm64 packages (replace the x86-64 Criterion in this throwaway root)"
  t=$SECONDS
  inside 'dpkg --add-architecture arm64 && apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      g++-aarch64-linux-gnu qemu-user libcriterion-dev:arm64 libbenchmark-dev:arm64 \
      zlib1g-dev:arm64 libopenblas-dev:arm64 >/dev/null' ||
    die "could not install the arm64 packages"
  note "arm64 packages installed ($((SECONDS - t)) s)"
  step "inside: NERVE_NEON_FULL=1 scripts/test-neon.sh"
  t=$SECONDS
  inside 'NERVE_NEON_FULL=1 scripts/test-neon.sh' || die "the AArch64 whole-tree build or its qemu run failed"
  note "AArch64 whole tree passed ($((SECONDS - t)) s)"
fi

note "passed: demo and quick tests on a fresh Debian $suite root$([ "$arch" = amd64 ] && [ "${NERVE_FRESH_ARM64:-1}" != 0 ] && echo ', AArch64 whole tree under qemu') ($((SECONDS - t0)) s)"
exit
}
