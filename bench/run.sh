#!/usr/bin/env bash
# One command: specgate side by side with nginx and haproxy. Installs wrk, nginx and haproxy
# from Debian if missing, builds the compiler (release) and the bench gateway, runs every
# scenario on loopback ports, prints a Markdown table and writes bench/results/latest.{md,json}.
#   bench/run.sh [--seconds 5] [--rounds 3] [--connections 32] [--rate 2000] [--only REGEX]
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || missing+=(nginx-light)
command -v haproxy >/dev/null || missing+=(haproxy)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get install -y "${missing[@]}" || { $SUDO apt-get update && $SUDO apt-get install -y "${missing[@]}"; }
fi
cargo build --release -q -p specgate -p specgate-bench-floor
export SPECGATE="${CARGO_TARGET_DIR:-target}/release/specgate"
exec python3 bench/run.py "$@"
