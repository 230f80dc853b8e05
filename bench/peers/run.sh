#!/usr/bin/env bash
# Peers side by side, one command: nerve (fp32 and bf16), the oneDNN primitives loop (fp32 and bf16),
# PyTorch (Debian's python3-torch) and FANN (libfann-dev) train the same networks
# (784-256-128-10 and 784-1024-1024-10, ReLU, softmax cross-entropy, SGD momentum 0.9,
# lr 0.05; FANN: the closest it has, see fann_train.c) on the same data, in one run,
# alternating system by system, at batch 32 and 256; medians of the repetitions;
# writes the table into docs/performance.md (between the run.sh markers) and
# docs/peers.svg.
#
#   bench/peers/run.sh            full: the whole training set, 3 epochs, 5 repetitions
#   bench/peers/run.sh --quick    a few minutes: 2048 training samples, 1 epoch, 3 repetitions
#
# Environment: TRAIN_N, TEST_N (0: the whole set), EPOCHS, REPS, MAX_S (seconds of training
# after which a run stops) override the mode's values; THREADS (default: all cores) for nerve
# and oneDNN; PyTorch runs at every
# thread count 1..THREADS and the table keeps its best; FANN has one thread. A missing
# peer prints why and the rest runs. Data: Fashion-MNIST from Debian's
# dataset-fashion-mnist (/usr/share/datasets/fashion-mnist), else the embedded digits
# (64 inputs, so the networks become 64-256-128-10 and 64-1024-1024-10).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
quick=0
case "${1:-}" in
  --quick) quick=1 ;;
  "") ;;
  *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac
threads=${THREADS:-$(nproc)}
if [ "$quick" = 1 ]; then
  train_n=2048 test_n=2000 epochs=1 reps=3 max_s=8
else
  train_n=0 test_n=0 epochs=3 reps=5 max_s=300
fi
# overrides (0 = the whole set): TRAIN_N, TEST_N, EPOCHS, REPS, MAX_S
train_n=${TRAIN_N:-$train_n} test_n=${TEST_N:-$test_n} epochs=${EPOCHS:-$epochs}
reps=${REPS:-$reps} max_s=${MAX_S:-$max_s}
overrides=""
for v in TRAIN_N TEST_N EPOCHS REPS MAX_S THREADS; do
  [ -n "${!v:-}" ] && overrides+="$v=${!v} "
done
out=$root/build/peers
mkdir -p "$out"
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
load_start=$(loadavg)
started=$(date -u '+%Y-%m-%d %H:%M UTC')

echo "== building nerve (Release)"
cmake -S "$root" -B "$root/build/release" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build/release" -j2 --target nerve_static
cc=${CC:-gcc}
cxx=${CXX:-g++}
cflags="-O2 -Wall -Wextra -Werror"
$cc $cflags -std=c11 -I"$root/include" -I"$root/build/release/generated/include" \
  -o "$out/nerve_train" "$here/nerve_train.c" "$root/build/release/libnerve.a" -fopenmp -lm -lz

systems=(nerve nerve_bf16)
if [ -f /usr/include/oneapi/dnnl/dnnl.hpp ] && command -v "$cxx" >/dev/null; then
  $cxx $cflags -std=c++17 -o "$out/onednn_train" "$here/onednn_train.cc" -ldnnl -fopenmp
  systems+=(onednn onednn_bf16)
else
  echo "== oneDNN skipped: no /usr/include/oneapi/dnnl/dnnl.hpp (apt-get install -y libdnnl-dev)"
fi
torch_py=""
for py in /usr/bin/python3 python3; do
  if env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$py" -c 'import torch' 2>/dev/null; then torch_py=$py; break; fi
done
if [ -n "$torch_py" ]; then
  systems+=(pytorch pytorch_bf16)
else
  echo "== PyTorch skipped: no python3 imports torch (apt-get install -y --no-install-recommends python3-torch)"
fi
if [ -f /usr/include/floatfann.h ]; then
  $cc $cflags -std=c11 -o "$out/fann_train" "$here/fann_train.c" -lfann -lm
  systems+=(fann)
