#!/usr/bin/env bash
# slurm-up.sh - install (Debian packages) and start a multi-node Slurm cluster on
# this machine, without systemd: slurmctld (and slurmdbd) on the host, which plays
# the login node and runs no slurmd, and N compute nodes, each a slurmd in its own
# network namespace (its own address on a private bridge this script creates, its
# own spool, pid and log file and node name) and its own mount namespace, where the
# paths in LOCAL_SLURM_HIDE are covered (what a real site does not share with its
# compute nodes: the service's state). Called by cluster-up.sh. Idempotent: safe to
# rerun while the daemons already run (it only (re)starts what is down, or what must
# pick up a changed config). Only addresses this script gives its bridge and its
# namespaces are ever contacted.
#
# Tested: Debian 12 (bookworm, slurm-wlm 22.05.8, munge 0.5.15, MariaDB 10.11).
# Written to also work on Debian 13 (trixie, slurm-wlm 24.11.x, MariaDB 11.8).
#
# Options (environment variables):
#   LOCAL_SLURM_NODES=3              compute nodes (network namespaces ws-node1...).
#   LOCAL_SLURM_NET=10.213.0         the bridge's /24: host .1, node i .(10+i).
#   LOCAL_SLURM_HIDE=PATH[:PATH]     folders covered (empty tmpfs) on the compute nodes.
#   LOCAL_SLURM_ACCOUNTING=dbd|none  dbd (default): slurmdbd + MariaDB, so `sacct` works.
#                                    none: accounting_storage/none (sacct fails; use
#                                    `sacct -c` / squeue / scontrol instead).
#   LOCAL_SLURM_OVERSUBSCRIBE=N      N>1: partition OverSubscribe=FORCE:N (N jobs per CPU;
#                                    much higher throughput for tiny jobs). Default 0 = off.
#   LOCAL_SLURM_MINJOBAGE=300        seconds a finished job stays visible to squeue/scontrol.
#   LOCAL_SLURM_RESTD=0|1            1: also start slurmrestd (rest_auth/local) on
#                                    unix socket /run/slurm/slurmrestd.sock.
#   LOCAL_SLURM_SMOKE_TEST=1|0       submit one trivial job per node at the end and wait.
#   LOCAL_SLURM_INSTANCE=NAME        another cluster beside the main one (its own config
#                                    /etc/slurm-NAME, ports, bridge, namespaces, no dbd).
#
# Everything runs as root. Logs: /var/log/slurm/*.log, /var/log/munge/munged.log,
# /var/log/slurm/mariadbd.log. Stop with cluster-down.sh.
set -euo pipefail

INSTANCE=${LOCAL_SLURM_INSTANCE:-}
NODES=${LOCAL_SLURM_NODES:-3}
NET=${LOCAL_SLURM_NET:-10.213.0}
HIDE=${LOCAL_SLURM_HIDE:-}
ACCOUNTING=${LOCAL_SLURM_ACCOUNTING:-dbd}
OVERSUBSCRIBE=${LOCAL_SLURM_OVERSUBSCRIBE:-0}
MINJOBAGE=${LOCAL_SLURM_MINJOBAGE:-300}
RESTD=${LOCAL_SLURM_RESTD:-0}
SMOKE=${LOCAL_SLURM_SMOKE_TEST:-1}
# Accounts that submit jobs must be known to slurmdbd (space-separated).
SUBMIT_USERS=${LOCAL_SLURM_USERS:-root}

