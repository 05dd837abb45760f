#!/usr/bin/env bash
# Installs what kpid needs, builds it, creates demo data and runs kpid on
# deploy/examples/demo.toml until Ctrl-C. Run as root on Debian 12 (apt-get needs it).
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default --target kpid

export KPID_DEMO_DIR="${KPID_DEMO_DIR:-/tmp/kpid-demo}"
mkdir -p "$KPID_DEMO_DIR"
deploy/examples/make-demo-data.sh "$KPID_DEMO_DIR"

build/default/daemon/kpid check --config deploy/examples/demo.toml
echo "kpid demo: status page http://127.0.0.1:9464/ ; also /metrics, /api/v1/kpis, /api/v1/alerts, /-/ready; notifications and digests in $KPID_DEMO_DIR/notifications.jsonl; Ctrl-C stops."
exec build/default/daemon/kpid run --config deploy/examples/demo.toml "$@"