else
  echo "== FANN skipped: no /usr/include/floatfann.h (apt-get install -y libfann-dev)"
fi

echo "== data"
python3 "$here/prep_data.py" /usr/share/datasets/fashion-mnist "$root/data/digits.csv.gz" \
  "$out/data" "$train_n" "$test_n"
read -r dname dim _ _ < "$out/data/meta.txt"
nets=("$dim-256-128-10" "$dim-1024-1024-10")

results=$out/results.jsonl
: > "$results"
run_one() { # system net batch
  local s=$1 net=$2 b=$3 rc=0
  case $s in
    nerve) "$out/nerve_train" "$out/data" "$net" "$b" "$epochs" "$threads" "$max_s" >> "$results" || rc=$? ;;
    nerve_bf16) "$out/nerve_train" "$out/data" "$net" "$b" "$epochs" "$threads" "$max_s" bf16 >> "$results" || rc=$? ;;
    onednn) "$out/onednn_train" "$out/data" "$net" "$b" "$epochs" "$threads" "$max_s" >> "$results" || rc=$? ;;
    onednn_bf16) "$out/onednn_train" "$out/data" "$net" "$b" "$epochs" "$threads" "$max_s" bf16 >> "$results" || rc=$? ;;
    pytorch|pytorch_bf16)
      local flag="" t
      [ "$s" = pytorch_bf16 ] && flag=--bf16
      for t in $(seq 1 "$threads"); do
        env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$torch_py" "$here/torch_train.py" "$out/data" \
          "$net" "$b" "$epochs" "$t" "$max_s" $flag >> "$results" || rc=$?
      done ;;
    fann) "$out/fann_train" "$out/data" "$net" "$b" "$epochs" 1 "$max_s" >> "$results" || rc=$? ;;
  esac
  [ "$rc" = 0 ] || echo "   $s $net batch $b: exit status $rc (recorded, run continues)"
}

echo "== running: ${systems[*]}; $reps repetitions, alternating; nets ${nets[*]}; batch 32 256"
for rep in $(seq 1 "$reps"); do
  for net in "${nets[@]}"; do
    for b in 32 256; do
      for s in "${systems[@]}"; do
        run_one "$s" "$net" "$b"
      done
    done
  done
  echo "   repetition $rep of $reps done ($(date -u +%H:%M:%S), load $(loadavg))"
done
load_end=$(loadavg)

mode=full; [ "$quick" = 1 ] && mode=quick
hdr=$out/header.md
{
  echo "Generated by \`${overrides}bench/peers/run.sh$([ "$quick" = 1 ] && echo ' --quick')\` ($mode mode), $started."
  echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores, with"
  echo "$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|avx512f|avx512_bf16|amx_bf16)$' | tr '\n' ' ')(of the features that matter here);"
  echo "load average (1, 5, 15 min) $load_start at the start, $load_end at the end."
  echo "Data: $dname, $(awk '{print $3 " training and " $4 " test samples"}' "$out/data/meta.txt"),"
  echo "$epochs epoch(s), file order, full batches; $reps repetitions per cell, systems alternating;"
  echo "a run stops at ${max_s} s of training (its accuracy is then not reported)."
  echo "nerve and oneDNN on $threads threads, PyTorch at its best of 1..$threads threads, FANN 1."
  echo "Samples/s: trained samples over the wall time of the training loop."
  if [ "$(cut -d' ' -f1 /proc/loadavg | cut -d. -f1)" -ge "$(nproc)" ] || [ "$(echo "$load_start" | cut -d' ' -f1 | cut -d. -f1)" -ge "$(nproc)" ]; then
    echo ""
    echo "**Measured under load** (load average above the core count): other processes shared"
    echo "the cores, multi-threaded runs suffer most (a descheduled thread stalls every barrier),"
    echo "so these figures show that the script works, not how the systems compare; rerun on a"
    echo "quiet machine."
  fi
} > "$hdr"
python3 "$here/report.py" "$results" "$root/docs/performance.md" "$root/docs/peers.svg" "$hdr"
echo "== table written to docs/performance.md, chart to docs/peers.svg (raw results: $results)"
