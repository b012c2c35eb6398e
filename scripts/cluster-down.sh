#!/usr/bin/env bash
# cluster-down.sh - stop the cluster started by cluster-up.sh (slurmctld, the
# compute nodes' slurmd in their namespaces, slurmdbd)
# (and the ws service if scripts/service.sh started it). Kills only the PIDs recorded in the daemons' pid files
# (never by process name). State (job ids, accounting DB, config) is kept.
#
#   cluster-down.sh          stop slurmrestd, slurmd, slurmctld, slurmdbd; stop
#                                MariaDB and munged only if slurm-up.sh started them
#   cluster-down.sh --all    also stop MariaDB and munged even if started elsewhere
#   cluster-down.sh --keep-support   stop only the Slurm daemons (keep MariaDB, munged)
set -uo pipefail

MODE=default
case "${1:-}" in --all) MODE=all;; --keep-support) MODE=keep;; "") ;; *) echo "usage: $0 [--all|--keep-support]" >&2; exit 2;; esac
[ "$(id -u)" = 0 ] || { echo "must run as root" >&2; exit 1; }

INSTANCE=${LOCAL_SLURM_INSTANCE:-}
RUNDIR=/run/slurm${INSTANCE:+-$INSTANCE}
MARK=/run/ws-cluster${INSTANCE:+-$INSTANCE}
log() { printf '[cluster-down] %s\n' "$*" >&2; }

alive() {
  local pid
  [ -s "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]
}
pids_named() { local d; for d in /proc/[0-9]*; do [ "$(cat "$d/comm" 2>/dev/null)" = "$1" ] && echo "${d#/proc/}"; done; return 0; }
stop_pidfile() {  # stop_pidfile PIDFILE COMM
  local pid i
  if ! alive "$1" "$2"; then
    local other; other=$(pids_named "$2" | tr '\n' ' ')
    [ -z "$other" ] || log "note: $2 running as pid(s) ${other}but not via $1; left alone"
    return 0
  fi
  pid=$(cat "$1")
  log "stopping $2 (pid $pid)"
  kill "$pid" 2>/dev/null
  for i in $(seq 150); do kill -0 "$pid" 2>/dev/null || { rm -f "$1"; return 0; }; sleep 0.1; done
  log "$2 (pid $pid) still alive after 15s; SIGKILL"
  kill -9 "$pid" 2>/dev/null
  rm -f "$1"
}

stop_pidfile "$RUNDIR/slurmrestd.pid" slurmrestd
stop_pidfile "$RUNDIR/slurmd.pid" slurmd
for pidfile in "$RUNDIR"/slurmd-*.pid; do
  [ -e "$pidfile" ] && stop_pidfile "$pidfile" slurmd
done
rm -f "$MARK"/slurmd-* "$MARK/hide"
stop_pidfile "$RUNDIR/slurmctld.pid" slurmctld
stop_pidfile "$RUNDIR/slurmdbd.pid" slurmdbd
rm -f "$MARK/slurmrestd" "$MARK/slurmd" "$MARK/slurmctld" "$MARK/slurmdbd"

if [ "$MODE" != keep ]; then
  if [ "$MODE" = all ] || [ -e "$MARK/mariadbd" ]; then
    if [ -s /run/mysqld/mysqld.pid ]; then
      comm=$(cat "/proc/$(cat /run/mysqld/mysqld.pid)/comm" 2>/dev/null || true)
      [ -n "$comm" ] && stop_pidfile /run/mysqld/mysqld.pid "$comm"
    fi
    rm -f "$MARK/mariadbd"
  fi
  if [ "$MODE" = all ] || [ -e "$MARK/munged" ]; then
    stop_pidfile /run/munge/munged.pid munged
    rm -f "$MARK/munged"
  fi
fi
log "done"
