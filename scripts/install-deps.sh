#!/usr/bin/env bash
# Installs the system packages the workbench needs, only where missing (Debian/Ubuntu, apt-get).
set -euo pipefail
PACKAGES=(libncurses-dev libsqlite3-dev tmux python3 python3-pip)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# python3/pip may come from elsewhere (pyenv); only their commands matter.
filtered=()
for p in "${missing[@]}"; do
  case "$p" in
    python3) command -v python3 >/dev/null || filtered+=("$p") ;;
    python3-pip) python3 -m pip --version >/dev/null 2>&1 || filtered+=("$p") ;;
    *) filtered+=("$p") ;;
  esac
done
if [ "${#filtered[@]}" -eq 0 ]; then
  echo "deps: all present"
  exit 0
fi
command -v swift >/dev/null || { echo "error: Swift 6 is needed (https://www.swift.org/install/)" >&2; exit 1; }
if ! command -v apt-get >/dev/null; then
  echo "error: missing packages ${filtered[*]} and no apt-get to install them" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "deps: installing ${filtered[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${filtered[@]}"
