#!/usr/bin/env bash
# Two benchmark families of one build side by side (nerve against a peer):
# for each suffix, runs PREFIX_A<suffix> then PREFIX_B<suffix>, ROUNDS times
# (alternating, so a machine whose speed drifts affects both alike), and
# prints the median items/s of each (runs per second of real time where a
# benchmark counts no items), their ratio A/B, and each side's spread (its
# slowest run over its fastest).
#
#   bench/vs.sh build/release/bench/nerve_bench 5 train/nerve_wide/ train/onednn_wide/ \
#       batch:32/threads:1/ batch:256/threads:2/
#
# Each PREFIX + suffix should select one benchmark (a trailing / stops
# prefixes); a % in a PREFIX is replaced by the suffix instead, for names that
# differ at the end:
#
#   bench/vs.sh build/release/bench/nerve_bench 5 'mlp_%/nerve_avx512/threads:1$' \
#       'mlp_%/onednn/threads:1$' fwd/b256_1024x1024 bwd_data/b256_1024x1024
# MIN_TIME (seconds per run, default 0.3) is passed to
# --benchmark_min_time. bench/ab.sh compares two builds instead.
set -euo pipefail
[ $# -ge 5 ] || { sed -n '2,19p' "$0"; exit 2; }
bin=$1 rounds=$2 pa=$3 pb=$4
shift 4
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for s in "$@"; do
  for ((r = 0; r < rounds; r++)); do
    for side in A B; do
      p=$pa; [ $side = B ] && p=$pb
      if [[ $p == *%* ]]; then f=${p//%/$s}; else f=$p$s; fi
      "$bin" --benchmark_filter="^$f" --benchmark_min_time="${MIN_TIME:-0.3}" \
        --benchmark_format=csv 2>/dev/null | grep '^"' | sed "s|^|$side,$s,|" >>"$tmp" ||
        { echo "vs.sh: no benchmark matches '$f'" >&2; exit 1; }
    done
  done
done
python3 - "$tmp" "$pa" "$pb" <<'PY'
import csv, statistics, sys, collections
runs = collections.defaultdict(list)
for row in csv.reader(open(sys.argv[1])):
    # side, suffix, name, iterations, real_time, cpu_time, time_unit, bytes/s, items/s, ...
    v = float(row[8]) if len(row) > 8 and row[8] else 1.0 / float(row[4])
    runs[(row[1], row[0])].append(v)
pa, pb = sys.argv[2], sys.argv[3]
for s in dict.fromkeys(k[0] for k in runs):
    a, b = runs[(s, "A")], runs[(s, "B")]
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"{s:28s} {pa} {ma:12.5g}  {pb} {mb:12.5g}  A/B {ma / mb:6.3f}  "
          f"({len(a)} runs, spread {min(a) / max(a):.2f} / {min(b) / max(b):.2f})")
PY
