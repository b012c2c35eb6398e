#!/usr/bin/env bash
# test.sh - the README's second command: everything the tests need (cluster,
# venv, images), then lint, types and every test: the unit tests as an ordinary
# user without Slurm or Apptainer, then the live ones. As root. Extra arguments
# run pytest with them instead (e.g. scripts/test.sh tests/integration -k muse -x).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_root
prepare_machine
cd "$ROOT"
log "ruff"; .venv/bin/ruff check service tests bench plugin slurmlib
log "mypy"; .venv/bin/mypy
if [ "$#" -gt 0 ]; then
  log "pytest $*"
  exec .venv/bin/pytest -ra --durations=20 "$@"
fi

# The unit tests as an ordinary user of the login node, with no Slurm or Apptainer
# command on PATH: they need neither root nor the cluster (fakes at the process
# boundary, recorded output), and this keeps it so.
log "pytest tests/unit, as $UNIT_USER without Slurm or Apptainer"
bare=$(bare_path)
# Python finds the checkout's packages by listing its folder: a clone in a 0700
# temporary folder (only traversable, make_checkout_reachable) must be readable.
runuser -u "$UNIT_USER" -- test -r "$ROOT" || { log "letting others read $ROOT (chmod o+rx)"; chmod o+rx "$ROOT"; }
set +e
runuser -u "$UNIT_USER" -- env -i HOME=/tmp LANG=C.UTF-8 PATH="$bare" \
  "$ROOT/.venv/bin/python" -m pytest tests/unit -p no:cacheprovider -q --durations=5
rc=$?
set -e
rm -rf "$bare"
[ "$rc" = 0 ] || { log "ERROR: the unit tests failed (status $rc)"; exit 1; }

log "pytest -m cluster (the live cluster, the service as its account)"
set +e
# The slowest tests are listed: where the suite's time goes, for whoever trims it.
.venv/bin/pytest -m cluster -ra --durations=20
rc=$?
set -e
# pytest's 5 means no test ran: that is a failure here.
[ "$rc" = 5 ] && { log "ERROR: no test ran"; exit 1; }
[ "$rc" = 0 ] || exit "$rc"
# The second pass: a cluster without accounting (no slurmdbd; squeue forgets jobs
# after 5 s), beside the main one, for the tests that need it.
log "pytest, no-accounting pass"
NOACCT=(env LOCAL_SLURM_INSTANCE=noacct LOCAL_SLURM_NET=10.213.1 LOCAL_SLURM_NODES=1
        LOCAL_SLURM_MINJOBAGE=5 LOCAL_SLURM_SMOKE_TEST=0)
"${NOACCT[@]}" bash scripts/slurm-up.sh
set +e
SLURM_CONF=/etc/slurm-noacct/slurm.conf .venv/bin/pytest -ra tests/integration/test_no_accounting.py
rc=$?
set -e
"${NOACCT[@]}" bash scripts/cluster-down.sh --keep-support
exit "$rc"
