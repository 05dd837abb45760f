#!/usr/bin/env bash
# systemd-analyze verify on systemd/kpid.service (with the built binary in place of
# /usr/bin/kpid), and its offline security exposure, which must stay at most 2.0.
set -euo pipefail
src="${1:?usage: verify.sh SOURCE_DIR KPID_BINARY}"
bin="${2:?usage: verify.sh SOURCE_DIR KPID_BINARY}"
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not installed"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|/usr/bin/kpid|$bin|g" "$src/systemd/kpid.service" >"$tmp/kpid.service"
systemd-analyze verify "$tmp/kpid.service"
exposure=$(systemd-analyze security --offline=yes "$tmp/kpid.service" 2>&1 |
  sed -n 's/.*Overall exposure level for kpid.service: \([0-9.]*\).*/\1/p')
echo "kpid.service exposure: ${exposure:-unknown}"
[ -n "$exposure" ] && awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }'
# The snippets parse: sysusers and tmpfiles in dry-run against a scratch root.
mkdir -p "$tmp/root/etc"
systemd-sysusers --root="$tmp/root" "$src/systemd/kpid.sysusers" >/dev/null
grep -q '^kpid:' "$tmp/root/etc/passwd"
systemd-tmpfiles --root="$tmp/root" --create "$src/systemd/kpid.tmpfiles"
[ "$(stat -c %a "$tmp/root/var/lib/kpid")" = 700 ]
echo "systemd files: OK"
