#!/bin/sh
# Install Debian's Chromium for the browser tests (tests marked `browser`).
#
# Playwright (PyPI) drives the system browser at /usr/bin/chromium: `playwright install`
# cannot download its own browsers on these machines (no network but package
# registries), while apt can reach Debian's archive. Idempotent and quiet: does nothing
# when /usr/bin/chromium exists. Never fails the build: when Chromium cannot be
# installed (no apt-get, not root, no archive) it says why on stderr and exits 0, and
# the browser tests skip with that reason.
set -u

if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup_browser: no apt-get here; install Chromium at /usr/bin/chromium to run the browser tests" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "setup_browser: not root and no password-less sudo; cannot apt-get install chromium" >&2
        exit 0
    fi
fi
export DEBIAN_FRONTEND=noninteractive
log="${TMPDIR:-/tmp}/icetally-setup-browser.log"
echo "setup_browser: installing Debian's chromium (apt-get; log in $log)" >&2
if ! $SUDO apt-get update -qq >"$log" 2>&1; then
    echo "setup_browser: apt-get update failed (see $log)" >&2
fi
if ! $SUDO apt-get install -y -qq chromium >>"$log" 2>&1; then
    echo "setup_browser: apt-get install chromium failed (see $log); browser tests will be skipped" >&2
    exit 0
fi
if [ -x /usr/bin/chromium ]; then
    echo "setup_browser: $(/usr/bin/chromium --version 2>/dev/null | tail -n 1)" >&2
else
    echo "setup_browser: chromium installed but /usr/bin/chromium is missing" >&2
fi
exit 0
