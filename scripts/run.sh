#!/usr/bin/env bash
# The main job on a fresh machine: install, then open the app over the bundled corpus.
# The app answers at once: it builds its index on first run (with a progress bar) with the
# packaged model while the corpus-adapted model is made in the background; when that is
# done the index is rebuilt with it and the app switches over by itself (its sidebar says
# which model is serving). PEEL_SKIP_ADAPT=1 skips the adaptation; PEEL_ADAPT=now waits for it.
set -euo pipefail
cd "$(dirname "$0")/.."
PEEL_ADAPT="${PEEL_ADAPT:-background}" bash scripts/setup.sh
export HF_HUB_OFFLINE=1
exec .venv/bin/peel app "$@"
