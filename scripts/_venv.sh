# Sourced by scripts/dev, scripts/test and .ci/run: make .venv from requirements.lock if needed.
# Only Python 3.11+ is assumed; no uv, no venv made beforehand.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || { echo "error: Python 3.11 or newer is needed (found $("$PYTHON" --version 2>&1))" >&2; exit 2; }
VENV="${VENV:-$ROOT/.venv}"
stamp="$VENV/.installed-$(sha256sum requirements.lock pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  # On a terminal pip shows each package as it comes; elsewhere (CI logs) pip is quiet and
  # a line per step says how long it took.
  if [ -t 1 ]; then pip_output=(--progress-bar on); else pip_output=(-q); fi
  pip_install() { "$VENV/bin/python" -m pip install "${pip_output[@]}" --disable-pip-version-check "$@"; }
  started=$SECONDS
  echo "==> installing into $VENV from requirements.lock (the first time takes a minute or two)"
  if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
    echo "    made the virtual environment ($((SECONDS - started)) s)"
  fi
  pip_install -r requirements.lock
  echo "    installed the dependencies ($((SECONDS - started)) s)"
  pip_install --no-deps -e .
  echo "    installed the app ($((SECONDS - started)) s)"
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi
export PATH="$VENV/bin:$PATH"
