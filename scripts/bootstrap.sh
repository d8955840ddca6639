#!/usr/bin/env bash
# Installs what Markezy needs on a fresh Debian machine, idempotently:
# system packages (only the missing ones), the Python virtualenv, and the
# browser bundles (widget and console). Safe to run again; fast when nothing changed.
#   scripts/bootstrap.sh            runtime + front-end builds
#   scripts/bootstrap.sh --test     also the test servers and tools (MariaDB, Redis, Chromium, PHP, poppler)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
WITH_TEST=0
[[ "${1:-}" == "--test" ]] && WITH_TEST=1

log() { printf '\033[1;34m[bootstrap]\033[0m %s\n' "$*" >&2; }

# --- system packages ---------------------------------------------------------
pkgs=(pkg-config default-libmysqlclient-dev build-essential libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 nodejs npm)
if [[ $WITH_TEST == 1 ]]; then
  pkgs+=(mariadb-server mariadb-client redis-server chromium poppler-utils fonts-dejavu-core
         php-cli php-mysql php-gd php-xml php-mbstring php-curl php-getid3 libjs-underscore libjs-cropper)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node/npm may come from elsewhere than Debian (e.g. nodesource): accept any working binary.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
read -r -a missing <<< "${missing[*]:-}"
SUDO=""; [[ $(id -u) != 0 ]] && SUDO="sudo"
if (( ${#missing[@]} )); then
  log "installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  APT_UPDATED=1
fi

# WordPress for the plugin's end-to-end test: Debian's package pulls in Apache,
# so only its files are unpacked (MACHINE-NOTES.md); served later by `php -S`.
if [[ $WITH_TEST == 1 && ! -f var/wordpress-pkg/usr/share/wordpress/wp-load.php ]]; then
  log "unpacking Debian's wordpress package"
  [[ -n "${APT_UPDATED:-}" ]] || $SUDO apt-get update -qq 2>/dev/null || apt-get update -qq
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq wordpress wordpress-theme-twentytwentythree >/dev/null)
  mkdir -p var/wordpress-pkg
  for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" var/wordpress-pkg; done
  rm -rf "$tmp"
fi

# --- Python ---------------------------------------------------------------------
PY=${PYTHON:-}
if [[ -z "$PY" ]]; then
  for candidate in python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
      PY=$candidate; break
    fi
  done
fi
[[ -n "$PY" ]] || { echo "Python >= 3.11 is required" >&2; exit 1; }
if [[ ! -x .venv/bin/python ]]; then
  log "creating .venv with $PY"
  "$PY" -m venv .venv
fi
REQ=requirements/base.txt; [[ $WITH_TEST == 1 ]] && REQ=requirements/dev.txt
stamp=".venv/.installed-$(basename "$REQ" .txt)"
want=$(cat requirements/*.txt | sha256sum | cut -c1-16)
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  log "installing Python packages ($REQ)"
  .venv/bin/pip install -q --disable-pip-version-check --upgrade pip wheel
  .venv/bin/pip install -q --disable-pip-version-check -r "$REQ"
  echo "$want" > "$stamp"
fi

# --- Front-end bundles ------------------------------------------------------------
build_js() {
  local dir=$1
  [[ -f "$dir/package.json" ]] || return 0
  local want_js
  want_js=$(cd "$dir" && cat package.json package-lock.json 2>/dev/null | sha256sum | cut -c1-16)
  if [[ ! -d "$dir/node_modules" || "$(cat "$dir/node_modules/.stamp" 2>/dev/null)" != "$want_js" ]]; then
    log "installing npm packages in $dir"
    (cd "$dir" && { [[ -f package-lock.json ]] && npm ci --no-audit --no-fund --loglevel=error || npm install --no-audit --no-fund --loglevel=error; })
    echo "$want_js" > "$dir/node_modules/.stamp"
  fi
  local newest_src built
  newest_src=$(find "$dir/src" "$dir/package.json" -type f -newer "$dir/dist/.built" 2>/dev/null | head -1 || true)
  if [[ ! -f "$dir/dist/.built" || -n "$newest_src" ]]; then
    log "building $dir"
    (cd "$dir" && npm run build --silent)
    touch "$dir/dist/.built"
  fi
}
build_js widget
build_js console
log "ready"
