#!/usr/bin/env bash
# service.sh start|stop|restart|status [CONFIG] - run `ws serve` under the service
# account in the background (log in var/log/ws.log). "Running" means: some process
# holds the state folder's lock ({state_dir}/ws.lock, which `ws serve` takes and
# the kernel drops when it dies), never a pid file alone. {state_dir}/service.pid
# keeps the process group to stop. WS_LOG: another log file.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_root
CMD=${1:-status}
CONFIG=${2:-$ROOT/var/ws.toml}
LOG=${WS_LOG:-$ROOT/var/log/ws.log}

settings() { "$ROOT/.venv/bin/python" - "$CONFIG" <<'PY'
import sys
from pathlib import Path
from service.core.config import load_config
c = load_config(Path(sys.argv[1]), {})
print(c.server.port, c.server.public_url, c.state_dir / "ws.lock")
PY
}
read -r PORT URL LOCK < <(settings)
PIDFILE=${LOCK%/*}/service.pid
# flock -n fails while `ws serve` holds the lock. Only an existing file is tried:
# flock would create a missing one owned by root, which the service could not open.
running() { [ -e "$LOCK" ] && ! flock -n "$LOCK" true; }
holder() { tr -dc 0-9 < "$LOCK"; }
# A service killed a moment ago holds the lock until its exit ends: not "running".
exiting() {
  "$ROOT/.venv/bin/python" -c 'import sys
from service.core.instance_lock import holder_is_exiting
sys.exit(0 if holder_is_exiting(sys.argv[1]) else 1)' "$(holder)"
}

start() {
  if running && exiting; then
    log "the last service (pid $(holder)) is still exiting; waiting for it"
    for _ in $(seq 300); do running || break; sleep 0.1; done
  fi
  if running; then log "already running (pid $(holder))"; return 0; fi
  # The service's folders and log are its alone (ws serve keeps its own files so).
  install -d -o "$WS_USER" -g "$WS_USER" -m 0700 "${LOG%/*}" "${LOCK%/*}"
  chmod 0700 "${LOG%/*}" "${LOCK%/*}"  # install -d leaves an existing mode alone
  [ -e "$LOG" ] || install -m 0600 -o "$WS_USER" -g "$WS_USER" /dev/null "$LOG"
  chmod 0600 "$LOG"
  setsid runuser -u "$WS_USER" -- "$ROOT/.venv/bin/ws" --config "$CONFIG" serve \
    >> "$LOG" 2>&1 < /dev/null &
  local pid=$!
  echo "$pid" > "$PIDFILE"
  for _ in $(seq 100); do
    # curl first: the lock probe, while the service is still taking the lock, would
    # make it wait (PROBE_GRACE_S), and it answers only once it holds the lock.
    if curl -fsS "$URL/api/software/list/" >/dev/null 2>&1 && running; then
      log "started: $URL (pid $(holder), log $LOG)"; return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  tail -20 "$LOG" >&2
  die "the service did not answer on port $PORT"
}

stop() {
  if [ -s "$PIDFILE" ]; then kill -- "-$(cat "$PIDFILE")" 2>/dev/null || true; fi
  if running; then kill "$(holder)" 2>/dev/null || true; fi
  for _ in $(seq 100); do running || break; sleep 0.1; done
  if running; then kill -9 "$(holder)" 2>/dev/null || true; sleep 0.5; fi
  running && die "the service (pid $(holder)) does not stop"
  log "stopped"
  rm -f "$PIDFILE"
}

case $CMD in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) if running; then log "running (pid $(holder))"; else log "not running"; exit 3; fi ;;
  *) die "usage: $0 start|stop|restart|status [CONFIG]" ;;
esac
