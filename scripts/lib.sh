# Shared by the project's scripts (sourced, not run).
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WS_USER=${WS_USER:-ws}
log() { printf '[%s] %s\n' "$(basename "$0" .sh)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# install_missing PKG... : apt-get install those not installed yet (no recommends).
install_missing() {
  local p missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ "${#missing[@]}" -gt 0 ] || return 0
  log "installing: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq ||
    log "apt-get update failed (continuing)"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -y \
    --no-install-recommends install "${missing[@]}" >/dev/null
}
need_root() { [ "$(id -u)" = 0 ] || die "run as root (sudo $0)"; }

# The service account must read the checkout (code, venv, workflows, profile):
# give "others" traverse rights on ancestors that lack them (a clone in a 0700
# temporary folder, say). Nothing else changes.
make_checkout_reachable() {
  local d=$ROOT
  while [ "$d" != / ]; do
    if ! runuser -u "$WS_USER" -- test -x "$d"; then
      log "letting $WS_USER traverse $d (chmod o+x)"; chmod o+x "$d"
    fi
    d=$(dirname "$d")
  done
  runuser -u "$WS_USER" -- test -r "$ROOT/pyproject.toml" || die "$WS_USER cannot read $ROOT"
}

# var/ holds everything the service writes; it belongs to the service account and
# is its alone (0700): run folders hold capabilities, the state folder secrets.
make_var() {
  install -d -o "$WS_USER" -g "$WS_USER" -m 0700 "$ROOT/var"
  chmod 0700 "$ROOT/var"  # install -d leaves an existing mode alone
}

# Prints the sw_example image paths (singularity SIF, docker SIF), building if needed.
sw_example_images() {
  bash "$ROOT/containers/sw_example/build.sh"
}

# The unit tests' user: an ordinary user of the login node (scripts/cluster-up.sh).
UNIT_USER=${UNIT_USER:-wsneighbour}
# bare_path: a new folder of links to the system's commands without Slurm's and
# Apptainer's (printed), for the unit tests, which must not need them.
bare_path() {
  local bare f name
  bare=$(mktemp -d /tmp/ws-bare-path.XXXXXX)
  for f in /usr/local/bin/* /usr/bin/* /bin/*; do
    name=${f##*/}
    case $name in
      apptainer|singularity|run-singularity|snakemake) continue ;;
      sacct|sacctmgr|salloc|sattach|sbatch|sbcast|scancel|scontrol|scrontab|sdiag) continue ;;
      sinfo|sprio|squeue|sreport|srun|sshare|sstat|strigger|sview|slurmrestd) continue ;;
    esac
    [ -e "$bare/$name" ] || ln -s "$f" "$bare/$name"
  done
  chmod 0755 "$bare"
  echo "$bare"
}

ws_as_service() { runuser -u "$WS_USER" -- "$ROOT/.venv/bin/ws" "$@"; }

# What both README commands need first: the cluster and the service account,
# libdrmaa (when its source is at hand), the venv, a checkout the account can read, var/ and the sw_example images.
prepare_machine() {
  WS_USER=$WS_USER bash "$ROOT/scripts/cluster-up.sh"
  bash "$ROOT/scripts/drmaa-up.sh"
  bash "$ROOT/scripts/venv.sh"
  bash "$ROOT/scripts/browser-up.sh"
  make_checkout_reachable
  make_var
  sw_example_images >/dev/null
}
