#!/usr/bin/env bash
# Create .venv (if missing) and install the pinned stack plus artlib itself; fetch MathJax (npm) for
# the book, so its formulas render without the internet. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
MATHJAX=3.2.2
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install -q -r requirements.txt
.venv/bin/python -m pip install -q --no-deps -e .
# the ecosystem the round-trip tests drive (diffusers, k-diffusion); see requirements-interop.txt
.venv/bin/python -m pip install -q -c requirements.txt -r requirements-interop.txt
.venv/bin/python -m pip install -q --no-deps k-diffusion==0.1.1.post1 dctorch==0.1.2
if [ ! -f book/_mathjax/mathjax/tex-chtml.js ]; then
  command -v npm >/dev/null || { echo "setup: npm is needed to fetch MathJax for the book (apt-get install npm)" >&2; exit 1; }
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack -q "mathjax@$MATHJAX" >/dev/null)
  tar -xzf "$tmp/mathjax-$MATHJAX.tgz" -C "$tmp"
  mkdir -p book/_mathjax/mathjax
  cp -r "$tmp/package/es5/." book/_mathjax/mathjax/
  rm -rf "$tmp"
fi
