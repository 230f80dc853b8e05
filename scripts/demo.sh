#!/usr/bin/env bash
# nerve demo, from a fresh Debian 12 machine to a trained model:
#   1. installs the missing Debian packages, the Fashion-MNIST data set
#      (dataset-fashion-mnist) included, with scripts/deps.sh: as root it runs
#      apt-get, otherwise it prints the exact apt-get line; the demo then stops,
#      unless only the data set is missing (it goes on with the digits);
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
# scripts/deps.sh installs (as root) or lists (otherwise) what is missing,
# the data set dataset-fashion-mnist included
if scripts/deps.sh; then
  echo "all packages present"
elif [ ! -e "$fashion_dir/train-images-idx3-ubyte.gz" ] && command -v cmake >/dev/null &&
     command -v cc >/dev/null; then
  # the data set may be all that is missing: try the build, on the digits
  echo "nerve demo: Fashion-MNIST is not installed; going on with the embedded digits" >&2
  data=digits
else
  exit 1
fi
if [ "$data" = fashion-mnist ] && [ ! -e "$fashion_dir/train-images-idx3-ubyte.gz" ]; then
  echo "nerve demo: no Fashion-MNIST in $fashion_dir; training on the embedded digits" >&2
  data=digits
fi
echo "data set: $data"

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
