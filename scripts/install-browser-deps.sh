#!/usr/bin/env bash
# Install what the browser (end-to-end) tests need: Debian's chromium and chromium-driver,
# and two small fonts so Hindi (Devanagari) and Telugu render as letters, not boxes, in
# the screenshots. Idempotent: does nothing when all are already installed. Playwright drives this
# chromium through `executable_path`; its own browser download is never used (it needs
# a host that is unreachable here).
set -euo pipefail

missing=()
for pkg in chromium chromium-driver fonts-lohit-deva fonts-lohit-telu; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-browser-deps: chromium, chromium-driver and fonts already installed"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install-browser-deps: need root (or sudo) to install: ${missing[*]}" >&2
        exit 1
    fi
fi

echo "install-browser-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
command -v chromium >/dev/null && chromium --version || true
