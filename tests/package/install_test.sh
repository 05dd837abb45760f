#!/usr/bin/env bash
# Installs the kpid .deb and takes it away again, checking what each step leaves.
#
#   tests/package/install_test.sh [--debootstrap] [BUILD_DIR]     (default build/default)
#
# Builds the package (deploy/build-deb.sh BUILD_DIR), checks its contents and lintian's
# verdict (no error or warning), then:
#   dpkg -i       -> the files are in place, the kpid user and /var/lib/kpid exist,
#                    `kpid check --config /etc/kpid/kpid.toml` passes, and
#                    `systemd-analyze verify` accepts the installed unit;
#   dpkg -r       -> nothing is left but the conffile /etc/kpid/kpid.toml and the
#                    directories that hold it and kpid's (empty) state;
#   dpkg --purge  -> the file list is the one from before the install.
#
# Without --debootstrap (what ctest runs) it installs on this machine: it needs root and
# a machine without kpid (else it exits 77, a skip for ctest); it leaves the machine as it
# found it (also the kpid user, which a real purge keeps). With --debootstrap it installs into a fresh Debian 12
# root made by debootstrap with the package's dependencies, cached under
# BUILD_DIR/package-root (kept pristine; each run works on a copy).
set -euo pipefail

mode=machine
if [ "${1:-}" = --debootstrap ]; then
  mode=debootstrap
  shift
fi
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build/default}" && pwd)
start=$(date +%s)

fail() {
  echo "install_test: FAIL: $*" >&2
  exit 1
}
# Exit 77: ctest reports the test as skipped (SKIP_RETURN_CODE), with the reason.
skip() {
  echo "install_test: SKIP: $*"
  exit 77
}
step() { echo "install_test: [$(($(date +%s) - start)) s] $*"; }

[ "$(id -u)" -eq 0 ] || skip "needs root (dpkg -i); CI runs as root"

deb=$(KPID_SKIP_DEPS=1 "$src/deploy/build-deb.sh" "$build" | tail -n 1)
[ -f "$deb" ] || fail "no package built"
step "package $deb ($(du -k "$deb" | cut -f1) KiB)"

# The package's file list, and the conffile list, from the .deb itself.
files=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|; s|/$||' | grep -v '^/\?$')
for f in /usr/bin/kpid /lib/systemd/system/kpid.service /usr/lib/sysusers.d/kpid.conf \
  /usr/lib/tmpfiles.d/kpid.conf /etc/kpid/kpid.toml /usr/share/man/man8/kpid.8.gz \
  /usr/share/doc/kpid/copyright /usr/share/doc/kpid/changelog.Debian.gz \
  /usr/share/doc/kpid/README.md /usr/share/doc/kpid/examples/weekly-digest.toml \
  /usr/share/doc/kpid/deploy/grafana/kpid-overview.json; do
  grep -qx "$f" <<<"$files" || fail "the package lacks $f"
done
dpkg-deb -I "$deb" conffiles | grep -qx /etc/kpid/kpid.toml || fail "kpid.toml is no conffile"
# lintian: no error, no warning (deploy/README.md, "Package notes", explains the rest).
if command -v lintian >/dev/null; then
  out=$(lintian --fail-on error,warning "$deb" 2>&1) || fail "lintian: $out"
  step "lintian: no errors or warnings"
else
  fail "lintian is not installed (deploy/install-deps.sh installs it)"
fi

# --- Where to install ------------------------------------------------------------------
if [ "$mode" = debootstrap ]; then
  command -v debootstrap >/dev/null || fail "debootstrap is not installed"
  # Dependencies without versions or alternatives, plus systemd for systemd-analyze.
  deps=$( (dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/ //g'
    echo systemd) | grep -v '^$' | sort -u | paste -sd,)
  key=$(echo "$deps" | sha1sum | cut -c1-12)
  cache="$build/package-root/$key"
  if [ ! -f "$cache/.complete" ]; then
    step "debootstrap bookworm with $deps (once; cached in $cache)"
    rm -rf "$cache"
    mkdir -p "$cache"
    debootstrap --variant=minbase --include="$deps" bookworm "$cache" \
      "${KPID_DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$build/package-root/$key.log" 2>&1 ||
      fail "debootstrap failed; see $build/package-root/$key.log"
    rm -rf "$cache/var/cache/apt/archives/"*.deb
    touch "$cache/.complete"
  fi
  root="$build/package-root/work"
  rm -rf "$root"
  cp -a "$cache" "$root"
  rm -f "$root/.complete"
  # Maintainer scripts (systemd-tmpfiles) need /proc, as on any real system.
  mount -t proc proc "$root/proc"
  trap 'umount "$root/proc"; rm -rf "$root"' EXIT
  in_root() { chroot "$root" "$@"; }
  DPKG=(chroot "$root" dpkg)
  cp "$deb" "$root/tmp/kpid.deb"
  target_deb=/tmp/kpid.deb
  scan_root="$root"
