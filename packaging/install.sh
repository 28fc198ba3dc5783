#!/usr/bin/env bash
# Install condordesk on a server: the dedicated user, its directories, the app in its own
# virtual environment, the systemd units, the VNC firewall rules and an operator wrapper.
#
#   sudo packaging/install.sh --profile paper            # install, enable condordesk@paper
#   sudo packaging/install.sh --profile paper --vnc      # also the VNC desktop, IB Gateway
#                                                        # and the firewall-window timers
#   packaging/install.sh --dry-run --profile paper       # print every change, make none
#   packaging/install.sh --root /tmp/stage ...           # into another root (staging, tests)
#
# Idempotent: run it again after `git pull` to upgrade; what is already in place is left
# alone and reported as such; the last line counts the changes (0 when nothing changed).
# Nothing is started or restarted: `systemctl restart condordesk@paper` is yours to run.
#
# Options:
#   --root DIR       install below DIR instead of / (units enabled with systemctl --root)
#   --dry-run        print every change without making it
#   --profile NAME   enable condordesk@NAME.service (repeatable)
#   --vnc            enable the VNC desktop, IB Gateway and the VNC window timers
#   --python PY      the Python (3.11+) that creates the virtual environment (python3)
#   --source DIR     the condordesk source tree to install (default: this checkout)
#   --no-app         leave the virtual environment alone (units and files only)
#   --pip-args ARGS  extra pip arguments, e.g. "--no-index --find-links /srv/wheels"
set -euo pipefail

SERVICE_USER=condordesk
GW_USER=condordesk-gw  # VNC and IB Gateway: never the engine's user
ROOT=/
DRY=0
VNC=0
APP=1
PYTHON=python3
PIP_ARGS=""
PROFILES=()
HERE="$(cd "$(dirname "$0")" && pwd)"
SOURCE="$(dirname "$HERE")"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT="$2"; shift 2 ;;
    --dry-run) DRY=1; shift ;;
    --profile) PROFILES+=("$2"); shift 2 ;;
    --vnc) VNC=1; shift ;;
    --python) PYTHON="$2"; shift 2 ;;
    --source) SOURCE="$2"; shift 2 ;;
    --no-app) APP=0; shift ;;
    --pip-args) PIP_ARGS="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
for p in "${PROFILES[@]+"${PROFILES[@]}"}"; do
  [[ "$p" =~ ^[A-Za-z0-9_.-]{1,64}$ ]] || { echo "install.sh: bad profile name: $p" >&2; exit 2; }
done
ROOT="${ROOT%/}"  # "" for the real root: every path below is "$ROOT/etc/..."
if [ -n "$ROOT" ] && [ ! -d "$ROOT" ]; then
  echo "install.sh: --root $ROOT: no such directory" >&2; exit 2
fi
if [ -z "$ROOT" ] && [ "$DRY" = 0 ] && [ "$(id -u)" != 0 ]; then
  echo "install.sh: run as root (sudo), or use --dry-run / --root DIR" >&2; exit 2
fi
ROOT_REAL=""  # the physical path of ROOT ("" for /), to tell where a cd -P really went
if [ -n "$ROOT" ]; then ROOT_REAL="$(cd -P -- "$ROOT" && pwd -P)"; ROOT_REAL="${ROOT_REAL%/}"; fi

PREFIX=/opt/condordesk
VENV=$PREFIX/venv
STATE=/var/lib/condordesk
GW_STATE=/var/lib/condordesk-gw
UNITS=/etc/systemd/system
CHANGES=0

change() {  # change "what" cmd...: run (or only print, with --dry-run) one change
  local what="$1"; shift
  CHANGES=$((CHANGES + 1))
  if [ "$DRY" = 1 ]; then
    echo "would $what"
  else
    echo "$what"
    "$@"
  fi
}
same() { echo "ok: $*"; }

refuse_symlinks() {  # refuse_symlinks PATH: no component of $ROOT$PATH below $ROOT is a symlink
  # (the service user owns /var/lib/condordesk: a symlink planted there must never turn a
  # chmod, chown or write of ours, as root, onto a file or directory elsewhere)
  local rel="${1#/}" probe="$ROOT" part
  local -a parts
  IFS=/ read -r -a parts <<< "$rel"
  for part in "${parts[@]}"; do
    [ -n "$part" ] || continue
    probe="$probe/$part"
    if [ -L "$probe" ]; then
      echo "install.sh: refusing to write through the symlink $probe (-> $(readlink -- "$probe")); remove it and run again" >&2
      exit 1
    fi
  done
}

owner_ids() {  # owner_ids [USER]: uid:gid of USER (the service user) inside ROOT, or nothing
  awk -F: -v u="${1:-$SERVICE_USER}" '$1 == u { print $3 ":" $4 }' "$ROOT/etc/passwd" 2>/dev/null || true
}

