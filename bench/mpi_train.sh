#!/usr/bin/env bash
# Data-parallel training throughput, 1 -> 2 ranks (issue 15): `nerve train`
# on Fashion-MNIST with the default 784-256-128-10 recipe, 1 OpenMP thread per
# rank, loopback only (Open MPI btl self,vader). Runs alternate between the
# rank counts (so a change of the machine's load hits both alike) and the
# median samples/s of each configuration is printed with the ratio.
#
#   bench/mpi_train.sh [BUILD_DIR] [REPEATS] [BATCH ...]
#   e.g. bench/mpi_train.sh build/release 5 64 256
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
reps=${2:-5}
shift 2 2>/dev/null || shift $#
batches=("${@:-64}")
nerve=$build/src/cli/nerve
[ -x "$nerve" ] || { echo "no $nerve: build first" >&2; exit 1; }
data=${NERVE_BENCH_DATA:-fashion-mnist}
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
export OMPI_MCA_btl=self,vader OMPI_MCA_oob_tcp_if_include=lo
# cores shared with other work: a waiting rank must yield (polling ranks starve their peers)
export OMPI_MCA_mpi_yield_when_idle=1
mpirun=(mpirun --oversubscribe --bind-to none)
[ "$(id -u)" -eq 0 ] && mpirun+=(--allow-run-as-root)

rate() { # rate NP BATCH: samples/s of one epoch (the JSON line's samples_per_s)
  local np=$1 batch=$2
  local cmd=("$nerve" train --data "$data" --epochs 1 --batch "$batch" --threads 1 --json --quiet
             --schedule constant)
  if [ "$np" = 0 ]; then "${cmd[@]}"; else "${mpirun[@]}" -np "$np" "${cmd[@]}"; fi |
    python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["samples_per_s"])'
}
median() { python3 -c 'import statistics,sys; print("%.0f" % statistics.median(map(float, sys.argv[1:])))' "$@"; }

echo "data $data, 1 thread per rank, $reps runs each, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %14s %14s %14s %8s\n' batch "plain s/s" "1 rank s/s" "2 ranks s/s" "2r/1r"
for b in "${batches[@]}"; do
  p=() r1=() r2=()
  for _ in $(seq "$reps"); do
    p+=("$(rate 0 "$b")"); r1+=("$(rate 1 "$b")"); r2+=("$(rate 2 "$b")")
  done
  m0=$(median "${p[@]}"); m1=$(median "${r1[@]}"); m2=$(median "${r2[@]}")
  printf '%-6s %14s %14s %14s %8s\n' "$b" "$m0" "$m1" "$m2" \
    "$(python3 -c "print('%.2f' % ($m2 / $m1))")"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
