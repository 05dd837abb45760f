#!/usr/bin/env bash
# Idle check (issue 8: "no busy loops; wake-ups only for scheduled work"): kpid with KPIS
# SQL KPIs (SQLite source) and deadline goals, collected and judged once an hour, left
# alone for SECONDS after its first collections; `strace -f -c` counts every system call
# of every thread, and `perf stat` (where the kernel lets it) the context switches and CPU
# time. Prints both and the syscalls per second; a busy loop shows as thousands per second.
#
# usage: tests/bench/peer_stack/idle_check.sh
# env:   SECONDS_IDLE  how long to watch (default 60)
#        KPIS          number of KPIs (default 1000)
#        KPID_BIN      the kpid binary or a build directory (default build/default, else
#                      build/perf)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
IDLE=${SECONDS_IDLE:-60}
KPIS=${KPIS:-1000}
KPID=
for c in ${KPID_BIN:-} "$ROOT/build/default" "$ROOT/build/perf"; do
  if [[ -d $c && -x $c/daemon/kpid ]]; then KPID=$c/daemon/kpid; break; fi
  if [[ -f $c && -x $c ]]; then KPID=$c; break; fi
done
[[ -n $KPID ]] || { echo "idle_check: no kpid binary (set KPID_BIN)" >&2; exit 2; }
for tool in strace sqlite3 curl; do
  command -v $tool >/dev/null || { echo "idle_check: $tool is needed" >&2; exit 2; }
done

DIR=$(mktemp -d /tmp/kpid-idle-XXXXXX)
PID=
cleanup() {
  [[ -n $PID ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  rm -rf "$DIR"
}
trap cleanup EXIT

{
  echo "CREATE TABLE kpi (id INTEGER PRIMARY KEY, value REAL); BEGIN;"
  for ((i = 0; i < KPIS; i++)); do echo "INSERT INTO kpi VALUES ($i, $((500 + i % 100)));"; done
  echo "COMMIT;"
} | sqlite3 "$DIR/data.db"
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
{
  printf '[server]\nlisten = "127.0.0.1:%s"\n[storage]\npath = "%s/kpid.db"\n' "$PORT" "$DIR"
  printf '[evaluation]\ninterval = "1h"\n[[source]]\nname = "db"\ntype = "sql"\n'
  printf 'driver = "sqlite3"\nconnection = "%s/data.db"\n' "$DIR"
  for ((i = 0; i < KPIS; i++)); do
    printf '[[kpi]]\nname = "k%d"\nsource = "db"\nquery = "SELECT value FROM kpi WHERE id = %d"\n' $i $i
    printf 'interval = "1h"\n[kpi.goal]\nbaseline = 0\ntarget = 1000\nstart = 2026-01-01\n'
    printf 'deadline = 2030-12-31\n'
  done
  printf '[[route]]\nreceivers = ["audit"]\n[[receiver]]\nname = "audit"\ntype = "file"\n'
  printf 'path = "%s/notifications.jsonl"\n' "$DIR"
} >"$DIR/kpid.toml"

"$KPID" run --config "$DIR/kpid.toml" --log-level warn 2>"$DIR/kpid.log" &
PID=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$PORT/-/ready" >/dev/null && break
  sleep 0.2
done
curl -sf "http://127.0.0.1:$PORT/-/ready" >/dev/null ||
  { echo "idle_check: kpid did not get ready:" >&2; tail "$DIR/kpid.log" >&2; exit 2; }
# Let the first collections (spread over the first seconds) and their writes finish.
sleep 15
echo "idle_check: kpid $KPID, $KPIS KPIs, intervals 1h; watching $IDLE s idle" >&2
threads=$(ls /proc/$PID/task | wc -l)
cpu0=$(awk '{print $14 + $15}' /proc/$PID/stat)
# perf first, alone: strace's attaching and detaching would count as context switches.
if perf stat -e context-switches,task-clock -p $PID -o "$DIR/perf.txt" -- sleep 1 2>/dev/null; then
  perf stat -e context-switches,task-clock -p $PID -o "$DIR/perf.txt" -- sleep "$IDLE" 2>/dev/null
  echo "perf stat over $IDLE s idle:"
  grep -E "context-switches|task-clock" "$DIR/perf.txt"
else
  echo "perf stat is not allowed here; strace only"
fi
cpu1=$(awk '{print $14 + $15}' /proc/$PID/stat)
echo "CPU over those $IDLE s (utime+stime of all threads): $(( (cpu1 - cpu0) * 1000 / $(getconf CLK_TCK) )) ms"
timeout -s INT "$IDLE" strace -f -c -p "$PID" -o "$DIR/strace.txt" 2>"$DIR/strace.err" || true
total=$(awk '$NF == "total" {print $(NF-1)}' "$DIR/strace.txt")
echo "strace -f -c over the next $IDLE s ($threads threads; strace: $(grep -o "attached.*" "$DIR/strace.err" | head -1)):"
if [[ -s $DIR/strace.txt ]]; then cat "$DIR/strace.txt"; else echo "  (no system call returned)"; fi
echo "syscalls: ${total:-0} in $IDLE s = $(awk -v t="${total:-0}" -v s="$IDLE" 'BEGIN {printf "%.1f", t / s}') per second"
exit 0
