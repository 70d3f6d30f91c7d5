#!/usr/bin/env bash
# Set up if needed, then run the assistant. Arguments go to `homeplm run` (--input WAV|-, --output WAV).
# HOMEPLM_CONFIG picks the config file (default configs/homeplm.yaml).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Set-up chatter goes to stderr and never reads stdin: `--input -` may be reading audio from a pipe.
bash scripts/setup.sh </dev/null >&2

exec .venv/bin/homeplm run --config "${HOMEPLM_CONFIG:-configs/homeplm.yaml}" "$@"
