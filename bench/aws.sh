#!/usr/bin/env bash
# The AWS-service benchmark: gateway CPU per request of a DynamoDB GetItem route (`aws`,
# SigV4-signed) against an `http` route sending the same request to the same emulator
# (moto's server, from PyPI, in ~/.cache/specgate/moto-venv). Installs wrk if missing,
# builds the compiler and specs/bench/aws.yaml (release), prints a Markdown table and writes
# bench/results/aws.{md,json}.
#   bench/aws.sh [--seconds 5] [--rounds 3] [--connections 4]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get install -y wrk || { $SUDO apt-get update && $SUDO apt-get install -y wrk; }
fi
VENV="$HOME/.cache/specgate/moto-venv"
if ! "$VENV/bin/python" -c "import moto.server, boto3" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "moto[server]==5.*"
fi
cargo build --release -q -p specgate
export SPECGATE="${CARGO_TARGET_DIR:-target}/release/specgate"
export MOTO_VENV="$VENV"
exec python3 bench/aws.py "$@"
