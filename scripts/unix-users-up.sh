#!/usr/bin/env bash
# unix-users-up.sh users|program - as root, idempotently, what identity mode
# "unix" needs on this machine (docs/admin.md "Runs as each user's own Unix account").
# Called by cluster-up.sh: `users` before Slurm is set up (slurm-up.sh gives the
# users their associations), `program` after.
#
#   users    the group ws-users; the test users wsalice and wsbob (UID >= 1000,
#            bash, members of ws-users); sudo and acl (Debian packages).
#   program  the one privileged program, root-owned 0755, at $WS_AS_USER, with its
#            root-owned config /etc/ws/ws-as-user.toml; the runs folder of unix
#            mode ($WS_UNIX_RUNS, root's, 0711) with a folder per test user (the
#            user's, group ws, 2750, default ACL g:ws:r-X, others nothing); the
#            sudoers rule /etc/sudoers.d/ws (checked with visudo -cf first).
#
# The compute nodes are network and mount namespaces of this machine: they read
# the same /etc/passwd and /etc/group, so they know these users as they are.
#
# Env: WS_USER (default ws), WS_USERS_GROUP (ws-users), WS_TEST_UNIX_USERS
# ("wsalice wsbob"), WS_UNIX_RUNS (/srv/ws-runs).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
need_root

GROUP=${WS_USERS_GROUP:-ws-users}
TEST_USERS=${WS_TEST_UNIX_USERS:-wsalice wsbob}
RUNS=${WS_UNIX_RUNS:-/srv/ws-runs}
PROGRAM=${WS_AS_USER:-/usr/local/libexec/ws/ws-as-user}
CONFIG=/etc/ws/ws-as-user.toml
SUDOERS=/etc/sudoers.d/ws

users() {
  install_missing sudo acl
  getent group "$GROUP" >/dev/null || { log "creating group $GROUP"; groupadd "$GROUP"; }
  local u
  for u in $TEST_USERS; do
    if ! id "$u" >/dev/null 2>&1; then
      log "creating the test user $u (a member of $GROUP)"
      # No --system: an ordinary user's UID (>= 1000, useradd's UID_MIN).
      useradd --create-home --shell /bin/bash --groups "$GROUP" "$u"
    fi
    [[ " $(id -nG "$u") " == *" $GROUP "* ]] || usermod -aG "$GROUP" "$u"
    [ "$(id -u "$u")" -ge 1000 ] || die "$u has UID $(id -u "$u") (< 1000)"
  done
}

# write_if_changed FILE MODE : stdin into FILE (root's), only if it differs.
write_if_changed() {
  local new; new=$(cat)
  if [ ! -f "$1" ] || [ "$(cat "$1")" != "$new" ]; then
    printf '%s\n' "$new" > "$1.new"; chown root:root "$1.new"; chmod "$2" "$1.new"
    mv -f "$1.new" "$1"; log "wrote $1"
  fi
  chown root:root "$1"; chmod "$2" "$1"
}

program() {
  install -d -o root -g root -m 0755 "$(dirname "$(dirname "$PROGRAM")")" "$(dirname "$PROGRAM")" /etc/ws
  write_if_changed "$PROGRAM" 0755 < "$here/ws-as-user"
  # TOML strings: the paths are the admin's own (no quote or backslash in them).
  write_if_changed "$CONFIG" 0644 <<EOF
# ws-as-user's config (scripts/unix-users-up.sh). Root's alone: the program
# refuses it otherwise. runs_dir holds one folder per Unix user.
runs_dir = "$RUNS"
python = "$ROOT/.venv/bin/python"
profile_dir = "$ROOT/profiles/slurm"
executor_args = []
EOF
  # Traversable by all (each user reaches their own folder), listable by none.
  install -d -o root -g root -m 0711 "$RUNS"
  # The end marks of the users' jobs (identity.end_marks): each job adds its own, no
  # user lists or removes another's (sticky), the service lists and removes them.
  install -d -o "$WS_USER" -g "$GROUP" -m 1730 "$RUNS/.ended"
  chown "$WS_USER:$GROUP" "$RUNS/.ended"; chmod 1730 "$RUNS/.ended"
  chmod 0711 "$RUNS"
  local u
  for u in $TEST_USERS; do
    install -d -o "$u" -g "$WS_USER" -m 2750 "$RUNS/$u"
    chmod 2750 "$RUNS/$u"
    # What the user's runs make there the service may read (a default ACL is
    # inherited whatever the user's umask), and nobody else.
    setfacl -m "g:$WS_USER:r-X" -d -m "u::rwx,g::r-X,g:$WS_USER:r-X,o::---" "$RUNS/$u"
  done
  # The service account may run that one program, as members of the group,
  # never as root, with only a verb and a run folder name (sudo >= 1.9.10
  # reads ^...$ as a regular expression over the arguments); no SETENV.
  local tmp; tmp=$(mktemp /tmp/ws-sudoers.XXXXXX)
  cat > "$tmp" <<EOF
# Installed by ws scripts/unix-users-up.sh (docs/admin.md). The service account
# may run one program as members of $GROUP, never as root.
Defaults!$PROGRAM env_reset, !setenv
$WS_USER ALL=(%$GROUP,!root,!#0) NOPASSWD: $PROGRAM ^(create|submit|cancel|remove|run|warm|export) [0-9a-f]{40}\$
EOF
  visudo -cqf "$tmp" || { rm -f "$tmp"; die "the sudoers rule does not parse (visudo -cf)"; }
  write_if_changed "$SUDOERS" 0440 < "$tmp"
  rm -f "$tmp"
  visudo -cq || die "sudoers as a whole does not parse (visudo -c)"
}

case ${1:-} in
  users) users ;;
  program) program ;;
  *) die "usage: $0 users|program" ;;
esac
