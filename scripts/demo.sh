#!/usr/bin/env bash
# nerve demo, from a fresh Debian 12 machine to a trained model:
#   1. installs the missing Debian packages (scripts/deps.sh; as root it runs
#      apt-get, otherwise it prints the exact apt-get line and stops), and the
#      Fashion-MNIST data set (Debian package dataset-fashion-mnist) when it can;
#   2. builds the Release build in build/release;
#   3. shows the CPU and the kernel table in use (nerve info);
#   4. trains the default recipe on Fashion-MNIST, or on the embedded digits
#      when Fashion-MNIST cannot be installed, printing one line per epoch,
#      the final accuracy and throughput, and where the model and the SVG
#      curve were written; then evaluates the model (confusion matrix).
#
#   scripts/demo.sh                    # everything
#   NERVE_DEMO_EPOCHS=3 scripts/demo.sh   # a shorter run
#   NERVE_DEMO_DATA=digits scripts/demo.sh
# Output files go to out/demo/ (NERVE_DEMO_OUT to change); the build to
# build/release (NERVE_DEMO_BUILD to change).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=${NERVE_DEMO_OUT:-$root/out/demo}
epochs=${NERVE_DEMO_EPOCHS:-}
data=${NERVE_DEMO_DATA:-fashion-mnist}
build=${NERVE_DEMO_BUILD:-build/release}
fashion_dir=/usr/share/datasets/fashion-mnist

say() { printf '\n==== %s ====\n' "$*"; }

say "1. dependencies"
# the build needs these; without them nothing else can run
scripts/deps.sh
if [ "$data" = fashion-mnist ] && [ ! -e "$fashion_dir/train-images-idx3-ubyte.gz" ]; then
  if scripts/deps.sh dataset-fashion-mnist; then
    echo "Fashion-MNIST installed in $fashion_dir"
  else
    echo "Fashion-MNIST could not be installed: training on the embedded digits instead" >&2
    data=digits
  fi
fi
echo "all packages present; data set: $data"

say "2. release build ($build)"
gen=()
command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" --target nerve -j "$(nproc 2>/dev/null || echo 2)"
nerve=$(cd "$build" && pwd)/src/cli/nerve

say "3. this machine"
"$nerve" info

say "4. training on $data"
mkdir -p "$out"
model=$out/$data.nrv
curve=$out/$data.svg
args=(train --data "$data" --out "$model" --plot "$curve")
[ -n "$epochs" ] && args+=(--epochs "$epochs")
echo "\$ nerve ${args[*]}"
"$nerve" "${args[@]}"

say "5. evaluating the saved model"
echo "\$ nerve eval --model $model --data $data"
"$nerve" eval --model "$model" --data "$data"

say "done"
echo "model: $model"
echo "curve: $curve (open it in a web browser)"
