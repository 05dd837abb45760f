#!/usr/bin/env bash
# Installs every Debian 12 package that building kpid, running the demo and running the
# test suite need. Idempotent: packages already present are left alone. Run as root.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (apt-get needs it)" >&2
  exit 1
fi

# Build toolchain and libraries (see README "Dependencies" for why each is there).
build=(
  build-essential cmake ninja-build pkg-config git
  libboost-dev libboost-system-dev
  prometheus-cpp-dev
  libcurl4-openssl-dev
  libtomlplusplus-dev
  nlohmann-json3-dev
  libmuparser-dev
  libhowardhinnant-date-dev tzdata
  libsqlite3-dev sqlite3
  libssl-dev zlib1g-dev      # TLS for the listener; TLS and gzip in the HTTP test server
  libcrypt-dev               # libxcrypt's crypt_rn: bcrypt for [server.basic_auth_users]
  libsoci-dev libpq-dev libmariadb-dev unixodbc-dev
  libsystemd-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-format clang-tidy
  clang-14 libclang-rt-14-dev  # the asan preset's compiler, with libFuzzer's runtime
)
# Real servers and tools the tests start on loopback.
peers=(
  curl ca-certificates openssl
  miller                     # the CSV benchmark compares against mlr
  prometheus                 # promtool: lints /metrics; Prometheus scrape tests
  prometheus-alertmanager
  postgresql
  mariadb-server
  odbc-postgresql            # an ODBC driver for the ODBC collector tests
  python3 python3-aiosmtpd
  systemd                    # systemd-analyze verify
  dpkg-dev help2man lintian  # the .deb: shlibdeps, the man page, lintian (deploy/build-deb.sh)
  debootstrap                # tests/package/install_test.sh --debootstrap
  chromium                   # headless status page tests
  wrk                        # HTTP benchmarks (tests/bench)
  prometheus-sql-exporter    # the peer stack of tests/bench/peer_stack
  python3-psycopg2           # its load generator
  gnuplot-nox                # its chart
  strace                     # tests/bench/peer_stack/idle_check.sh
)

wanted=("${build[@]}" "${peers[@]}")
missing=()
for p in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps.sh: all ${#wanted[@]} packages present"
  exit 0
fi

echo "install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Services must not start on install: the tests start their own instances on loopback.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  created_policy=1
fi
trap '[ $created_policy -eq 1 ] && rm -f "$policy"' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
