#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what is needed, builds
# with warnings as errors, lints (clang-format, clang-tidy), runs every test (unit and
# integration against real servers), then the same tests under ASan + UBSan (clang), then
# each fuzz target for 15 s.
# Run as root (apt-get). KPID_SKIP_ASAN=1 skips the sanitizer pass for quick local runs.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

deploy/install-deps.sh

export KPID_WERROR=ON
cmake --preset default
cmake --build --preset default
tests/lint.sh build/default
ctest --preset default

if [ "${KPID_SKIP_ASAN:-0}" != 1 ]; then
  cmake --preset asan
  cmake --build --preset asan
  ctest --preset asan
  # Each libFuzzer target (built by the asan preset) for a bounded 15 s from its corpus.
  tests/fuzz/run.sh 15
fi
echo "run-all: finished in $(( $(date +%s) - start )) s"
