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
#   PEEL_SKIP_ADAPT=1       don't adapt (small machines, quick CI): indexes use the packaged
#                           all-MiniLM-L6-v2 until `peel adapt --reindex` is run
#   PEEL_ADAPT=background   adapt in the background (nice'd, log in .peel-adapt.log) and rebuild
#                           the index with it when done; scripts/run.sh uses this so the app
#                           answers at once with the packaged model and switches over by itself
model_dir="${PEEL_MODEL:-.peel-model}"
adapt_flags=""
mem_kib="$(awk '/^MemTotal:/ {print $2}' /proc/meminfo 2>/dev/null || echo 0)"
if [ "${mem_kib:-0}" -gt 0 ] && [ "$mem_kib" -lt $((12 * 1024 * 1024)) ]; then
  adapt_flags="--low-memory"  # the full adaptation peaks at ~13.5 GB
fi
reason=""
if [ ! -f "$model_dir/adapt_info.json" ]; then
  reason="Adapting the embedding model to the bundled corpus"
elif [ -z "${PEEL_MODEL:-}" ] && ! .venv/bin/python -c "import sys; from index.models.adapt import is_current; sys.exit(0 if is_current('$model_dir') else 1)"; then
  reason="The adapted model in $model_dir was made from an older base; adapting all-mpnet-base-v2"
fi
if [ -n "$reason" ]; then
  if [ -n "${PEEL_SKIP_ADAPT:-}" ]; then
    echo "PEEL_SKIP_ADAPT is set: not adapting the model; indexes use the packaged all-MiniLM-L6-v2 (later: .venv/bin/peel adapt --reindex)" >&2
  elif [ "${PEEL_ADAPT:-now}" = "background" ]; then
    if .venv/bin/python -c "import sys; from index.models.adapt_status import read_status; s = read_status('$model_dir'); sys.exit(0 if s and s.running else 1)"; then
      echo "Adaptation is already running in the background (log: .peel-adapt.log)." >&2
    else
      echo "$reason in the background (~16 minutes on 2 cores; log: .peel-adapt.log). Meanwhile the app answers with the packaged model, then switches over by itself." >&2
      nohup nice -n 10 .venv/bin/peel adapt --out "$model_dir" --reindex -q $adapt_flags > .peel-adapt.log 2>&1 &
    fi
  else
    echo "$reason (once, ~16 minutes on 2 cores) …" >&2
    .venv/bin/peel adapt --out "$model_dir" $adapt_flags
    if [ -d "${PEEL_INDEX:-.peel-index}" ]; then
      echo "Indexes built with another model must be rebuilt once: .venv/bin/peel ingest --rebuild [PATH…]" >&2
    fi
  fi
fi
