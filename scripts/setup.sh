#!/usr/bin/env bash
# setup.sh - the README's first command. As root, on a fresh Debian 12 or 13:
# installs and starts the cluster (Slurm, Apptainer, Lmod), the venv, the
# sw_example images; writes var/ws.toml; registers sw_example; creates the user
# `demo` (password in var/demo.password); starts the service on 127.0.0.1:8000.
# Rerunning it is safe.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_root
prepare_machine
images=$(sw_example_images)  # built by now: this only prints their paths
mapfile -t IMAGES <<< "$images"
SIF=${IMAGES[0]}; DOCKER_SIF=${IMAGES[1]}
DOCKER_TAR=${DOCKER_SIF%.sif}.tar

CONFIG=$ROOT/var/ws.toml
if [ ! -f "$CONFIG" ]; then
  log "writing $CONFIG"
  cat > "$CONFIG" <<TOML
# ws configuration (every key: etc/ws.example.toml). Paths are relative to this file.
state_dir = "state"
runs_dir = "runs"

[server]
host = "127.0.0.1"
port = 8000
TOML
  chown "$WS_USER:" "$CONFIG"
fi
admin() { ws_as_service --config "$CONFIG" admin "$@"; }
exists() { admin "$1" list 2>/dev/null | cut -f1 | grep -qx "$2"; }

exists container sw_example ||
  admin container add sw_example --type singularity --image "$SIF" \
    --desc "sw_example: python3 in a minimal Debian"
exists container sw_example_docker ||
  admin container add sw_example_docker --type docker --archive "$DOCKER_TAR" \
    --image "$DOCKER_SIF" --desc "sw_example, from a Docker image archive"
exists software sw_example ||
  admin software add sw_example --container sw_example --shortname add \
    --desc "Adds two numbers: python /add.py a b (or a b from stdin.txt)" --keyword example
exists software sw_example_docker ||
  admin software add sw_example_docker --container sw_example_docker --shortname add \
    --desc "sw_example from its Docker image" --keyword example
if ! exists user demo; then
  umask 077
  head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$ROOT/var/demo.password"
  admin user add demo < "$ROOT/var/demo.password"
  admin access grant demo --container sw_example --level 2
  admin access grant demo --container sw_example_docker --level 2
  umask 022
fi
bash "$ROOT/scripts/service.sh" start "$CONFIG"
cat >&2 <<MSG

ws is running on http://127.0.0.1:8000 (log: var/log/ws.log; stop: scripts/service.sh stop).
A user "demo" may run sw_example; its password is in var/demo.password. A token:
  curl -d username=demo -d "password=\$(cat var/demo.password)" http://127.0.0.1:8000/api/jwt/obtain/
MSG
