#!/usr/bin/env bash
# Make this checkout runnable: Debian packages Kivy and the tests need, a .venv with the project installed.
# Idempotent and quick when nothing changed (a stamp keyed on requirements.lock and pyproject.toml skips pip).
set -euo pipefail
cd "$(dirname "$0")/.."

# Kivy's wheel bundles SDL2 but links the system OpenGL/X client libraries; socat makes serial pty pairs for
# device tests; cage is the kiosk session compositor the systemd unit runs (and systemd-analyze verifies);
# chromium drives the admin pages' browser tests through playwright (never `playwright install`); espeak-ng is
# the local Vietnamese voice for spoken guidance; linux-libc-dev has the input.h the evdev (HID scanner) build needs;
# postgresql gives the initdb/pg_ctl the tests start throw-away clusters with (tests/pgcluster.py).
DEB_PACKAGES=(
  libgl1 libgl1-mesa-dri libegl1 libmtdev1 libx11-6 libxext6 libxrender1 libxi6 libxrandr2 libxcursor1
  libxinerama1 libxfixes3 libxss1 libxkbcommon0 socat cage chromium espeak-ng linux-libc-dev postgresql
)

missing=()
for pkg in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: missing Debian packages. Run as root, or first:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "bootstrap: Python 3.11 or newer is needed (found $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi
[[ -x .venv/bin/python ]] || "$PYTHON" -m venv .venv

# Python packages come from requirements.lock: exact versions for Linux x86_64 / Python 3.11, each file checked
# against its hash; the project goes on top without dependencies. `make lock` regenerates the lock after a
# dependency in pyproject.toml changes; a stale lock stops here rather than install something unlocked.
if ! head -1 requirements.lock | grep -qF "$("$PYTHON" scripts/deps_hash.py)"; then
  echo "bootstrap: requirements.lock does not match the dependencies in pyproject.toml: run \`make lock\`" >&2
  exit 1
fi
stamp=".venv/.installed-$(cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)"
if [[ ! -f $stamp ]]; then
  echo "bootstrap: installing Python packages from requirements.lock into .venv"
  .venv/bin/python -m pip install -q --require-hashes -r requirements.lock
  .venv/bin/python -m pip install -q --no-deps -e .
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# The project's own modules compiled ahead (quick when nothing changed): where PYTHONDONTWRITEBYTECODE is set or
# the kiosk's service user cannot write here, Python would compile ~120 modules from source at every start.
.venv/bin/python -m compileall -q -j0 main.py backend config contracts devices kiosk queueing screens >/dev/null
