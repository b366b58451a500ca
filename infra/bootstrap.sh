#!/usr/bin/env bash
# Idempotent set-up for newsroom: system packages, .venv/, pinned Python dependencies.
# Usage: infra/bootstrap.sh [EXTRAS]   (EXTRAS defaults to "all,dev")
set -euo pipefail
cd "$(dirname "$0")/.."

EXTRAS="${1:-all,dev}"
SYSTEM_PACKAGES=(ffmpeg fonts-noto-cjk libomp5 libvulkan1 espeak-ng)
PYTHON="${PYTHON:-python3}"
VENV=.venv
STAMP="$VENV/.installed-$EXTRAS"

log() { printf '[bootstrap] %s\n' "$*" >&2; }

missing_system_packages() {
  local missing=()
  for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  echo "${missing[@]:-}"
}

install_system_packages() {
  local missing
  missing="$(missing_system_packages)"
  [ -z "$missing" ] && { log "system packages present: ${SYSTEM_PACKAGES[*]}"; return; }
  if ! command -v apt-get >/dev/null 2>&1; then
    log "missing system packages: $missing (no apt-get here: install them with your package manager)"
    exit 1
  fi
  if [ "$(id -u)" -ne 0 ]; then
    log "missing system packages: $missing"
    log "run: sudo apt-get update && sudo apt-get install -y --no-install-recommends $missing"
    exit 1
  fi
  log "installing system packages: $missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

install_python() {
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtual environment in $VENV"
    "$PYTHON" -m venv "$VENV"
  fi
  # Re-install only when the pins or the project metadata changed.
  local digest
  digest="$(cat pyproject.toml requirements.lock requirements-nodeps.txt infra/bootstrap.sh | sha256sum | cut -c1-16)"
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$digest" ]; then
    log "python dependencies up to date ($EXTRAS)"
    return
  fi
  log "installing python dependencies (extras: $EXTRAS)"
  # llama-cpp-python has no wheel for this Python on PyPI: compile it portable and lean (~7 min once;
  # pip caches the wheel, so later installs take seconds).
  export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF}"
  "$VENV/bin/python" -m pip install -q --upgrade "pip==25.3"
  # requirements.lock pins every transitive package; the project's own extras select which are used.
  "$VENV/bin/python" -m pip install -q -c requirements.lock -e ".[$EXTRAS]"
  # Packages whose declared dependencies are wrong for us (see the file), installed without them.
  "$VENV/bin/python" -m pip install -q --no-deps -r requirements-nodeps.txt
  # The Mandarin voice runs torch on the CPU. torch==2.13.0 resolves to the local CPU wheel on these
  # machines; elsewhere pip takes PyPI's CUDA build (GBs of libraries the voice does not use): say so.
  if ! "$VENV/bin/python" -c 'import sys, torch; sys.exit(1 if torch.version.cuda else 0)' 2>/dev/null; then
    log "note: torch is a CUDA build; the CPU build of torch==2.13.0 (PyTorch's CPU wheel index) is enough"
  fi
  echo "$digest" > "$STAMP"
}

install_system_packages
install_python
log "ready: $VENV/bin/newsroom"
