#!/usr/bin/env bash
# kpid against the Prometheus + sql_exporter + Alertmanager stack on the same KPIs (issue 8;
# not in CI). In a temporary run directory on 127.0.0.1: PostgreSQL with SERIES KPI series
# and a load generator; kpid with one SQL KPI and deadline goal per series, a webhook and
# an email receiver; prometheus-sql-exporter + Prometheus (one alerting rule per series,
# threshold on the trajectory or predict_linear) + Alertmanager, to the same kind of
# receivers. Both run for DURATION seconds; then one table (RSS, CPU, disk, alert latency,
# ratio kpid/stack), result.json and peer_stack.png in the run directory.
# peer_bench.py holds the details of the setup and of each measurement.
#
# usage: tests/bench/peer_stack/run.sh          (as root: PostgreSQL runs as postgres)
# env:   DURATION   seconds to measure (default 300, at least 30)
#        SERIES     number of KPIs / series (default 1000)
#        INTERVAL   every side's collection, scrape and evaluation interval, s (default 5)
#        KPID_EVALUATION_INTERVAL  kpid's evaluation.interval, s (default INTERVAL)
#        KPID_MAX_CONCURRENCY  the SQL source's max_concurrency: connections and workers
#                   (default 4, kpid's default)
#        TICK       load generator period, s (default 2)
#        DRIFT      fraction of series that go off track, once each (default 0.2)
#        EXPORTER_QUERIES  per-kpi (default: one query per series, as kpid does) | single
#                   (one query returning every series)
#        KPID_BIN   the kpid binary, or a build directory holding daemon/kpid
#                   (default build/default, else build/perf)
#        RUN_DIR    the run directory (default a new /tmp/kpid-peer-XXXXXX); kept
#        KEEP_DB=1  keep the PostgreSQL data directory (removed by default)
# exit:  0 done, 1 a side delivered no alert, 2 a component failed to start or died
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)

fail() { echo "peer_stack: $*" >&2; exit 2; }

find_kpid() {
  local c
  for c in "$@"; do
    [[ -z $c ]] && continue
    if [[ -d $c ]]; then
      for b in "$c/daemon/kpid" "$c/bin/kpid"; do [[ -x $b ]] && { echo "$b"; return; }; done
    elif [[ -x $c ]]; then
      echo "$c"; return
    fi
  done
}
if [[ -n ${KPID_BIN:-} ]]; then
  KPID=$(find_kpid "$KPID_BIN")
  [[ -n $KPID ]] || fail "KPID_BIN=$KPID_BIN is neither the kpid binary nor a build directory with daemon/kpid"
else
  KPID=$(find_kpid "$ROOT/build/default" "$ROOT/build/perf")
  [[ -n $KPID ]] || fail "no kpid binary: build one (cmake --preset default && cmake --build build/default --target kpid) or set KPID_BIN"
fi

[[ $(id -u) == 0 ]] || fail "run as root: PostgreSQL is started as the postgres user with runuser"
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[[ -x $PG_BIN/initdb && -x $PG_BIN/pg_ctl ]] || fail "PostgreSQL server binaries not found (Debian package postgresql)"
for tool in prometheus promtool prometheus-alertmanager prometheus-sql-exporter gnuplot; do
  command -v "$tool" >/dev/null ||
    fail "$tool not found: deploy/install-deps.sh installs it (Debian packages prometheus, prometheus-alertmanager, prometheus-sql-exporter, gnuplot-nox)"
done
/usr/bin/python3 -c 'import psycopg2, aiosmtpd' 2>/dev/null ||
  fail "python3-psycopg2 and python3-aiosmtpd are needed (deploy/install-deps.sh)"

RUN_DIR=${RUN_DIR:-$(mktemp -d /tmp/kpid-peer-XXXXXX)}
mkdir -p "$RUN_DIR"
chmod 755 "$RUN_DIR"  # PostgreSQL, as postgres, lives in a subdirectory

status=0
RUN_DIR=$RUN_DIR KPID=$KPID PG_BIN=$PG_BIN /usr/bin/python3 "$HERE/peer_bench.py" || status=$?
if [[ ${KEEP_DB:-0} != 1 ]]; then rm -rf "$RUN_DIR/pg"; fi
echo "peer_stack: kpid binary $KPID; results in $RUN_DIR"
exit $status