CLUSTER=local
PARTITION=debug
DBNAME=slurm_acct_db
DBUSER=slurm
DBPASS=slurmdbpass
ETC=/etc/slurm
RUNDIR=/run/slurm
MARK=/run/ws-cluster             # markers: which daemons this script started
LOGDIR=/var/log/slurm
CTLD_STATE=/var/spool/slurmctld
CTLD_PORT=6817
BRIDGE=wsbr0
NODE=node                        # node names node1..N, namespaces ws-node1..N
if [ -n "$INSTANCE" ]; then      # a second cluster, for trying a config beside the main one
  CLUSTER=$INSTANCE; ETC=/etc/slurm-$INSTANCE; RUNDIR=/run/slurm-$INSTANCE
  MARK=/run/ws-cluster-$INSTANCE; LOGDIR=/var/log/slurm-$INSTANCE
  CTLD_STATE=/var/spool/slurmctld-$INSTANCE; CTLD_PORT=${LOCAL_SLURM_CTLD_PORT:-7817}
  BRIDGE=wsbr-$INSTANCE; NODE=$INSTANCE; ACCOUNTING=none
fi
export SLURM_CONF=$ETC/slurm.conf
HOST_ADDR=$NET.1
node_addr() { echo "$NET.$((10 + $1))"; }
netns_of() { echo "ws-$NODE$1"; }

log() { printf '[slurm-up] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root"
case "$ACCOUNTING" in dbd|none) ;; *) die "LOCAL_SLURM_ACCOUNTING must be dbd or none";; esac

