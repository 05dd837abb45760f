#!/usr/bin/env bash
# Soak test (issue 7; not in CI): 1,000 KPIs — half from a SQLite table, half from 20 CSV
# files — collected every 5 s and judged every 5 s, for 30 minutes, while the values keep
# changing and some alerts fire into a file receiver. Every 10 s it samples kpid's RSS and
# open file descriptors (/proc/PID/status, /proc/PID/fd) and how late work is:
#   - collection lateness: the oldest KPI sample on /metrics
#     (scrape time - kpi_last_sample_timestamp_seconds) minus the collection interval;
#   - evaluation lateness: kpid exposes no evaluation timestamp metric, so a poller reads
#     `evaluated_at` of /api/v1/alerts every 0.5 s; each gap between two passes minus the
#     interval is how late the later pass was (the poll adds up to 0.5 s of error).
# At the end: a table, the RSS and fd slopes (least squares, after a 60 s warm-up), the
# maximum lateness, and a verdict: RSS flat (growth over the run < 5 % of RSS or 4 MiB),
# fds flat (growth < 3), no evaluation or collection late by more than one interval.
#
# usage: tests/bench/soak.sh
# env:   DURATION   seconds to run (default 1800)
#        KPIS       number of KPIs (default 1000)
#        INTERVAL   collection and evaluation interval in seconds (default 5)
#        KPID       the kpid binary (default build/store/daemon/kpid, else build/default/...)
#        PORT       listen port (default: a free one)
#        KEEP=1     keep the work directory (config, store, log, samples)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DURATION=${DURATION:-1800}
KPIS=${KPIS:-1000}
INTERVAL=${INTERVAL:-5}
SAMPLE_EVERY=10
WARMUP=60
if [[ -z ${KPID:-} ]]; then
  for b in "$ROOT/build/store/daemon/kpid" "$ROOT/build/default/daemon/kpid"; do
    [[ -x $b ]] && KPID=$b && break
  done
fi
[[ -x ${KPID:-} ]] || { echo "no kpid binary: build one or set KPID" >&2; exit 1; }
for tool in sqlite3 curl awk; do
  command -v $tool >/dev/null || { echo "$tool is needed" >&2; exit 1; }
done
PORT=${PORT:-$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}

DIR=$(mktemp -d /tmp/kpid-soak-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ ${KEEP:-0} == 1 ]]; then echo "work directory kept: $DIR" >&2; else rm -rf "$DIR"; fi
}
trap cleanup EXIT

# --- data: SQL KPIs s0..s(N/2-1), CSV KPIs c0..c(N/2-1) over 20 files --------------------
NSQL=$((KPIS / 2))
NCSV=$((KPIS - NSQL))
FILES=20
{
  echo "PRAGMA journal_mode=WAL; CREATE TABLE kpi (name TEXT PRIMARY KEY, value REAL);"
  echo "BEGIN;"
  for ((i = 0; i < NSQL; i++)); do echo "INSERT INTO kpi VALUES ('s$i', $((i % 100)));"; done
  echo "COMMIT;"
} | sqlite3 "$DIR/data.db" >/dev/null

write_csv() {  # $1: a number mixed into the values, so that they change
  local f
  for ((f = 0; f < FILES; f++)); do
    awk -v f=$f -v n=$NCSV -v files=$FILES -v salt="$1" 'BEGIN {
      print "name,value"
      for (i = f; i < n; i += files) printf "c%d,%d\n", i, (i * 7 + salt) % 100
    }' >"$DIR/f$f.csv.tmp"
    mv "$DIR/f$f.csv.tmp" "$DIR/f$f.csv"
  done
}
write_csv 0

# --- config ------------------------------------------------------------------------------
{
  cat <<EOF
[server]
listen = "127.0.0.1:$PORT"

[storage]
path = "$DIR/kpid.db"

[evaluation]
interval = "${INTERVAL}s"

[[source]]
name = "db"
type = "sql"
driver = "sqlite3"
connection = "$DIR/data.db"
EOF
  for ((f = 0; f < FILES; f++)); do
    printf '\n[[source]]\nname = "csv%d"\ntype = "csv"\npath = "%s/f%d.csv"\n' $f "$DIR" $f
  done
  # Band goals: values 0..99 against max 90, so about a tenth of them fire now and then.
  for ((i = 0; i < NSQL; i++)); do
    printf '\n[[kpi]]\nname = "s%d"\nlabels = { team = "t%d" }\nsource = "db"\nquery = "SELECT value FROM kpi WHERE name = '"'"'s%d'"'"'"\ninterval = "%ss"\n  [kpi.goal]\n  max = 90\n  warn_max = 80\n' \
      $i $((i % 10)) $i "$INTERVAL"
  done
  for ((i = 0; i < NCSV; i++)); do
    printf '\n[[kpi]]\nname = "c%d"\nlabels = { team = "t%d" }\nsource = "csv%d"\ncolumn = "value"\nwhere = { name = "c%d" }\ninterval = "%ss"\n  [kpi.goal]\n  max = 90\n  warn_max = 80\n' \
      $i $((i % 10)) $((i % FILES)) $i "$INTERVAL"
  done
  cat <<EOF

[[route]]
receivers = ["audit"]
group_by = ["team"]
group_wait = "1s"
group_interval = "5s"

[[receiver]]
name = "audit"
type = "file"
path = "$DIR/notifications.jsonl"
EOF
} >"$DIR/kpid.toml"