else
  # On this machine: refuse to touch an installed kpid, and undo what a purge keeps.
  if dpkg-query -W -f='${Status}' kpid 2>/dev/null | grep -q 'installed\|config-files'; then
    skip "kpid is installed on this machine; use --debootstrap"
  fi
  for p in /etc/kpid /var/lib/kpid /lib/systemd/system/kpid.service /usr/bin/kpid; do
    [ ! -e "$p" ] || skip "$p exists already; use --debootstrap"
  done
  had_user=0
  getent passwd kpid >/dev/null && had_user=1
  had_group=0
  getent group kpid >/dev/null && had_group=1
  cleanup() {
    if dpkg-query -W -f='${Status}' kpid 2>/dev/null | grep -q 'installed\|config-files'; then
      dpkg --purge kpid >/dev/null 2>&1 || true
    fi
    [ "$had_user" = 1 ] || ! getent passwd kpid >/dev/null || userdel kpid >/dev/null 2>&1 || true
    [ "$had_group" = 1 ] || ! getent group kpid >/dev/null || groupdel kpid >/dev/null 2>&1 || true
  }
  trap cleanup EXIT
  in_root() { "$@"; }
  DPKG=(dpkg)
  target_deb="$deb"
  scan_root=""
fi

# dpkg refuses to run while another dpkg or apt holds its lock: wait for it.
dpkg_run() {
  local out
  for _ in $(seq 1 60); do
    if out=$("${DPKG[@]}" "$@" 2>&1); then
      return 0
    fi
    if grep -q 'lock' <<<"$out"; then
      step "waiting for the dpkg lock"
      sleep 2
      continue
    fi
    echo "$out" >&2
    return 1
  done
  echo "$out" >&2
  return 1
}

# Every path below the places a package can write to, less dpkg's and apt's own books.
snapshot() {
  (cd "${scan_root:-/}" &&
    find etc lib usr var/lib srv opt -xdev 2>/dev/null |
    grep -Ev '^var/lib/(dpkg|apt|systemd/deb-systemd-helper-[a-z]*)(/|$)' |
      sed 's|^|/|' | sort)
}

before=$(snapshot)

# --- Install ---------------------------------------------------------------------------
dpkg_run -i "$target_deb" || fail "dpkg -i failed"
step "installed"
for f in $files; do
  [ -e "$scan_root$f" ] || fail "$f is not on disk after dpkg -i"
done
in_root getent passwd kpid >/dev/null || fail "no kpid user after install"
# stat inside the root: user names are those of the root's /etc/passwd.
perm=$(in_root stat -c '%a %U %G' /var/lib/kpid)
[ "$perm" = "700 kpid kpid" ] || fail "/var/lib/kpid is $perm, want 700 kpid kpid"
perm=$(in_root stat -c '%a %U %G' /etc/kpid/secrets)
[ "$perm" = "750 root kpid" ] || fail "/etc/kpid/secrets is $perm, want 750 root kpid"
out=$(in_root /usr/bin/kpid check --config /etc/kpid/kpid.toml 2>&1) ||
  fail "kpid check /etc/kpid/kpid.toml: $out"
step "$out"
# As the service would: the kpid user reads the config and collects without any server.
out=$(in_root runuser -u kpid -- /usr/bin/kpid eval --config /etc/kpid/kpid.toml 2>&1) ||
  fail "kpid eval as user kpid: $out"
step "kpid eval as user kpid: every KPI has a value"
# Not enabled, not started: no symlink in any .wants directory.
if ls "$scan_root"/etc/systemd/system/*.wants/kpid.service >/dev/null 2>&1; then
  fail "the package enabled kpid.service"
fi
out=$(in_root systemd-analyze verify /lib/systemd/system/kpid.service 2>&1) ||
  fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify says: $out"
step "systemd-analyze verify: clean"

# --- Remove: only the conffile and the (empty) state stay ------------------------------
dpkg_run -r kpid || fail "dpkg -r failed"
after_remove=$(snapshot)
left=$(comm -13 <(echo "$before") <(echo "$after_remove"))
want=$'/etc/kpid\n/etc/kpid/kpid.toml\n/etc/kpid/secrets\n/var/lib/kpid'
[ "$left" = "$want" ] || fail "after dpkg -r, new paths are:
$left
want:
$want"
gone=$(comm -23 <(echo "$before") <(echo "$after_remove"))
[ -z "$gone" ] || fail "dpkg -r removed paths that were there before: $gone"
step "removed: only the conffile and the empty state directory stay"

# --- Purge: as before ------------------------------------------------------------------
dpkg_run --purge kpid || fail "dpkg --purge failed"
after_purge=$(snapshot)
diff=$(diff <(echo "$before") <(echo "$after_purge") || true)
[ -z "$diff" ] || fail "after dpkg --purge the file list differs from before:
$diff"
in_root getent passwd kpid >/dev/null || fail "purge removed the kpid user (Debian keeps it)"
step "purged: the file list is as before the install"

echo "install_test: OK ($mode) in $(($(date +%s) - start)) s"
