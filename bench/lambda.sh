#!/usr/bin/env bash
# The Lambda benchmark: the same Rust handler (codegen-tests/functions/rust-echo) called
# directly over HTTP, through a specgate http_proxy route, and as a local Lambda function
# through specgate's Runtime API (aws_proxy). Installs wrk if missing, builds the compiler,
# the gateway and the function (release), prints a Markdown table and writes
# bench/results/lambda.{md,json}.
#   bench/lambda.sh [--seconds 5] [--rounds 3] [--connections 16]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get install -y wrk || { $SUDO apt-get update && $SUDO apt-get install -y wrk; }
fi
cargo build --release -q -p specgate
FUNCTIONS_TARGET="$HOME/.cache/specgate/functions-target"
CARGO_TARGET_DIR="$FUNCTIONS_TARGET" cargo build --release -q \
  --manifest-path codegen-tests/functions/rust-echo/Cargo.toml
export SPECGATE="${CARGO_TARGET_DIR:-target}/release/specgate"
export RUST_ECHO="$FUNCTIONS_TARGET/release/rust-echo"
exec python3 bench/lambda.py "$@"
