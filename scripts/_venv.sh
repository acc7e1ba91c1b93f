# Sourced by scripts/demo and scripts/test: make .venv with Python 3.11+ and install the project.
#
# Usage: source scripts/_venv.sh [EXTRAS]   e.g. "" for the portal alone, "test" for the test tools.
# Installs only when .venv is new or pyproject.toml changed since the last install with these
# extras: a stamp file in .venv holds pyproject.toml's SHA-256 (one stamp per set of extras).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV_EXTRAS=${1:-}
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
venv_stamp=".venv/.installed${VENV_EXTRAS:+-$VENV_EXTRAS}"
venv_wanted=$(.venv/bin/python -c 'import hashlib, sys; print(hashlib.sha256(open("pyproject.toml", "rb").read()).hexdigest())')
if [ "$(cat "$venv_stamp" 2>/dev/null || true)" != "$venv_wanted" ] || [ ! -x .venv/bin/portal ]; then
  echo "Installing the portal${VENV_EXTRAS:+ with [$VENV_EXTRAS]} into .venv/ …" >&2
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".${VENV_EXTRAS:+[$VENV_EXTRAS]}"
  echo "$venv_wanted" > "$venv_stamp"
fi
