#!/usr/bin/env bash
# What the HTTP listener serves with many KPIs: the real kpid with KPIS deadline-goal KPIs
# (one CSV file, one row each), then
#   - /metrics: body size, series, and time to serve (p50/p99 of N sequential curls);
#   - the status page (/): size and time, first page and a filtered one;
#   - requests per second for /-/healthy and /metrics with wrk on loopback.
# Usage: tests/bench/serve_bench.sh [KPIS=10000] [N=200] [WRK_SECONDS=10]
# KPID_BINARY overrides the binary (default build/default/daemon/kpid).
set -euo pipefail
cd "$(dirname "$0")/../.."
kpis="${1:-10000}"
n="${2:-200}"
wrk_seconds="${3:-10}"
kpid="${KPID_BINARY:-build/default/daemon/kpid}"
[ -x "$kpid" ] || { echo "serve_bench: no kpid binary at $kpid (build first)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "serve_bench: wrk is missing (deploy/install-deps.sh)" >&2; exit 1; }

dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

{
  echo "name,value"
  for ((i = 0; i < kpis; i++)); do echo "k$i,$((i % 100))"; done
} >"$dir/data.csv"
{
  printf '[server]\nlisten = "127.0.0.1:%s"\n\n[storage]\npath = "%s/kpid.db"\n\n' "$port" "$dir"
  printf '[[source]]\nname = "file"\ntype = "csv"\npath = "%s/data.csv"\n\n' "$dir"
  for ((i = 0; i < kpis; i++)); do
    printf '[[kpi]]\nname = "k%d"\ntitle = "KPI %d"\nunit = "EUR"\nlabels = { team = "t%d" }\n' \
      "$i" "$i" $((i % 10))
    printf 'source = "file"\ncolumn = "value"\nwhere = { name = "k%d" }\ninterval = "10m"\n' "$i"
    printf '  [kpi.goal]\n  baseline = 0\n  target = 100\n  start = 2026-01-01\n  deadline = 2026-12-31\n\n'
  done
} >"$dir/kpid.toml"

"$kpid" run --config "$dir/kpid.toml" >"$dir/kpid.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/-/ready")" = 200 ] && break
  sleep 0.1
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/-/ready")" = 200 ] ||
  { echo "serve_bench: kpid did not become ready" >&2; tail "$dir/kpid.log" >&2; exit 1; }
# Wait for every KPI's first collection to be judged.
for _ in $(seq 1 300); do
  judged=$(curl -s "http://127.0.0.1:$port/metrics" | grep -c '^kpi_status{.*} 1$' || true)
  [ "$judged" -ge "$kpis" ] && break
  sleep 0.2
done

# p50/p99 of N sequential requests to PATH, in ms, and the body size.
timing() {
  local path="$1" times
  times=$(for ((i = 0; i < n; i++)); do
    curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$port$path"
  done | sort -n)
  local p50 p99 size
  p50=$(echo "$times" | awk -v n="$n" 'NR == int(n * 0.50) + 1 { printf "%.2f", $1 * 1000 }')
  p99=$(echo "$times" | awk -v n="$n" 'NR == int(n * 0.99) + 1 { printf "%.2f", $1 * 1000 }')
  size=$(curl -s "http://127.0.0.1:$port$path" | wc -c)
  printf '%-22s %9d bytes   p50 %7s ms   p99 %7s ms   (%d requests)\n' "$path" "$size" "$p50" "$p99" "$n"
}

echo "kpid with $kpis KPIs (deadline goals), $(nproc) cores"
series=$(curl -s "http://127.0.0.1:$port/metrics" | grep -vc '^#')
echo "/metrics: $series series"
timing /metrics
timing /
timing "/?team=t3"
timing /kpi/k42
timing /api/v1/kpis
for path in /-/healthy /metrics; do
  rps=$(wrk -t2 -c16 -d"${wrk_seconds}s" --latency "http://127.0.0.1:$port$path" |
    awk '/Requests\/sec/ { rps = $2 } /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 }
         END { printf "%s req/s, latency p50 %s p99 %s", rps, p50, p99 }')
  printf 'wrk -t2 -c16 %-12s %s\n' "$path" "$rps"
done
rss=$(awk '/VmRSS/ { print int($2 / 1024) }' "/proc/$pid/status")
echo "kpid RSS: $rss MiB"