"$KPID" check --config "$DIR/kpid.toml" >/dev/null
"$KPID" run --config "$DIR/kpid.toml" 2>"$DIR/kpid.log" &
KPID_PID=$!
PIDS+=("$KPID_PID")
for _ in $(seq 1 300); do
  curl -fs "http://127.0.0.1:$PORT/-/ready" >/dev/null && break
  sleep 0.1
done
curl -fs "http://127.0.0.1:$PORT/-/ready" >/dev/null || { echo "kpid did not become ready" >&2; tail "$DIR/kpid.log" >&2; exit 1; }
echo "kpid $KPID pid $KPID_PID, $KPIS KPIs every ${INTERVAL}s for ${DURATION}s; work dir $DIR" >&2

# --- load: values change every interval ----------------------------------------------------
(
  n=0
  while sleep "$INTERVAL"; do
    n=$((n + 1))
    sqlite3 "$DIR/data.db" "UPDATE kpi SET value = (value + 3 + abs(random() % 5)) % 100;" >/dev/null 2>&1 || true
    write_csv "$n"
  done
) &
PIDS+=("$!")

# --- evaluation poller: one line per pass, "epoch_seconds" ---------------------------------
(
  last=""
  while sleep 0.5; do
    at=$(curl -fs "http://127.0.0.1:$PORT/api/v1/alerts" | sed -n 's/.*"evaluated_at":"\([^"]*\)".*/\1/p')
    if [[ -n $at && $at != "$last" ]]; then
      date -d "$at" +%s.%N
      last=$at
    fi
  done
) >"$DIR/evaluations.txt" &
PIDS+=("$!")

