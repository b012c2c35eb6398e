#!/usr/bin/env bash
# drmaa-up.sh - as root: build and install libdrmaa (slurm-drmaa, the DRMAA 1.0
# library for Slurm that Galaxy uses) from its source tarball, against Debian's
# libslurm-dev, into PREFIX (default /opt/slurm-drmaa). Idempotent and cached: a
# rerun with the same tarball and the same Slurm is a no-op.
#
# The source is not part of ws (GPL-3): the tarball is taken from WS_DRMAA_SOURCE,
# else from ../shared/vendor/ beside the checkout. Without one, nothing is built
# and the script says so (the DRMAA backend is then unavailable).
# Env: WS_DRMAA_SOURCE (a slurm-drmaa-*.tar.gz), WS_DRMAA_PREFIX (/opt/slurm-drmaa).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_root
export DEBIAN_FRONTEND=noninteractive
PREFIX=${WS_DRMAA_PREFIX:-/opt/slurm-drmaa}
SOURCE=${WS_DRMAA_SOURCE:-}
if [ -z "$SOURCE" ]; then
  SOURCE=$(ls "$ROOT"/../shared/vendor/slurm-drmaa-*.tar.gz 2>/dev/null | sort | tail -1 || true)
fi
if [ -z "$SOURCE" ] || [ ! -f "$SOURCE" ]; then
  log "no slurm-drmaa source (WS_DRMAA_SOURCE or ../shared/vendor/): libdrmaa not built"
  exit 0
fi

BUILD_DEPS=(libslurm-dev gcc make)
install_missing "${BUILD_DEPS[@]}"

# The library links against this Slurm: rebuild when either changes.
want="$(sha256sum "$SOURCE" | cut -d' ' -f1) slurm $(dpkg-query -W -f='${Version}' libslurm-dev)"
stamp=$PREFIX/.ws-built
if [ -e "$PREFIX/lib/libdrmaa.so.1" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  log "up to date: $PREFIX/lib/libdrmaa.so.1"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log "building $(basename "$SOURCE") into $PREFIX (about a minute)"
tar -xzf "$SOURCE" -C "$work"
src=$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -1)
(cd "$src" && ./configure --prefix="$PREFIX" >"$work/configure.log" 2>&1 \
   && make -j"$(nproc)" >"$work/make.log" 2>&1 && make install >"$work/install.log" 2>&1) || {
  tail -30 "$work"/*.log >&2; die "slurm-drmaa did not build"; }
echo "$want" > "$stamp"
log "ok: $PREFIX/lib/libdrmaa.so.1"