# ---------------------------------------------------------------- packages
APT_OPTS=(-o DPkg::Lock::Timeout=600 -y --no-install-recommends)
PKGS=(munge slurm-wlm slurmctld slurmd slurm-client iproute2)
[ "$ACCOUNTING" = dbd ] && PKGS+=(slurmdbd mariadb-server)
[ "$RESTD" = 1 ] && PKGS+=(slurmrestd)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing: ${missing[*]}"
  # Keep package maintainer scripts from trying to start daemons (no systemd here).
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; own_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq || log "apt-get update failed (continuing)"
  apt-get "${APT_OPTS[@]}" install "${missing[@]}" >/dev/null
  if [ "$own_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

SLURM_VER=$(dpkg-query -W -f='${Version}' slurmctld)
SLURM_MAJMIN=$(echo "$SLURM_VER" | sed -E 's/^([0-9]+:)?([0-9]+\.[0-9]+).*/\2/')   # e.g. 22.05 / 24.11
log "slurm $SLURM_VER, munge $(dpkg-query -W -f='${Version}' munge)"

# ---------------------------------------------------------------- helpers
# alive PIDFILE COMM -> true if the pid in PIDFILE is running and named COMM
alive() {
  local pid
  [ -s "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]
}
# stop_pidfile PIDFILE COMM : SIGTERM the pid in PIDFILE (only if it is COMM), wait
stop_pidfile() {
  local pid i
  alive "$1" "$2" || return 0
  pid=$(cat "$1")
  kill "$pid" 2>/dev/null || true
  for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  log "$2 (pid $pid) did not exit after 10s; SIGKILL"
  kill -9 "$pid" 2>/dev/null || true
}
# pids_named COMM : pids whose /proc/PID/comm is COMM (procps may be absent)
pids_named() { local d; for d in /proc/[0-9]*; do [ "$(cat "$d/comm" 2>/dev/null)" = "$1" ] && echo "${d#/proc/}"; done; return 0; }
wait_for() {  # wait_for SECONDS CMD...   (polls every 0.2 s)
  local n=$(( $1 * 5 )); shift
  for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  return 1
}
mkdir -p "$MARK"

# ---------------------------------------------------------------- host name, network
H=$(hostname -s 2>/dev/null || cut -d. -f1 /proc/sys/kernel/hostname)
if ! getent hosts "$H" >/dev/null; then
  log "hostname $H does not resolve; adding it to /etc/hosts"
  echo "127.0.0.1 $H" >> /etc/hosts
fi
# A bridge with the host's end at $HOST_ADDR; each node a namespace with a veth on it.
if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
  log "creating bridge $BRIDGE ($HOST_ADDR/24)"
  ip link add "$BRIDGE" type bridge
fi
# (Outputs compared whole: `| grep -q` under pipefail fails when grep exits early.)
[[ "$(ip addr show dev "$BRIDGE")" == *"inet $HOST_ADDR/24"* ]] || ip addr add "$HOST_ADDR/24" dev "$BRIDGE"
ip link set "$BRIDGE" up
for i in $(seq "$NODES"); do
  ns=$(netns_of "$i"); veth=wsv-$NODE$i
  [ -e "/run/netns/$ns" ] || { log "creating network namespace $ns"; ip netns add "$ns"; }
  if ! ip link show "$veth" >/dev/null 2>&1; then
    ip link add "$veth" type veth peer name eth0 netns "$ns"
  fi
  ip link set "$veth" master "$BRIDGE" up
  ip netns exec "$ns" ip link set lo up
  [[ "$(ip netns exec "$ns" ip addr show dev eth0)" == *"inet $(node_addr "$i")/24"* ]] ||
    ip netns exec "$ns" ip addr add "$(node_addr "$i")/24" dev eth0
  ip netns exec "$ns" ip link set eth0 up
done

# ---------------------------------------------------------------- munge
install -d -o munge -g munge -m 0700 /etc/munge /var/log/munge
install -d -o munge -g munge -m 0711 /var/lib/munge
install -d -o munge -g munge -m 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  log "creating /etc/munge/munge.key"
  if command -v mungekey >/dev/null; then runuser -u munge -- mungekey --create --keyfile=/etc/munge/munge.key
  else dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null; fi
fi
chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key
if alive /run/munge/munged.pid munged && munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  log "munged already running"
else
  log "starting munged"
  stop_pidfile /run/munge/munged.pid munged    # in case it runs but does not answer
  rm -f /run/munge/munged.pid
  [ -S /run/munge/munge.socket.2 ] && rm -f /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock
  runuser -u munge -- /usr/sbin/munged
  touch "$MARK/munged"
  wait_for 10 sh -c 'munge -n | unmunge' || die "munged does not work (see /var/log/munge/munged.log)"
fi

# ---------------------------------------------------------------- node facts
read -r CPUS BOARDS SPB CPS TPC REALMEM < <(slurmd -C | head -1 | tr ' ' '\n' | awk -F= '
  {v[$1]=$2} END {print v["CPUs"], v["Boards"], v["SocketsPerBoard"], v["CoresPerSocket"], v["ThreadsPerCore"], v["RealMemory"]}')
NPROC=$(nproc)
if [ "$CPUS" = "$NPROC" ]; then
  NODE_HW="CPUs=$CPUS Boards=$BOARDS SocketsPerBoard=$SPB CoresPerSocket=$CPS ThreadsPerCore=$TPC"
else  # e.g. a cpuset-limited container: trust nproc
  NODE_HW="CPUs=$NPROC"; CPUS=$NPROC
fi
# The machine's memory, shared out among the nodes (all of them run on it).
REALMEM=$(( REALMEM / NODES ))
DEFMEM=$(( REALMEM / CPUS )); [ "$DEFMEM" -gt 1024 ] && DEFMEM=1024
PART_EXTRA=""
[ "$OVERSUBSCRIBE" -gt 1 ] 2>/dev/null && PART_EXTRA=" OverSubscribe=FORCE:$OVERSUBSCRIBE"

# ---------------------------------------------------------------- config
install -d -m 0755 "$ETC"
install -d -o slurm -g slurm -m 0755 "$CTLD_STATE" "$LOGDIR" "$RUNDIR"
for i in $(seq "$NODES"); do install -d -m 0755 "/var/spool/slurmd-$NODE$i"; done
NODE_LINES=$(for i in $(seq "$NODES"); do
  echo "NodeName=$NODE$i NodeAddr=$(node_addr "$i") $NODE_HW RealMemory=$REALMEM State=UNKNOWN"
done)

if [ "$ACCOUNTING" = dbd ]; then
  ACCT_LINES="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost"
else
  ACCT_LINES="AccountingStorageType=accounting_storage/none"
fi

NEWCONF=$(cat <<EOF
# Generated by ws scripts/slurm-up.sh - $NODES compute nodes in network namespaces,
# slurmctld on the host (the login node, no slurmd); no systemd, no cgroups.
ClusterName=$CLUSTER
SlurmctldHost=$H($HOST_ADDR)
SlurmUser=slurm
SlurmctldPort=$CTLD_PORT
SlurmdPort=6818
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
$ACCT_LINES
JobCompType=jobcomp/filetxt
JobCompLoc=$LOGDIR/jobcomp.log
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=$DEFMEM
SchedulerType=sched/backfill
# Batch jobs are only started by the scheduler loops (1 s ticks); no extra delay:
SchedulerParameters=batch_sched_delay=0,bf_interval=1,sched_min_interval=0
MinJobAge=$MINJOBAGE
KillWait=5
# A node that stops answering is DOWN after SlurmdTimeout; its jobs end NODE_FAIL.
# JobRequeue keeps Slurm's default (1), as sites run it: ws's jobs are submitted
# with --no-requeue and their scripts refuse a requeued attempt themselves.
SlurmdTimeout=10
ReturnToService=2
SlurmdParameters=config_overrides
MailProg=/bin/true
StateSaveLocation=$CTLD_STATE
SlurmdSpoolDir=/var/spool/slurmd-%n
SlurmctldPidFile=$RUNDIR/slurmctld.pid
SlurmdPidFile=$RUNDIR/slurmd-%n.pid
SlurmctldLogFile=$LOGDIR/slurmctld.log
SlurmdLogFile=$LOGDIR/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
$NODE_LINES
# LLN: each job goes to the least loaded node, so runs spread over the nodes.
PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP LLN=YES$PART_EXTRA
EOF
)
CHANGED=0
if [ ! -f "$ETC/slurm.conf" ] || [ "$(cat "$ETC/slurm.conf")" != "$NEWCONF" ]; then
  [ -f "$ETC/slurm.conf" ] && cp "$ETC/slurm.conf" "$ETC/slurm.conf.bak"
  printf '%s\n' "$NEWCONF" > "$ETC/slurm.conf"; chmod 0644 "$ETC/slurm.conf"
  CHANGED=1; log "wrote $ETC/slurm.conf"
fi
# Slurm >= 24.05 knows CgroupPlugin=disabled; keeps slurmd away from cgroups
# (cgroup v2 without systemd/dbus otherwise makes slurmd fail in containers).
if awk -v v="$SLURM_MAJMIN" 'BEGIN{exit !(v+0 >= 24.05)}'; then
  if [ "$(cat "$ETC/cgroup.conf" 2>/dev/null)" != "CgroupPlugin=disabled" ]; then
    echo "CgroupPlugin=disabled" > "$ETC/cgroup.conf"; CHANGED=1; log "wrote $ETC/cgroup.conf"
  fi
fi

# ---------------------------------------------------------------- accounting
if [ "$ACCOUNTING" = dbd ]; then
  MARIADBD=$(command -v mariadbd || command -v mysqld || echo /usr/sbin/mariadbd)
  install -d -o mysql -g root -m 0755 /run/mysqld
  if mariadb-admin ping >/dev/null 2>&1; then
    log "MariaDB already running"
  else
    if [ ! -d /var/lib/mysql/mysql ]; then
      log "initialising MariaDB data dir"
      mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
    fi
    if [ ! -f /etc/mysql/mariadb.conf.d/99-slurmdbd.cnf ] && [ -d /etc/mysql/mariadb.conf.d ]; then
      printf '[mysqld]\ninnodb_buffer_pool_size=1024M\ninnodb_lock_wait_timeout=900\n' \
        > /etc/mysql/mariadb.conf.d/99-slurmdbd.cnf
    fi
    log "starting MariaDB ($MARIADBD)"
    setsid "$MARIADBD" --user=mysql --pid-file=/run/mysqld/mysqld.pid \
      --socket=/run/mysqld/mysqld.sock >>"$LOGDIR/mariadbd.log" 2>&1 < /dev/null &
    touch "$MARK/mariadbd"
    wait_for 60 mariadb-admin ping || die "MariaDB did not come up (see $LOGDIR/mariadbd.log)"
  fi
  mariadb -e "CREATE DATABASE IF NOT EXISTS $DBNAME;
    CREATE USER IF NOT EXISTS '$DBUSER'@'localhost' IDENTIFIED BY '$DBPASS';
    GRANT ALL ON $DBNAME.* TO '$DBUSER'@'localhost'; FLUSH PRIVILEGES;"

  NEWDBD=$(cat <<EOF
# Generated by ws scripts/slurm-up.sh
AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=slurm
DebugLevel=info
LogFile=$LOGDIR/slurmdbd.log
PidFile=$RUNDIR/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=$DBUSER
StoragePass=$DBPASS
StorageLoc=$DBNAME
EOF
)
  DBD_CHANGED=0
  if [ ! -f "$ETC/slurmdbd.conf" ] || [ "$(cat "$ETC/slurmdbd.conf")" != "$NEWDBD" ]; then
    printf '%s\n' "$NEWDBD" > "$ETC/slurmdbd.conf"; DBD_CHANGED=1; log "wrote $ETC/slurmdbd.conf"
  fi
  chown slurm:slurm "$ETC/slurmdbd.conf"; chmod 0600 "$ETC/slurmdbd.conf"
  if alive "$RUNDIR/slurmdbd.pid" slurmdbd && [ "$DBD_CHANGED" = 0 ]; then
    log "slurmdbd already running"
  else
    stop_pidfile "$RUNDIR/slurmdbd.pid" slurmdbd
    log "starting slurmdbd"
    slurmdbd
    touch "$MARK/slurmdbd"
  fi
  wait_for 60 sacctmgr -n list cluster || die "slurmdbd not answering (see $LOGDIR/slurmdbd.log)"
  sacctmgr -n -P list cluster format=cluster | grep -qx "$CLUSTER" || sacctmgr -i add cluster "$CLUSTER" >/dev/null
  sacctmgr -n -P list account format=account | grep -qx default ||
    sacctmgr -i add account default Description=default Organization=local >/dev/null
  for u in $SUBMIT_USERS; do
    sacctmgr -n -P list user format=user | grep -qx "$u" ||
      sacctmgr -i add user "$u" Account=default DefaultAccount=default >/dev/null
  done
fi

# ---------------------------------------------------------------- slurmctld / slurmd
node_pidfile() { echo "$RUNDIR/slurmd-$NODE$1.pid"; }
HIDE_NOW="$HIDE"
# The covered folders and their inodes: a folder made anew at the same path (a
# checkout cloned again where one was removed) is no longer the one a node's
# tmpfs covers, so its slurmds start again.
hide_signature() {
  local IFS=: d
  printf '%s' "$HIDE_NOW"
  for d in $HIDE_NOW; do [ -n "$d" ] && printf '|%s' "$(stat -c %d:%i "$d" 2>/dev/null || echo none)"; done
  return 0
}
if [ "$CHANGED" = 1 ] || [ "$(cat "$MARK/hide" 2>/dev/null)" != "$(hide_signature)" ]; then
  for i in $(seq "$NODES"); do stop_pidfile "$(node_pidfile "$i")" slurmd; done
fi
if [ "$CHANGED" = 1 ]; then
  stop_pidfile "$RUNDIR/slurmd.pid" slurmd     # the single-node layout's host slurmd
  stop_pidfile "$RUNDIR/slurmctld.pid" slurmctld
fi
if alive "$RUNDIR/slurmctld.pid" slurmctld; then
  log "slurmctld already running"
else
  log "starting slurmctld"
  slurmctld -f "$SLURM_CONF"
  touch "$MARK/slurmctld"
fi
wait_for 30 sh -c 'scontrol ping | grep -q UP' || die "slurmctld not answering (see $LOGDIR/slurmctld.log)"
for i in $(seq "$NODES"); do
  if alive "$(node_pidfile "$i")" slurmd; then
    log "slurmd $NODE$i already running"
    continue
  fi
  log "starting slurmd $NODE$i in $(netns_of "$i") ($(node_addr "$i"))"
  # The node's own mount namespace (unshare: mounts made in it stay in it), in its
  # network namespace (nsenter; not `ip netns exec`, whose fresh /sys has no
  # cgroup mounts, which slurmd 22.05 needs): the hidden folders are covered
  # before slurmd starts, so its jobs never see them.
  unshare --mount --propagation slave nsenter --net="/run/netns/$(netns_of "$i")" sh -c '
    IFS=:; for d in $1; do [ -n "$d" ] && mkdir -p "$d" && mount -t tmpfs -o size=1m,mode=0755 ws-hidden "$d"; done
    exec slurmd -f "$2" -N "$3"' sh "$HIDE_NOW" "$SLURM_CONF" "$NODE$i"
  touch "$MARK/slurmd-$NODE$i"
done
hide_signature > "$MARK/hide"
node_ok() { [ "$(sinfo -h -n "$1" -o %T)" != "" ] && sinfo -h -n "$1" -o %T | grep -qE '^(idle|mixed|allocated|completing)$'; }
for i in $(seq "$NODES"); do
  n=$NODE$i
  if ! wait_for 30 node_ok "$n"; then
    log "node state: $(sinfo -h -n "$n" -o '%T %E'); trying to resume it"
    scontrol update NodeName="$n" State=RESUME 2>/dev/null || true
    wait_for 15 node_ok "$n" || die "node $n not usable: $(sinfo -h -n "$n" -o '%T %E') (see $LOGDIR/slurmd-$n.log)"
  fi
done

# ---------------------------------------------------------------- slurmrestd (optional)
if [ "$RESTD" = 1 ]; then
  if alive "$RUNDIR/slurmrestd.pid" slurmrestd; then
    log "slurmrestd already running"
  else
    log "starting slurmrestd on unix:$RUNDIR/slurmrestd.sock (rest_auth/local)"
    rm -f "$RUNDIR/slurmrestd.sock"
    SLURMRESTD_SECURITY=disable_user_check setsid slurmrestd -a rest_auth/local \
      "unix:$RUNDIR/slurmrestd.sock" >>"$LOGDIR/slurmrestd.log" 2>&1 < /dev/null &
    echo $! > "$RUNDIR/slurmrestd.pid"
    touch "$MARK/slurmrestd"
    wait_for 10 test -S "$RUNDIR/slurmrestd.sock" || log "WARNING: slurmrestd socket did not appear (see $LOGDIR/slurmrestd.log)"
  fi
fi

# ---------------------------------------------------------------- smoke test
if [ "$SMOKE" = 1 ]; then
  t0=$(date +%s%N)
  for i in $(seq "$NODES"); do
    jid=$(cd /tmp && sbatch --parsable -o /dev/null -J ws-cluster-smoke -w "$NODE$i" --wrap true)
    ok=0
    for _ in $(seq 300); do
      st=$(scontrol show job "$jid" -o 2>/dev/null | grep -o 'JobState=[A-Z_]*' || true)
      case "$st" in JobState=COMPLETED) ok=1; break;; JobState=FAILED|JobState=CANCELLED|JobState=NODE_FAIL) break;; esac
      sleep 0.1
    done
    [ "$ok" = 1 ] || die "smoke-test job $jid on $NODE$i did not complete ($st)"
  done
  log "smoke test: a job on each of $NODES nodes COMPLETED in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
fi

log "ready: $NODES nodes ($CPUS CPUs, ${REALMEM} MB each), partition $PARTITION, accounting=$ACCOUNTING"
sinfo
