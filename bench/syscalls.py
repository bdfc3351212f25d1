#!/usr/bin/env python3
"""System calls and context switches per request, beside CPU per request: nginx, the two
floors of bench/floor (tokio on epoll, io_uring) and any gateways of specs/bench/proxy.yaml,
each loaded by `wrk -t1 -c32` in interleaved rounds against one nginx backend, counted by
`perf stat` on the kernel's tracepoints while wrk runs (counting adds little; no strace).

    python3 bench/syscalls.py [GATEWAY…]   (env: ROUNDS=3 SECS=3 WORKERS=2 FLOORS=dir of
                                            specgate-bench-floor{,-uring}, default the
                                            release build under CARGO_TARGET_DIR or target/)

Prints, per target, medians over the rounds of: requests/s, user and system CPU µs per
request, system calls per request (all, and the ones a proxy's data path makes), and context
switches per request. Needs nginx, wrk and perf (Debian: linux-perf)."""
import os, statistics, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import (ROOT, TICK, Procs, cpu_split, family, free_port,  # noqa: E402
                 gateway_command, stop, wait_port, wrk)

CALLS = ["io_uring_enter", "epoll_wait", "epoll_pwait", "sendto", "recvfrom", "writev", "readv",
         "read", "write", "getsockopt", "futex"]


def counted(pids, url, secs):
    """wrk against `url` while perf counts the processes' system calls: (wrk's result, counts)."""
    events = ["raw_syscalls:sys_enter", "context-switches"] + [f"syscalls:sys_enter_{c}" for c in CALLS]
    out = tempfile.NamedTemporaryFile(mode="r", suffix=".csv")
    perf = subprocess.Popen(["perf", "stat", "-x", ",", "-o", out.name, "-e", ",".join(events),
                             "-p", ",".join(str(p) for p in pids)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    u0, s0 = cpu_split(pids)
    res = wrk(url, secs, 32, [])
    u1, s1 = cpu_split(pids)
    perf.send_signal(2)
    perf.wait(10)
    counts = {}
    for line in out.read().splitlines():
        f = line.split(",")
        if len(f) > 2 and f[0].strip().isdigit():
            counts[f[2].replace("syscalls:sys_enter_", "")] = int(f[0])
    n = max(res["requests"], 1)
    res["user_us"] = (u1 - u0) / TICK * 1e6 / n
    res["sys_us"] = (s1 - s0) / TICK * 1e6 / n
    res["per_req"] = {k: v / n for k, v in counts.items()}
    return res


def main():
    gateways = sys.argv[1:]
    rounds = int(os.environ.get("ROUNDS", "3"))
    secs = int(os.environ.get("SECS", "3"))
    workers = os.environ.get("WORKERS", "2")
    floors = os.environ.get("FLOORS") or os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release")
    work = tempfile.mkdtemp(prefix="specgate-syscalls-")
    procs = Procs()
    start = procs.start
    try:
        be, ngx, n = procs.reference(work, workers)
        targets = [("nginx", ngx, lambda n=n: family(n.pid))]
        for name, exe in (("tokio floor", "specgate-bench-floor"),
                          ("io_uring floor", "specgate-bench-floor-uring")):
            port = free_port()
            p = start([os.path.join(floors, exe), f"127.0.0.1:{port}", f"127.0.0.1:{be}", workers])
            targets.append((name, port, lambda p=p: [p.pid]))
        for i, g in enumerate(gateways):
            port = free_port()
            os.makedirs(f"{work}/state{i}")
            p = start(gateway_command(g, workers, port, be, f"{work}/state{i}"))
            targets.append((g, port, lambda p=p: [p.pid]))
        for _, port, _ in targets:
            wait_port(port)
        for _, port, _ in targets:
            wrk(f"http://127.0.0.1:{port}/items/1", 1, 32, [])
        runs = {name: [] for name, *_ in targets}
        for _ in range(rounds):
            for name, port, pids in targets:
                runs[name].append(counted(pids(), f"http://127.0.0.1:{port}/items/1", secs))
        keys = ["raw_syscalls:sys_enter", "context-switches"] + CALLS
        print(f"medians of {rounds} interleaved rounds of {secs} s, wrk -t1 -c32, {workers} workers; "
              "per request:")
        print(f"{'target':28} {'req/s':>8} {'user µs':>8} {'sys µs':>7} {'calls':>6} {'cswch':>6}  by call")
        for name, rs in runs.items():
            med = lambda k: statistics.median(r["per_req"].get(k, 0.0) for r in rs)
            by = "  ".join(f"{c} {med(c):.2f}" for c in CALLS if med(c) >= 0.005)
            print(f"{os.path.basename(name)[:28]:28} {statistics.median(r['rps'] for r in rs):8.0f} "
                  f"{statistics.median(r['user_us'] for r in rs):8.2f} "
                  f"{statistics.median(r['sys_us'] for r in rs):7.2f} "
                  f"{med(keys[0]):6.2f} {med(keys[1]):6.2f}  {by}")
    finally:
        stop(procs, work)


if __name__ == "__main__":
    main()
