#!/usr/bin/env bash
# Requests/s through a specgate gateway vs. straight to the backend, side by side in one run.
#
#   bench/load.sh [seconds per run, default 10] [connections, default 32] [rounds, default 3]
#
# Needs wrk and nginx (Debian: apt-get install wrk nginx-light). The backend is nginx on a
# loopback port answering a small JSON body; the gateway is specs/petstore.yaml built with
# `specgate build`, with stage variable `backend` pointing at nginx. Runs alternate
# (direct, proxy, mock, direct, …) so that noise on a shared machine hits all of them alike.
# Client, gateway and backend share the machine's cores: compare ratios, not absolutes.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}; conns=${2:-32}; rounds=${3:-3}
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
be=$(free_port); gw=$(free_port); np=$(free_port)

cat > "$work/nginx.conf" <<NGINX
worker_processes 2;  # as many workers as the gateway has threads (one per core)
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000;
  server {
    listen 127.0.0.1:$be;
    location / { default_type application/json; return 200 '{"id": 1, "name": "Rex"}'; }
  }
  # The same backend behind nginx as a reverse proxy: what a general-purpose proxy costs.
  upstream backend { server 127.0.0.1:$be; keepalive 64; }
  server {
    listen 127.0.0.1:$np;
    location /pets/ {
      proxy_pass http://backend/animals/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
NGINX
nginx -c "$work/nginx.conf" -p "$work"

cargo build --release -q -p specgate
./target/release/specgate build specs/petstore.yaml -o "$work/gateway" 2>/dev/null || \
  "${CARGO_TARGET_DIR:-target}/release/specgate" build specs/petstore.yaml -o "$work/gateway"
"$work/gateway" --listen "127.0.0.1:$gw" --stage-var "backend=127.0.0.1:$be" --quiet 2>/dev/null &
sleep 0.5
curl -fsS "http://127.0.0.1:$gw/pets/1" >/dev/null

rps() { wrk -t1 -c"$conns" -d"${secs}s" "$1" | awk '/Requests\/sec/ {print $2}'; }
printf "%-6s %-50s %12s\n" round target req/s
for r in $(seq 1 "$rounds"); do
  for t in "direct http://127.0.0.1:$be/animals/1" "nginx-proxy http://127.0.0.1:$np/pets/1" \
           "specgate-proxy http://127.0.0.1:$gw/pets/1" "specgate-mock http://127.0.0.1:$gw/health"; do
    set -- $t
    printf "%-6s %-50s %12s\n" "$r" "$1 ($2)" "$(rps "$2")"
  done
done
