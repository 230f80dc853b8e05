#!/usr/bin/env bash
# Fuzzing smoke runs (stage 4 of scripts/test.sh): builds the libFuzzer
# harnesses of tests/fuzz/ with clang 14 (-fsanitize=fuzzer,address,undefined)
# in build/fuzz, writes valid seed files with the freshly built library, runs
# each fuzzer for NERVE_FUZZ_SECONDS (default 20) and exits non-zero if any
# of them finds a crash, leak, hang or sanitizer report.
#
# A finding is saved as build/fuzz/run/crash-<target>-<hash>: copy it to
# tests/fuzz/regressions/<target>/, where tests/io/test_fuzz_regressions.c
# replays it on every test run, then fix the bug.
#   scripts/fuzz.sh [target ...]     (targets: model idx csv; default all)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
secs=${NERVE_FUZZ_SECONDS:-20}
build=$root/build/fuzz
jobs=$(nproc 2>/dev/null || echo 2)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(model idx csv)

cc=$(command -v clang-14 || command -v clang || true)
[ -n "$cc" ] || { echo "fuzz.sh: clang not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }

gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
cmake -S "$root" -B "$build" "${gen[@]}" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DNERVE_FUZZ=ON -DNERVE_SANITIZE=ON -DNERVE_BUILD_TESTS=OFF -DNERVE_BUILD_BENCH=OFF \
  -DNERVE_BUILD_CLI=OFF -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link" >/dev/null
cmake --build "$build" -j "$jobs" --target fuzz_seeds "${targets[@]/#/fuzz_}"

run=$build/run
rm -rf "$run"
mkdir -p "$run"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
"$build/tests/fuzz/fuzz_seeds" "$run/seeds"

failed=()
for t in "${targets[@]}"; do
  corpus=$run/corpus-$t
  mkdir -p "$corpus"
  cp "$run/seeds/$t"/* "$corpus"/
  # the saved regressions seed the corpus too
  cp "$root/tests/fuzz/regressions/$t"/* "$corpus"/ 2>/dev/null || true
  echo "fuzz.sh: fuzz_$t for ${secs}s ($(ls "$corpus" | wc -l) seeds)"
  # -max_len 4096: small inputs cover every header path and keep networks
  # small; -timeout 10: a hang is a finding; -rss_limit_mb: so is a huge
  # allocation; one worker (2-core machine shared with other jobs).
  if ! "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -max_len=4096 -timeout=10 \
       -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 \
       -artifact_prefix="$run/crash-$t-" "$corpus" >"$run/fuzz_$t.log" 2>&1; then
    echo "fuzz.sh: fuzz_$t FAILED; last lines of $run/fuzz_$t.log:" >&2
    tail -n 40 "$run/fuzz_$t.log" >&2
    ls "$run"/crash-"$t"-* 2>/dev/null >&2 || true
    failed+=("$t")
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$run/fuzz_$t.log" | tr '\n' ' '
    echo
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz.sh: findings in: ${failed[*]} (copy the crash files to tests/fuzz/regressions/<target>/)" >&2
  exit 1
fi
echo "fuzz.sh: no findings"
