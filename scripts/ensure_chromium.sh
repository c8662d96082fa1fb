#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed for the console's browser test (nothing downloads a browser):
# installs it with apt when it is missing, as root directly or through sudo otherwise.
#
#   scripts/ensure_chromium.sh            # strict (.ci/run): exit 1 when it cannot be installed
#   scripts/ensure_chromium.sh --lenient  # `npm test`: without root or password-less sudo, say so and exit 0
set -euo pipefail
lenient=0
[ "${1:-}" = "--lenient" ] && lenient=1
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$chromium" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  as_root=""
elif command -v sudo >/dev/null 2>&1 && { [ "$lenient" -eq 0 ] || sudo -n true 2>/dev/null; }; then
  as_root="sudo"
else
  echo "ensure_chromium: Chromium is missing at $chromium and installing it needs root (or sudo)" >&2
  [ "$lenient" -eq 1 ] && exit 0
  exit 1
fi
echo "ensure_chromium: installing Debian's chromium with apt-get" >&2
if ! { $as_root apt-get update -qq &&
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }; then
  echo "ensure_chromium: apt-get could not install chromium" >&2
  [ "$lenient" -eq 1 ] && exit 0
  exit 1
fi
if [ ! -x "$chromium" ]; then
  echo "ensure_chromium: apt installed chromium, but there is none at $chromium (CHROMIUM_PATH?)" >&2
  [ "$lenient" -eq 1 ] && exit 0
  exit 1
fi
