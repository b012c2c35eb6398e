#!/usr/bin/env bash
# test.sh - the README's second command: everything the tests need (cluster,
# venv, images), then lint, types and every test. As root. Extra arguments go
# to pytest (e.g. scripts/test.sh -k muse -x).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_root
prepare_machine
cd "$ROOT"
log "ruff"; .venv/bin/ruff check service tests bench
log "mypy"; .venv/bin/mypy
log "pytest"
set +e
.venv/bin/pytest -ra "$@"
rc=$?
set -e
# pytest's 5 means no test ran: that is a failure here.
[ "$rc" = 5 ] && { log "ERROR: no test ran"; exit 1; }
exit "$rc"
