#!/usr/bin/env bash
# service.sh start|stop|restart|status [CONFIG] - run `ws serve` under the service
# account in the background (pid in var/ws.pid, log in var/log/ws.log).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_root
CMD=${1:-status}
CONFIG=${2:-$ROOT/var/ws.toml}
PIDFILE=$ROOT/var/ws.pid
LOG=$ROOT/var/log/ws.log

running() { [ -s "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
port() { "$ROOT/.venv/bin/python" - "$CONFIG" <<'PY'
import sys
from pathlib import Path
from service.core.config import load_config
c = load_config(Path(sys.argv[1]), {})
print(c.server.port, c.server.public_url)
PY
}

start() {
  if running; then log "already running (pid $(cat "$PIDFILE"))"; return 0; fi
  install -d -o "$WS_USER" -g "$WS_USER" "$ROOT/var/log"
  read -r p url < <(port)
  setsid runuser -u "$WS_USER" -- "$ROOT/.venv/bin/ws" --config "$CONFIG" serve \
    >> "$LOG" 2>&1 < /dev/null &
  echo $! > "$PIDFILE"
  for _ in $(seq 100); do
    if curl -fsS "$url/api/software/list/" >/dev/null 2>&1; then
      log "started: $url (pid $(cat "$PIDFILE"), log $LOG)"; return 0
    fi
    running || break
    sleep 0.2
  done
  tail -20 "$LOG" >&2
  die "the service did not answer on port $p"
}

stop() {
  if running; then
    local pid; pid=$(cat "$PIDFILE")
    kill -- "-$pid" 2>/dev/null || kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    log "stopped"
  fi
  rm -f "$PIDFILE"
}

case $CMD in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) if running; then log "running (pid $(cat "$PIDFILE"))"; else log "not running"; exit 3; fi ;;
  *) die "usage: $0 start|stop|restart|status [CONFIG]" ;;
esac
