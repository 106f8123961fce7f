#!/usr/bin/env bash
# Installs the Debian packages shellwatch's commands and tests need, when they are missing:
# python3-venv (Debian splits ensurepip out of python3) and PostgreSQL (a real server for the store tests).
# Runs apt-get only as root; otherwise it says what to install and carries on.
set -euo pipefail

missing=()
python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)

[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "note: please install these Debian packages: ${missing[*]} (PostgreSQL tests are skipped without it)" >&2
  python3 -c 'import ensurepip' 2>/dev/null || exit 1
fi
