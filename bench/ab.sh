#!/usr/bin/env bash
# Two sides alternately, ROUNDS times per item (so a machine whose speed
# drifts affects both alike); prints the median items/s of each side (1 /
# real time, in the benchmark's time unit, where it counts no items), their
# ratio B/A, and each side's spread (its slowest run over its fastest).
#
# Two builds, the same benchmarks (each filter one item):
#   bench/ab.sh A/nerve_bench B/nerve_bench ROUNDS 'train/nerve/batch:32/threads:1/' ...
#
# Two benchmark families of one build (nerve against a peer), --vs: item s
# runs PATTERN_A and PATTERN_B with s appended, or put where a % stands:
#   bench/ab.sh --vs build/release/bench/nerve_bench 5 train/onednn_wide/ train/nerve_wide/ \
#       batch:32/threads:1/ batch:256/threads:2/
#   bench/ab.sh --vs build/release/bench/nerve_bench 5 'mlp_%/onednn/threads:1$' \
#       'mlp_%/nerve_avx512/threads:1$' fwd/b256_1024x1024 bwd_data/b256_1024x1024
#
# Each filter should select one benchmark (a trailing / or $ stops prefixes).
# MIN_TIME (seconds per run, default 0.3) is passed to --benchmark_min_time.
set -euo pipefail
usage() { sed -n '2,18p' "$0"; exit 2; }
if [ "${1:-}" = --vs ]; then
  [ $# -ge 6 ] || usage
  bin_a=$2 bin_b=$2 rounds=$3 pat_a=$4 pat_b=$5
  shift 5
else
  [ $# -ge 4 ] || usage
  bin_a=$1 bin_b=$2 rounds=$3 pat_a=% pat_b=%
  shift 3
fi
# the filter of side pattern $1 for item $2
filter() { if [[ $1 == *%* ]]; then echo "${1//%/$2}"; else echo "$1$2"; fi; }
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for item in "$@"; do
  for ((r = 0; r < rounds; r++)); do
    for side in A B; do
      if [ $side = A ]; then bin=$bin_a f=$(filter "$pat_a" "$item"); else bin=$bin_b f=$(filter "$pat_b" "$item"); fi
      "$bin" --benchmark_filter="$f" --benchmark_min_time="${MIN_TIME:-0.3}" \
        --benchmark_format=csv 2>/dev/null | grep '^"' | sed "s|^|$side,$item,|" >>"$tmp" ||
        { echo "ab.sh: no benchmark of $bin matches '$f'" >&2; exit 1; }
    done
  done
done
python3 - "$tmp" <<'PY'
import csv, statistics, sys, collections
runs = collections.defaultdict(list)
for row in csv.reader(open(sys.argv[1])):
    # side, item, name, iterations, real_time, cpu_time, time_unit, bytes/s, items/s, ...
    # items/s where the benchmark counts items, else 1 / real time
    v = float(row[8]) if len(row) > 8 and row[8] else 1.0 / float(row[4])
    runs[(row[1], row[0])].append(v)
for item in dict.fromkeys(k[0] for k in runs):
    a, b = runs[(item, "A")], runs[(item, "B")]
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"{item:50s} A {ma:12.5g}  B {mb:12.5g}  B/A {mb / ma:6.3f}  "
          f"({len(a)} runs, spread {min(a) / max(a):.2f} / {min(b) / max(b):.2f})")
PY
