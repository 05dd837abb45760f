#!/usr/bin/env bash
# Builds the Debian package: deploy/build-deb.sh [BUILD_DIR]  (default build/default).
# Configures with the default preset, builds kpid and its man page, and runs
# cpack -G DEB; prints the path of the .deb (BUILD_DIR/package/kpid_VERSION_ARCH.deb).
# As root it first installs what building needs (deploy/install-deps.sh: the libraries,
# dpkg-dev for dpkg-shlibdeps, help2man); KPID_SKIP_DEPS=1 skips that.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build/default}"

if [ "$(id -u)" -eq 0 ] && [ "${KPID_SKIP_DEPS:-0}" != 1 ]; then
  deploy/install-deps.sh >&2
fi

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake --preset default -B "$build" >/dev/null
fi
cmake --build "$build" --target kpid kpid_man kpid_changelog
rm -rf "$build/package"
(cd "$build" && cpack -G DEB -B "$PWD/package" >/dev/null)
rm -rf "$build/package/_CPack_Packages"
deb=$(ls "$build"/package/kpid_*.deb)
echo "$deb"
