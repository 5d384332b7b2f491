#!/usr/bin/env bash
# The main job on a fresh machine: install, then open the app over the bundled corpus
# (the app builds the index on first run, with a progress bar).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
exec .venv/bin/peel app "$@"
