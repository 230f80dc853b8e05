#!/usr/bin/env bash
# Two builds side by side: for each benchmark name, runs build A, then
# build B, ROUNDS times (alternating, so a machine whose speed drifts affects
# both alike), and prints the median items/s of each (runs per second of real
# time where a benchmark counts no items) and their ratio B/A.
#
#   bench/ab.sh A/nerve_bench B/nerve_bench ROUNDS 'train/nerve/batch:32/threads:1/' ...
#
# Each filter should select one benchmark (a trailing / stops prefixes).
# MIN_TIME (seconds per run, default 0.3) is passed to --benchmark_min_time.
set -euo pipefail
[ $# -ge 4 ] || { sed -n '2,9p' "$0"; exit 2; }
a=$1 b=$2 rounds=$3
shift 3
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for f in "$@"; do
  for ((r = 0; r < rounds; r++)); do
    for side in A B; do
      bin=$a; [ $side = B ] && bin=$b
      "$bin" --benchmark_filter="$f" --benchmark_min_time="${MIN_TIME:-0.3}" \
        --benchmark_format=csv 2>/dev/null | grep '^"' | sed "s|^|$side,|" >>"$tmp" ||
        { echo "ab.sh: no benchmark of $bin matches '$f'" >&2; exit 1; }
    done
  done
done
python3 - "$tmp" <<'PY'
import csv, statistics, sys, collections
runs = collections.defaultdict(list)
for row in csv.reader(open(sys.argv[1])):
    # side, name, iterations, real_time, cpu_time, time_unit, bytes/s, items/s, ...
    # items/s where the benchmark counts items, else runs per second of real time
    if len(row) > 7 and row[7]:
        runs[(row[1], row[0])].append(float(row[7]))
    elif len(row) > 3 and row[3]:
        runs[(row[1], row[0])].append(1.0 / float(row[3]))
for name in sorted({n for n, _ in runs}):
    ma = statistics.median(runs[(name, "A")]) if runs[(name, "A")] else float("nan")
    mb = statistics.median(runs[(name, "B")]) if runs[(name, "B")] else float("nan")
    print(f"{name:60s} A {ma:12.5g}  B {mb:12.5g}  B/A {mb / ma:6.3f}  ({len(runs[(name, 'A')])} runs)")
PY
