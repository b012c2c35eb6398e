#!/usr/bin/env bash
# browser-up.sh - Debian's chromium for the browser tests (Playwright drives it;
# Playwright never downloads a browser of its own). Idempotent; as root.
set -euo pipefail
log() { printf '[browser] %s\n' "$*" >&2; }
if [ -x /usr/bin/chromium ]; then log "chromium present"; exit 0; fi
log "installing Debian's chromium"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >/dev/null \
  || { apt-get update -q >/dev/null && \
       apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >/dev/null; }
log "ok: $(/usr/bin/chromium --version 2>/dev/null || echo installed)"
