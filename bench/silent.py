#!/usr/bin/env python3
"""Connection hygiene, measured on a built gateway (issue 13):

1. Latency for a normal client (wrk, few connections) with and without N silent
   connections held open against the same gateway (p50/p99 side by side, one run).
2. Memory per idle keep-alive connection: the gateway's RSS before and after N connections
   that each made one request and then idle, and after they close (memory handed back).

    bench/silent.py GATEWAY [--connections 10000] [--seconds 5]

GATEWAY is a binary built by `specgate build` from examples/hello/api.yaml. wrk must be
installed (Debian's package). The file-descriptor limit is raised to the hard limit.
"""
import argparse
import os
import re
import resource
import socket
import subprocess
import sys
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def start(gateway, extra):
    p = subprocess.Popen(
        [gateway, "--listen", "127.0.0.1:0", "--quiet", "--workers", "1", "--account-rate-limit", "0", *extra],
        stderr=subprocess.PIPE,
        text=True,
    )
    line = p.stderr.readline()
    m = re.search(r"http://(\S+)", line)
    if not m:
        sys.exit(f"no address in {line!r}")
    host, port = m.group(1).rsplit(":", 1)
    return p, (host, int(port))


def wrk(addr, seconds):
    out = subprocess.run(
        ["wrk", "-t1", "-c8", f"-d{seconds}s", "--latency", f"http://{addr[0]}:{addr[1]}/hello"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    rps = re.search(r"Requests/sec:\s+(\S+)", out).group(1)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", out)
    return lat.get("50"), lat.get("99"), rps, errors.group(0) if errors else "none"


def open_many(addr, n, request=None):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.setblocking(True)
        s.connect(addr)
        if request:
            s.sendall(request)
        socks.append(s)
    if request:
        for s in socks:
            s.recv(65536)
    return socks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gateway")
    ap.add_argument("--connections", type=int, default=10000)
    ap.add_argument("--seconds", type=int, default=5)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    n = args.connections

    # 1. Latency with and without silent connections (timeouts long enough to hold them).
    p, addr = start(args.gateway, ["--first-byte-timeout", "300", "--max-connections", str(n + 100)])
    try:
        base = wrk(addr, args.seconds)
        silent = open_many(addr, n)
        time.sleep(1)
        loaded = wrk(addr, args.seconds)
        print(f"| clients | p50 | p99 | req/s | errors |")
        print(f"| --- | --- | --- | --- | --- |")
        print(f"| wrk alone | {base[0]} | {base[1]} | {base[2]} | {base[3]} |")
        print(f"| wrk + {n} silent connections | {loaded[0]} | {loaded[1]} | {loaded[2]} | {loaded[3]} |")
        for s in silent:
            s.close()
    finally:
        p.kill()
        p.wait()

    # 2. Memory per idle keep-alive connection, and after they close.
    p, addr = start(args.gateway, ["--first-byte-timeout", "300", "--max-connections", str(n + 100)])
    try:
        time.sleep(0.5)
        warm = open_many(addr, 50, b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        for s in warm:
            s.close()
        time.sleep(0.5)
        before = rss_kib(p.pid)
        idle = open_many(addr, n, b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(1)
        during = rss_kib(p.pid)
        for s in idle:
            s.close()
        time.sleep(5)
        after = rss_kib(p.pid)
        print()
        print(f"RSS before: {before} KiB; with {n} idle keep-alive connections: {during} KiB "
              f"({(during - before) * 1024 / n:.0f} bytes each); after they closed: {after} KiB "
              f"({(after - before) * 100 / max(during - before, 1):.0f}% of the growth kept)")
    finally:
        p.kill()
        p.wait()


if __name__ == "__main__":
    main()
