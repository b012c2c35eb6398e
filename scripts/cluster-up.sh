#!/usr/bin/env bash
# cluster-up.sh - as root, on Debian 12 or 13, install and start everything ws
# runs against: a Slurm cluster of 3 compute nodes, each a slurmd in its own network
# namespace, with munge, MariaDB, slurmdbd and slurmctld on this host (the login node),
# Apptainer (with the `singularity` command), Lmod, debootstrap (image builds),
# and the non-root account the service runs as. Idempotent: a rerun while all
# runs is a no-op in a few seconds.
#
# Env: WS_USER (default ws) - the service account.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
[ "$(id -u)" = 0 ] || { log "ERROR: must run as root"; exit 1; }
export DEBIAN_FRONTEND=noninteractive

# ---- packages that are not Slurm's or Apptainer's -----------------------------------
PKGS=(lmod debootstrap python3-venv python3-dev zip unzip procps)
install_missing "${PKGS[@]}"

# ---- the service account ---------------------------------------------------------------
if ! id "$WS_USER" >/dev/null 2>&1; then
  log "creating account $WS_USER"
  useradd --system --create-home --home-dir "/var/lib/$WS_USER" --shell /bin/bash "$WS_USER"
fi

# An ordinary user of the login node, who is no ws user: the tests check that it
# reads nothing of the service or its runs (tests/integration/test_private_files.py).
if ! id wsneighbour >/dev/null 2>&1; then
  log "creating the login node's ordinary user wsneighbour (for the tests)"
  useradd --create-home --shell /bin/bash wsneighbour
fi

# Identity mode "unix": the group ws-users, its test users wsalice and wsbob, sudo
# (before Slurm: slurm-up.sh gives the users their associations).
bash "$here/unix-users-up.sh" users
UNIX_TEST_USERS=${WS_TEST_UNIX_USERS:-wsalice wsbob}

# ---- the service's own folders: the login node's alone ----------------------------------
# var/state (the database, the JWT secret; tests keep theirs under it too) and
# var/downloads are covered on the compute nodes: a real site shares only runs and
# software with them.
ROOT=$(dirname "$here")
install -d -o "$WS_USER" -g "$WS_USER" -m 0700 "$ROOT/var" "$ROOT/var/downloads"
chmod 0700 "$ROOT/var" "$ROOT/var/downloads"  # install -d leaves an existing mode alone
install -d -o "$WS_USER" -g "$WS_USER" -m 0700 "$ROOT/var/state"

# ---- Slurm: slurmctld here, compute nodes in namespaces (slurmdbd knows the account) ---
LOCAL_SLURM_USERS="root $WS_USER $UNIX_TEST_USERS" LOCAL_SLURM_SMOKE_TEST=${LOCAL_SLURM_SMOKE_TEST:-0} \
  LOCAL_SLURM_HIDE="$ROOT/var/state:$ROOT/var/downloads" bash "$here/slurm-up.sh"

# ---- Apptainer ---------------------------------------------------------------------------
bash "$here/apptainer-up.sh"
# SIF images are mounted with squashfuse by non-root accounts: /dev/fuse must be usable.
if [ -c /dev/fuse ] && [ "$(stat -c %a /dev/fuse)" != 666 ]; then
  log "chmod 0666 /dev/fuse (non-root accounts mount SIF images through FUSE)"
  chmod 0666 /dev/fuse
fi
# The one privileged program of identity mode "unix", its config, the users'
# runs folders and the sudoers rule (scripts/unix-users-up.sh).
bash "$here/unix-users-up.sh" program
log "ready: $(sinfo -h -o '%P %a %D %T' | head -1); $(apptainer --version); Lmod $(dpkg-query -W -f='${Version}' lmod)"
