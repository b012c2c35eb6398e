#!/usr/bin/env bash
# browser-up.sh - Debian's chromium for the browser tests (Playwright drives it;
# Playwright never downloads a browser of its own). Idempotent; as root.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_root
install_missing chromium fonts-dejavu-core
log "ok: $(/usr/bin/chromium --version 2>/dev/null || echo installed)"
