#!/usr/bin/env bash
# build.sh [OUTDIR] - build the sw_example images fully offline (Debian mirror only):
#   sw_example-<hash>.sif         from a debootstrapped minimal root with python3
#                                 (+ python-is-python3: the document calls `python /add.py`)
#   sw_example_docker-<hash>.tar  a Docker image archive (`docker save` layout, made by hand)
#   sw_example_docker-<hash>.sif  apptainer build ... docker-archive:<tar>
# <hash> is taken over this folder's sources and the Debian suite, so an image is
# rebuilt only when they change; the paths are stable pins for the catalogue.
# Prints the two SIF paths, one per line, on stdout. Root only (debootstrap).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${1:-/var/cache/ws/images}
log() { echo "[build sw_example] $*" >&2; }
[ "$(id -u)" = 0 ] || { log "ERROR: run as root (debootstrap, apptainer build)"; exit 1; }
. /etc/os-release
SUITE=${SUITE:-${VERSION_CODENAME:-bookworm}}
PKGS=python3-minimal,python-is-python3
hash=$( { echo "$SUITE $PKGS"; cat "$here/add.py" "$here/build.sh"; } | sha256sum | cut -c1-12)
SIF=$OUT/sw_example-$hash.sif
TAR=$OUT/sw_example_docker-$hash.tar
DSIF=$OUT/sw_example_docker-$hash.sif
install -d -m 0755 "$OUT"
if [ -s "$SIF" ] && [ -s "$DSIF" ]; then
  log "up to date ($hash)"; echo "$SIF"; echo "$DSIF"; exit 0
fi
MIRROR=$(apt-get indextargets --format '$(URI)' 'Created-By: Packages' 2>/dev/null |
  sed -n 's#^\(.*\)/dists/[^/]*/main/binary-.*#\1#p' | grep -v -- '-security' | head -1 || true)
MIRROR=${MIRROR:-http://deb.debian.org/debian}

W=$(mktemp -d "$OUT/.build.XXXXXX"); trap 'rm -rf "$W"' EXIT
ROOTFS=$W/rootfs
# The debootstrapped root only depends on the suite and packages: cache it apart so
# a change to add.py costs seconds, not a minute.
BASE=$OUT/.rootfs-$SUITE-$(echo "$PKGS" | sha256sum | cut -c1-8).tar
if [ ! -s "$BASE" ]; then
  log "debootstrap $SUITE (minbase + $PKGS) from $MIRROR"
  debootstrap --variant=minbase --include="$PKGS" "$SUITE" "$ROOTFS" "$MIRROR" >"$W/debootstrap.log" 2>&1 ||
    { tail -20 "$W/debootstrap.log" >&2; exit 1; }
  rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/var/cache/apt/archives/*.deb \
         "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* \
         "$ROOTFS"/usr/share/locale/* "$ROOTFS"/var/log/*.log "$ROOTFS"/var/log/apt/* 2>/dev/null || true
  tar -C "$ROOTFS" --numeric-owner --sort=name --exclude='./dev/*' --exclude='./proc/*' \
      --exclude='./sys/*' --exclude='./run/*' --exclude='./tmp/*' -cf "$BASE.tmp" .
  mv "$BASE.tmp" "$BASE"
else
  mkdir -p "$ROOTFS"; tar -C "$ROOTFS" --numeric-owner -xf "$BASE"
fi
install -m 0755 "$here/add.py" "$ROOTFS/add.py"

B=(apptainer -s build --force --disable-cache)
log "$(basename "$SIF") from the root directory"
"${B[@]}" "$W/img.sif" "$ROOTFS"

log "$(basename "$TAR"): docker-archive made by hand"
tar -C "$ROOTFS" --numeric-owner --sort=name --exclude='./dev/*' --exclude='./proc/*' \
    --exclude='./sys/*' --exclude='./run/*' --exclude='./tmp/*' -cf "$W/layer.tar" .
diffid=$(sha256sum "$W/layer.tar" | cut -d' ' -f1)
created=2020-01-01T00:00:00Z
D=$W/docker; mkdir -p "$D/$diffid"; mv "$W/layer.tar" "$D/$diffid/layer.tar"
printf '{"architecture":"amd64","os":"linux","created":"%s","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["python3","/add.py"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"%s","created_by":"containers/sw_example/build.sh"}]}' \
  "$created" "$diffid" "$created" > "$D/config.json"
cfgid=$(sha256sum "$D/config.json" | cut -d' ' -f1); mv "$D/config.json" "$D/$cfgid.json"
printf '[{"Config":"%s.json","RepoTags":["sw_example:latest"],"Layers":["%s/layer.tar"]}]' "$cfgid" "$diffid" > "$D/manifest.json"
printf '{"sw_example":{"latest":"%s"}}' "$diffid" > "$D/repositories"
tar -C "$D" -cf "$W/img.tar" manifest.json repositories "$cfgid.json" "$diffid"
log "$(basename "$DSIF") from docker-archive"
"${B[@]}" "$W/img-docker.sif" "docker-archive:$W/img.tar"

for s in img img-docker; do
  got=$(cd "$W" && apptainer -s exec "$W/$s.sif" python /add.py 4 5)
  [ "$got" = 9.0 ] || { log "FAIL: $s.sif printed '$got'"; exit 1; }
done
chmod 0644 "$W/img.sif" "$W/img-docker.sif" "$W/img.tar"
mv "$W/img.tar" "$TAR"; mv "$W/img-docker.sif" "$DSIF"; mv "$W/img.sif" "$SIF"
log "built ($hash)"; echo "$SIF"; echo "$DSIF"
