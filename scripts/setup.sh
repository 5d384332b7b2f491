#!/usr/bin/env bash
# Create .venv and install peel-search with everything it needs, offline-safe.
# torch==2.13.0 (CPU) goes in first: anything that depends on torch would otherwise pull
# a multi-GB CUDA build. Re-running is cheap: it reinstalls only when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for cand in python3.11 python3 python; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
      PY="$cand"; break
    fi
  done
fi
[ -n "$PY" ] || { echo "error: Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv with $PY" >&2
  "$PY" -m venv .venv
fi
stamp=.venv/.peel-installed
want="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  export PIP_DISABLE_PIP_VERSION_CHECK=1
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q "torch==2.13.0"
  .venv/bin/python -m pip install -q -e ".[test]"
  echo "$want" > "$stamp"
  echo "Installed peel-search into .venv" >&2
fi

# The corpus-adapted embedding model (peel adapt: unsupervised, deterministic, CPU), made
# once; indexes built afterwards use it. ~16 minutes on two cores. $PEEL_MODEL moves it.
# A .peel-model adapted from an older default base (all-MiniLM-L6-v2) is made again; a
# model at $PEEL_MODEL is the user's choice and is left as it is.
model_dir="${PEEL_MODEL:-.peel-model}"
if [ ! -f "$model_dir/adapt_info.json" ]; then
  echo "Adapting the embedding model to the bundled corpus (once, ~16 minutes on 2 cores) …" >&2
  .venv/bin/peel adapt --out "$model_dir"
elif [ -z "${PEEL_MODEL:-}" ] && ! .venv/bin/python -c "import sys; from index.models.adapt import is_current; sys.exit(0 if is_current('$model_dir') else 1)"; then
  echo "The adapted model in $model_dir was made from an older base; adapting all-mpnet-base-v2 (once, ~16 minutes on 2 cores) …" >&2
  .venv/bin/peel adapt --out "$model_dir"
  echo "Indexes built with the old model must be rebuilt once: .venv/bin/peel ingest --rebuild [PATH…]" >&2
fi