# --- sampling --------------------------------------------------------------------------------
SAMPLES=$DIR/samples.tsv
printf 't_s\trss_kib\tfds\tcollect_late_s\truns/expected\teval_late_s\teval_ms_avg\tnotifications\n' >"$SAMPLES"
START=$(date +%s.%N)
prev_eval_sum=0
prev_eval_count=0
prev_runs=0
prev_now=""
while :; do
  now=$(date +%s.%N)
  elapsed=$(awk -v a="$now" -v b="$START" 'BEGIN { printf "%d", a - b }')
  kill -0 "$KPID_PID" 2>/dev/null || { echo "kpid died" >&2; tail "$DIR/kpid.log" >&2; exit 1; }
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$KPID_PID/status")
  fds=$(ls "/proc/$KPID_PID/fd" | wc -l)
  scrape=$(date +%s.%N)
  metrics=$(curl -fs "http://127.0.0.1:$PORT/metrics")
  # Oldest sample among the SQL KPIs (stamped when collected; a CSV sample carries the
  # file's mtime), minus the interval: > 0 means a collection is late.
  collect_late=$(awk -v now="$scrape" -v iv="$INTERVAL" '
    /^kpi_last_sample_timestamp_seconds\{kpi="s/ { age = now - $NF; if (age > max) max = age }
    END { printf "%.2f", max - iv }' <<<"$metrics")
  # Collections since the last sample against what the schedule calls for (every KPI once
  # per interval), CSV ones included: about 1.00 when nothing is skipped.
  runs=$(awk '/^kpid_collector_runs_total/ { s += $NF } END { printf "%d", s }' <<<"$metrics")
  runs_ratio=$(awk -v r="$runs" -v pr="$prev_runs" -v a="$now" -v pa="$prev_now" -v k="$KPIS" -v iv="$INTERVAL" \
    'BEGIN { if (pa == "") printf "-"; else printf "%.2f", (r - pr) / (k * (a - pa) / iv) }')
  prev_runs=$runs
  prev_now=$now
  read -r eval_sum eval_count < <(awk '
    /^kpid_evaluation_duration_seconds_sum/ { s = $NF }
    /^kpid_evaluation_duration_seconds_count/ { c = $NF }
    END { printf "%s %s\n", s + 0, c + 0 }' <<<"$metrics")
  eval_ms=$(awk -v s="$eval_sum" -v c="$eval_count" -v ps="$prev_eval_sum" -v pc="$prev_eval_count" \
    'BEGIN { if (c > pc) printf "%.1f", (s - ps) / (c - pc) * 1000; else printf "-" }')
  prev_eval_sum=$eval_sum
  prev_eval_count=$eval_count
  # The largest gap between passes seen in the last sampling period, minus the interval.
  eval_late=$(awk -v since="$(awk -v n="$now" -v p=$SAMPLE_EVERY 'BEGIN { printf "%.3f", n - p }')" -v iv="$INTERVAL" '
    { if (prev != "" && $1 >= since) { gap = $1 - prev; if (gap > max) max = gap } prev = $1 }
    END { if (max == "") printf "-"; else printf "%.2f", max - iv }' "$DIR/evaluations.txt")
  notes=0
  [[ -f $DIR/notifications.jsonl ]] && notes=$(wc -l <"$DIR/notifications.jsonl")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$elapsed" "$rss" "$fds" "$collect_late" \
    "$runs_ratio" "$eval_late" "$eval_ms" "$notes" >>"$SAMPLES"
  tail -n 1 "$SAMPLES" >&2
  [[ $elapsed -ge $DURATION ]] && break
  sleep $SAMPLE_EVERY
done

# --- report ----------------------------------------------------------------------------------
echo
column -t -s $'\t' "$SAMPLES"
echo
awk -F'\t' -v warm=$WARMUP -v iv="$INTERVAL" -v evfile="$DIR/evaluations.txt" '
  NR == 1 { next }
  {
    if ($4 + 0 > maxc) maxc = $4 + 0
    if ($6 != "-" && $6 + 0 > maxe) maxe = $6 + 0
    if ($1 + 0 < warm) next
    if ($5 != "-") { nr++; sr += $5; if (minr == "" || $5 + 0 < minr) minr = $5 + 0 }
    n++; t = $1 / 3600; sx += t; sy += $2; sxx += t * t; sxy += t * $2; sf += $3; sxf += t * $3
    if (n == 1) { first_rss = $2; minf = $3; maxf = $3 }
    if ($3 < minf) minf = $3
    if ($3 > maxf) maxf = $3
    last_rss = $2; last_t = $1
  }
  END {
    # Whole-run evaluation lateness from every pass seen, not only the sampled windows.
    while ((getline line < evfile) > 0) {
      if (prev != "") { gap = line - prev; if (gap - iv > maxall) maxall = gap - iv }
      passes++; prev = line
    }
    if (n < 3) { print "too few samples after the warm-up for a verdict"; exit 2 }
    d = n * sxx - sx * sx
    rss_slope = (n * sxy - sx * sy) / d          # KiB per hour
    fd_slope = (n * sxf - sx * sf) / d           # fds per hour
    mean_rss = sy / n
    span_h = (last_t - warm) / 3600
    rss_growth = rss_slope * span_h
    printf "RSS: mean %.1f MiB, slope %+.1f KiB/h (%+.2f MiB over the %.0f s after warm-up), first %.1f, last %.1f MiB\n", \
      mean_rss / 1024, rss_slope, rss_growth / 1024, span_h * 3600, first_rss / 1024, last_rss / 1024
    printf "fds: %d..%d, slope %+.2f per hour\n", minf, maxf, fd_slope
    printf "evaluation passes seen: %d; max lateness %.2f s (all passes), %.2f s (sampled windows); interval %d s\n", \
      passes, maxall, maxe, iv
    printf "collection: max age of the oldest SQL KPI sample beyond the interval %.2f s; collections/scheduled: mean %.2f, min %.2f\n", \
      maxc, (nr ? sr / nr : 0), minr
    ok = 1
    if (rss_growth > 4096 && rss_growth > 0.05 * mean_rss) { ok = 0; print "FAIL: RSS grows" }
    if (maxf - minf >= 3 && fd_slope > 0) { ok = 0; print "FAIL: open fds grow" }
    if (maxall > iv) { ok = 0; print "FAIL: an evaluation was late by more than one interval" }
    if (maxc > iv) { ok = 0; print "FAIL: a collection was late by more than one interval" }
    if (nr && minr < 0.9) { ok = 0; print "FAIL: collections fell behind the schedule" }
    print (ok ? "VERDICT: PASS (RSS and fds flat, nothing late by more than one interval)" : "VERDICT: FAIL")
    exit ok ? 0 : 1
  }' "$SAMPLES"