in_dir() {  # in_dir PATH CMD...: run CMD (on ".") inside the directory $ROOT$PATH, race-free
  # cd -P opens the real directory; if it is not where $ROOT$PATH should be (a symlink was
  # swapped in after the check), refuse; "." then stays that directory whatever is renamed
  local path="$1"; shift
  (
    cd -P -- "$ROOT$path" || exit 1
    if [ "$(pwd -P)" != "$ROOT_REAL$path" ]; then
      echo "install.sh: $ROOT$path leads to $(pwd -P): refusing to change it" >&2; exit 1
    fi
    "$@"
  ) || exit 1
}

ensure_dir() {  # ensure_dir PATH MODE [OWNER]: OWNER a system user (root when absent)
  local path="$1" mode="$2" owned="${3:-}"
  refuse_symlinks "$path"
  if [ -e "$ROOT$path" ] && [ ! -d "$ROOT$path" ]; then
    echo "install.sh: $path exists and is not a directory" >&2; exit 1
  fi
  if [ ! -d "$ROOT$path" ]; then
    change "create directory $path (mode $mode${owned:+, owner $owned})" \
      mkdir -p -m "$mode" -- "$ROOT$path"  # never chmods what is already there
  elif [ "$(stat -c %a "$ROOT$path")" != "${mode#0}" ]; then
    change "set mode $mode on $path" in_dir "$path" chmod -- "$mode" .
  else
    same "$path"
  fi
  if [ -n "$owned" ] && [ "$DRY" = 0 ]; then
    local ids; ids="$(owner_ids "$owned")"
    if [ -n "$ids" ] && [ "$(stat -c %u:%g "$ROOT$path")" != "$ids" ]; then
      if [ "$(id -u)" = 0 ]; then
        change "set owner $owned on $path" in_dir "$path" chown -- "$ids" .
      else
        echo "note: not root, $path stays owned by $(id -un)"
      fi
    fi
  fi
}

ensure_file() {  # ensure_file SRC DEST MODE
  local src="$1" dest="$2" mode="$3"
  refuse_symlinks "$dest"
  if [ -f "$ROOT$dest" ] && cmp -s -- "$src" "$ROOT$dest"; then
    if [ "$(stat -c %a -- "$ROOT$dest")" != "${mode#0}" ]; then
      change "set mode $mode on $dest" chmod -- "$mode" "$ROOT$dest"
    else
      same "$dest"
    fi
  elif [ -f "$ROOT$dest" ]; then
    change "update $dest" install -m "$mode" -- "$src" "$ROOT$dest"
  else
    change "install $dest" install -D -m "$mode" -- "$src" "$ROOT$dest"
  fi
}

ensure_text() {  # ensure_text DEST MODE TEXT: a generated file
  local dest="$1" mode="$2" text="$3" tmp
  tmp="$(mktemp)"
  printf '%s' "$text" > "$tmp"
  ensure_file "$tmp" "$dest" "$mode"
  rm -f "$tmp"
}

systemctl_root() {
  if [ -n "$ROOT" ]; then systemctl --root="$ROOT" "$@"; else systemctl "$@"; fi
}

ensure_enabled() {  # ensure_enabled UNIT
  if [ "$(systemctl_root is-enabled "$1" 2>/dev/null || true)" = "enabled" ]; then
    same "$1 enabled"
  else
    change "enable $1" systemctl_root enable --quiet "$1"
  fi
}

# -- the user ------------------------------------------------------------------------------
ensure_file "$HERE/sysusers.d/condordesk.conf" /etc/sysusers.d/condordesk.conf 0644
missing_users=()
for u in "$SERVICE_USER" "$GW_USER"; do
  [ -n "$(owner_ids "$u")" ] || missing_users+=("$u")
done
if [ "${#missing_users[@]}" = 0 ]; then
  same "users $SERVICE_USER, $GW_USER"
elif [ -n "$ROOT" ]; then
  change "create user ${missing_users[*]} (systemd-sysusers --root $ROOT)" \
    systemd-sysusers --root="$ROOT" "$ROOT/etc/sysusers.d/condordesk.conf"
else
  change "create user ${missing_users[*]} (systemd-sysusers)" \
    systemd-sysusers /etc/sysusers.d/condordesk.conf
fi

# -- directories ---------------------------------------------------------------------------
ensure_dir $PREFIX 0755
ensure_dir $PREFIX/share/doc 0755
ensure_dir /etc/condordesk 0755
ensure_dir /etc/condordesk/nftables 0755
ensure_dir /etc/credstore.encrypted 0700
ensure_dir $STATE 0700 "$SERVICE_USER"
for sub in config config/profiles data log cache run; do
  ensure_dir "$STATE/$sub" 0700 "$SERVICE_USER"
