#!/usr/bin/env bash
# Runs a fuzz target once on every file of the given directories (the seed corpus and the
# crash regressions), as a test: fails on the first input that crashes it.
# Usage: replay.sh FUZZ_BINARY DIR...
set -euo pipefail
binary="$1"
shift
files=()
for dir in "$@"; do
  [ -d "$dir" ] || continue
  while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$dir" -type f -print0 | sort -z)
done
if [ ${#files[@]} -eq 0 ]; then
  echo "replay: no inputs in $*" >&2
  exit 1
fi
# Files given one by one: libFuzzer runs each once and writes nothing.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
"$binary" "${files[@]}" >"$log" 2>&1 || status=$?
grep -v -E '^(Running|Executed) ' "$log" || true
echo "replay: ${#files[@]} inputs, exit status $status"
exit "$status"
