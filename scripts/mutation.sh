#!/usr/bin/env bash
# Mutation-testing report over artlib's core (see scripts/mutation.py); --quick samples 12 mutants
# per module. Not a CI gate: a full run takes hours on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python scripts/mutation.py "$@"