done
if [ "$VNC" = 1 ]; then  # IB Gateway's settings and IBC's config.ini (written by the operator)
  for sub in "" /ibc /tws; do
    ensure_dir "$GW_STATE$sub" 0700 "$GW_USER"
  done
fi

# -- the app in its own virtual environment -------------------------------------------------
install_app() {  # install_app STAMP: pip install the source, then record what was installed
  # every value is one argument (no string for a shell to parse): a tag name such as
  # "v1';touch /x;'" or "$(id)" is only ever data
  local stamp="$1" stamp_file="$ROOT$VENV/.condordesk-source"
  local -a pip_argv=()
  read -r -a pip_argv <<< "$PIP_ARGS"  # a list of words on purpose; no globbing
  "$ROOT$VENV/bin/python" -m pip install --quiet --upgrade "${pip_argv[@]}" -- "$SOURCE"
  refuse_symlinks "$VENV/.condordesk-source"
  printf '%s\n' "$stamp" > "$stamp_file"
}

if [ "$APP" = 1 ]; then
  # what is installed: the commit, plus a hash of local edits (reinstalled when they change);
  # a source without git is always reinstalled
  stamp_want="$(cd "$SOURCE" && { git describe --always --dirty 2>/dev/null || date +%s; })"
  if [[ "$stamp_want" == *-dirty ]]; then
    stamp_want+="-$(cd "$SOURCE" && git diff HEAD | sha256sum | cut -c1-12)"
  fi
  stamp_have="$(cat "$ROOT$VENV/.condordesk-source" 2>/dev/null || true)"
  refuse_symlinks "$VENV/bin/python"
  if [ ! -x "$ROOT$VENV/bin/python" ]; then
    change "create virtual environment $VENV ($PYTHON)" "$PYTHON" -m venv "$ROOT$VENV"
  else
    same "$VENV"
  fi
  if [ "$stamp_want" != "$stamp_have" ]; then
    change "install condordesk from $SOURCE ($stamp_want) into $VENV" install_app "$stamp_want"
  else
    same "condordesk $stamp_have in $VENV"
  fi
fi

# -- files ---------------------------------------------------------------------------------
for unit in "$HERE"/systemd/*.service "$HERE"/systemd/*.timer; do
  ensure_file "$unit" "$UNITS/$(basename "$unit")" 0644
done
for rules in "$HERE"/nftables/*.nft; do
  ensure_file "$rules" "/etc/condordesk/nftables/$(basename "$rules")" 0644
done
ensure_file "$HERE/bin/condordesk" /usr/local/bin/condordesk 0755
if [ -f "$SOURCE/docs/operations.md" ]; then
  ensure_file "$SOURCE/docs/operations.md" $PREFIX/share/doc/operations.md 0644
fi

# -- per profile: secrets as systemd credentials, then enable the engine ----------------------
for p in "${PROFILES[@]+"${PROFILES[@]}"}"; do
  lines=""
  for cred in "$ROOT"/etc/credstore.encrypted/condordesk-"$p".*; do
    [ -f "$cred" ] || continue
    file="/etc/credstore.encrypted/$(basename "$cred")"
    lines+="LoadCredentialEncrypted=${file##*/condordesk-$p.}:$file"$'\n'
  done
  dropin="$UNITS/condordesk@$p.service.d/credentials.conf"
  if [ -n "$lines" ]; then
    ensure_text "$dropin" 0644 "# written by packaging/install.sh from /etc/credstore.encrypted
[Service]
$lines"
  elif [ -f "$ROOT$dropin" ]; then
    refuse_symlinks "$dropin"
    change "remove $dropin (no credentials for profile $p)" rm -f -- "$ROOT$dropin"
  fi
done
if [ -z "$ROOT" ] && [ "$DRY" = 0 ] && [ -d /run/systemd/system ] && [ "$CHANGES" -gt 0 ]; then
  echo "systemctl daemon-reload"
  systemctl daemon-reload
fi
for p in "${PROFILES[@]+"${PROFILES[@]}"}"; do
  ensure_enabled "condordesk@$p.service"
done
if [ "$VNC" = 1 ]; then
  for unit in condordesk-firewall.service condordesk-vnc.service condordesk-ibgateway.service \
      condordesk-vnc-close.service condordesk-vnc-window.timer condordesk-vnc-close.timer; do
    ensure_enabled "$unit"
  done
fi

if [ "$DRY" = 1 ]; then
  echo "dry run: $CHANGES change(s) to make"
else
  echo "done: $CHANGES change(s)"
fi
