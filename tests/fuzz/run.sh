#!/usr/bin/env bash
# Runs the libFuzzer targets, each for SECONDS (default 60), starting from its seed corpus
# (copied to a temp dir: the repo is not modified) and its crash regressions. Builds
# nothing: the targets come from the asan preset's build (KPID_FUZZ_BUILD, default
# build/asan). Fails when a target crashes, leaks, times out or runs out of memory, and
# prints the reproducer; rerun it with `BINARY REPRODUCER`.
# Usage: tests/fuzz/run.sh [SECONDS] [TARGET...]   (targets: the names under corpus/)
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-60}"
shift || true
build="${KPID_FUZZ_BUILD:-build/asan}"
if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(ls tests/fuzz/corpus)
fi

work=$(mktemp -d -t kpid-fuzz.XXXXXX)
artifacts=$(mktemp -d -t kpid-fuzz-crashes.XXXXXX)
trap 'rm -rf "$work"; rmdir "$artifacts" 2>/dev/null' EXIT
# The http target's daemon and its store live in TMPDIR, removed with the rest.
export TMPDIR="$work"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=()
printf '%-14s %10s %8s %6s  %s\n' target runs exec/s cov result
for t in "${targets[@]}"; do
  binary="$build/tests/fuzz/fuzz_$t"
  if [ ! -x "$binary" ]; then
    echo "run.sh: $binary missing; build the asan preset first (cmake --build --preset asan)" >&2
    failed+=("$t")
    continue
  fi
  mkdir -p "$work/corpus/$t" "$artifacts/$t"
  cp -r "tests/fuzz/corpus/$t/." "$work/corpus/$t/"
  dirs=("$work/corpus/$t")
  [ -d "tests/fuzz/regressions/$t" ] && dirs+=("tests/fuzz/regressions/$t")
  dict=()
  [ -f "tests/fuzz/dict/$t.dict" ] && dict=(-dict="tests/fuzz/dict/$t.dict")
  log="$work/$t.log"
  status=0
  "$binary" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=3072 -print_final_stats=1 \
    -artifact_prefix="$artifacts/$t/" "${dict[@]}" "${dirs[@]}" >"$log" 2>&1 || status=$?
  runs=$(grep -oP 'stat::number_of_executed_units:\s*\K[0-9]+' "$log" | tail -1)
  rate=$(grep -oP '^#[0-9]+\s+DONE .*exec/s: \K[0-9]+' "$log" | tail -1)
  cov=$(grep -oP '^#[0-9]+\s+\w+\s+cov: \K[0-9]+' "$log" | tail -1)
  if [ "$status" -eq 0 ]; then
    printf '%-14s %10s %8s %6s  %s\n' "$t" "${runs:-?}" "${rate:-?}" "${cov:-?}" ok
    rmdir "$artifacts/$t" 2>/dev/null
  else
    printf '%-14s %10s %8s %6s  %s\n' "$t" "${runs:-?}" "${rate:-?}" "${cov:-?}" "FAILED ($status)"
    grep -E -A40 '^==[0-9]+==ERROR|runtime error|fuzz invariant failed|^ALARM|deadly signal' \
      "$log" | head -60
    for f in "$artifacts/$t"/*; do
      [ -e "$f" ] && echo "run.sh: reproducer: $f  (rerun: $binary $f)"
    done
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "run.sh: failed: ${failed[*]}" >&2
  exit 1
fi
echo "run.sh: ${#targets[@]} targets, ${seconds} s each, no crash"
