#!/usr/bin/env bash
# venv.sh - the service's virtualenv at .venv in the checkout, from Debian's
# /usr/bin/python3 (a pyenv Python under /root is unreadable by the service account).
# Reinstalls only when a pyproject.toml (ws's, the plugin's, ws_slurm's) changed since the last install.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { printf '[venv] %s\n' "$*" >&2; }
V=$root/.venv
stamp=$V/.ws-installed
want=$(cat "$root/pyproject.toml" "$root/plugin/pyproject.toml" "$root/slurmlib/pyproject.toml" \
  | sha256sum | cut -d' ' -f1)
if [ -x "$V/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  log "up to date"; exit 0
fi
[ -x "$V/bin/python" ] || { log "creating $V"; /usr/bin/python3 -m venv "$V"; }
log "installing ws and its dependencies"
# ws's own packages first, editable, so that ws's dependencies on them are met by
# these checkouts: ws_slurm (slurmlib/, Slurm's commands and records), then ws's
# Snakemake executor plugin (plugin/, a src layout: Snakemake finds it with
# pkgutil). Installed before the service starts: Snakemake collects plugins once.
"$V/bin/pip" install -q --disable-pip-version-check -e "$root/slurmlib[drmaa]"
"$V/bin/pip" install -q --disable-pip-version-check -e "$root/plugin"
# Playwright drives Debian's chromium (scripts/browser-up.sh): it never downloads one.
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 "$V/bin/pip" install -q --disable-pip-version-check -e "$root[dev]"
echo "$want" > "$stamp"
log "ok: $("$V/bin/python" --version), snakemake $("$V/bin/snakemake" --version)"
