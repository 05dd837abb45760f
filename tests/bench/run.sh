#!/usr/bin/env bash
# Every micro benchmark of tests/bench in one command (issue 8; not in CI): builds what is
# missing, runs the Google Benchmark binaries (goal evaluation, forecast update, expression
# evaluation, /metrics for 1,000 and 10,000 KPIs, store writes) and, small-sized, the
# drivers for what Google Benchmark does not fit (CSV parsing through the collector,
# the engine's evaluation pass, outbox throughput and webhook latency), then prints a
# one-screen summary. Raw output: $OUT/*.json and $OUT/*.txt.
#
# usage: tests/bench/run.sh
# env:   BUILD_DIR  build directory (default build/default; configured with the default
#                   preset if it does not exist)
#        JOBS       parallel build jobs (default 1)
#        FULL=1     also the fleet benchmarks of rules_bench (100,000 goals, about 2 GB,
#                   minutes) and larger driver sizes
#        OUT        where the raw results go (default a new /tmp/kpid-bench-XXXXXX)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build/default}
JOBS=${JOBS:-1}
FULL=${FULL:-0}
OUT=${OUT:-$(mktemp -d /tmp/kpid-bench-XXXXXX)}
mkdir -p "$OUT"

GBENCH=(kpid_rules_bench kpid_store_bench kpid_metrics_bench kpid_reconcile_bench
        kpid_restatement_bench)
DRIVERS=(kpid_csv_bench kpid_engine_bench kpid_notify_bench)

if [[ ! -f $BUILD_DIR/CMakeCache.txt ]]; then
  echo "bench: configuring $BUILD_DIR" >&2
  (cd "$ROOT" && cmake --preset default -B "$BUILD_DIR" >/dev/null)
fi
echo "bench: building ${GBENCH[*]} ${DRIVERS[*]} in $BUILD_DIR (-j$JOBS)" >&2
cmake --build "$BUILD_DIR" -j"$JOBS" --target "${GBENCH[@]}" "${DRIVERS[@]}" >"$OUT/build.log" 2>&1 ||
  { tail -30 "$OUT/build.log" >&2; echo "bench: build failed ($OUT/build.log)" >&2; exit 1; }
BIN=$BUILD_DIR/tests/bench

filter=()
[[ $FULL == 1 ]] || filter=(--benchmark_filter=-BM_Fleet)  # a leading - excludes
for b in "${GBENCH[@]}"; do
  echo "bench: $b" >&2
  args=()
  [[ $b == kpid_rules_bench ]] && args=("${filter[@]}")
  "$BIN/$b" "${args[@]}" --benchmark_out="$OUT/$b.json" --benchmark_out_format=json \
    >"$OUT/$b.txt" 2>&1 || { tail -20 "$OUT/$b.txt" >&2; echo "bench: $b failed" >&2; exit 1; }
done

if [[ $FULL == 1 ]]; then csv_bytes=1000000000 engine=(100000 1000 5) notify=(500 10000)
else csv_bytes=100000000 engine=(10000 200 3) notify=(200 2000); fi
echo "bench: kpid_csv_bench ($csv_bytes bytes)" >&2
"$BIN/kpid_csv_bench" generate "$OUT/sales.csv" "$csv_bytes" >/dev/null
"$BIN/kpid_csv_bench" run "$OUT/sales.csv" revenue sum region=EU --repeat=3 >"$OUT/kpid_csv_bench.txt" 2>&1
rm -f "$OUT/sales.csv"
echo "bench: kpid_engine_bench ${engine[*]}" >&2
"$BIN/kpid_engine_bench" "${engine[@]}" >"$OUT/kpid_engine_bench.txt" 2>&1
echo "bench: kpid_notify_bench ${notify[*]}" >&2
"$BIN/kpid_notify_bench" "${notify[@]}" >"$OUT/kpid_notify_bench.txt" 2>&1

/usr/bin/python3 - "$OUT" <<'EOF'
import json, os, sys

out = sys.argv[1]
print(f"{'benchmark':44} {'time':>15}  notes")
for name in ("kpid_rules_bench", "kpid_store_bench", "kpid_metrics_bench", "kpid_reconcile_bench",
             "kpid_restatement_bench"):
    with open(os.path.join(out, name + ".json")) as f:
        data = json.load(f)
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate":
            continue
        t, unit = b["real_time"], b["time_unit"]
        notes = []
        for key in ("per_goal", "items_per_second", "samples/s", "bytes", "series", "fleet_MB"):
            if key in b:
                v = b[key]
                if key == "per_goal":
                    notes.append(f"{v * 1e9:.0f} ns/goal")
                elif key == "items_per_second":
                    notes.append(f"{v:,.0f} items/s")
                else:
                    notes.append(f"{key} {v:,.0f}")
        if b.get("label"):
            notes.append(b["label"])
        print(f"{name[5:-6] + ' ' + b['name']:44} {t:>12,.1f} {unit:2}  {', '.join(notes)}")

def lines(name, prefixes):
    try:
        with open(os.path.join(out, name + ".txt")) as f:
            return [l.rstrip() for l in f if l.startswith(prefixes)]
    except OSError:
        return []

print()
for l in lines("kpid_csv_bench", ("value", "best", "median", "kpid", "rows", "MB")) or \
        open(os.path.join(out, "kpid_csv_bench.txt")).read().splitlines()[-3:]:
    print("csv    " + l)
for l in lines("kpid_engine_bench", ("kpis=", "median")):
    print("engine " + l)
for l in open(os.path.join(out, "kpid_notify_bench.txt")).read().splitlines()[-6:]:
    print("notify " + l)
print(f"\nraw results: {out}")
EOF
