#!/usr/bin/env python3
"""CPU time per request of two or more gateways side by side with nginx, for A/B runs of
small changes: every target in each round, rounds interleaved, so the machine's drift hits
them all alike.

    python3 bench/ab.py GATEWAY [GATEWAY…]   (env: ROUNDS=15 SECS=2 URLPATH=/items/7 WORKERS=1
                                               BODY_FILE=order.json to POST it as JSON,
                                               GATEWAY_ARGS='--function f=PATH' added to
                                               each gateway's command line)

Each GATEWAY is a gateway of specs/bench/proxy.yaml (`specgate build`), or of another spec
with the same `backend` stage variable (specs/bench/lambda.yaml with GATEWAY_ARGS naming its
function: the gateway's own CPU is counted, not its function processes'). Each runs on WORKERS
workers against one nginx backend, as nginx itself does proxying to it (keep-alive upstream),
loaded by `wrk -t1 -c32`. Prints user and total (user + system) CPU µs per request: median,
minimum and first quartile over the rounds (on a shared machine the noise only adds, so the
low quantiles say most about cost). Needs nginx and wrk."""
import os, statistics, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import (Procs, cpu_split, family, free_port, gateway_command,  # noqa: E402
                 post_script, stop, wait_port, wrk)


def main():
    gateways = sys.argv[1:]
    if not gateways:
        sys.exit(__doc__)
    rounds = int(os.environ.get("ROUNDS", "15"))
    secs = int(os.environ.get("SECS", "2"))
    path = os.environ.get("URLPATH", "/items/7")
    workers = os.environ.get("WORKERS", "1")
    work = tempfile.mkdtemp(prefix="specgate-ab-")
    procs = Procs()
    start = procs.start
    script = None
    if os.environ.get("BODY_FILE"):
        with open(os.environ["BODY_FILE"]) as f:
            script = post_script(f"{work}/post.lua", f.read())

    try:
        be, ngx, n = procs.reference(work, workers)
        targets = [("nginx", ngx, family(n.pid))]
        for i, g in enumerate(gateways):
            port = free_port()
            os.makedirs(f"{work}/state{i}")
            p = start(gateway_command(g, workers, port, be, f"{work}/state{i}",
                                      os.environ.get("GATEWAY_ARGS", "").split()))
            wait_port(port)
            targets.append((g, port, [p.pid]))
        tick = 1e6 / os.sysconf("SC_CLK_TCK")
        results = {name: [] for name, _, _ in targets}
        for _ in range(rounds):
            for name, port, pids in targets:
                url = f"http://127.0.0.1:{port}{path}"
                wrk(url, 1, 32, [], script)  # warm-up
                u0, s0 = cpu_split(pids)
                out = wrk(url, secs, 32, [], script)
                u1, s1 = cpu_split(pids)
                if out["non2xx"]:
                    sys.exit(f"{name}: {out['non2xx']} answers were not 2xx")
                n_req = out["requests"]
                results[name].append(((u1 - u0) * tick / n_req, (u1 - u0 + s1 - s0) * tick / n_req))
        print(f"{rounds} rounds of {secs} s, µs of CPU per request: median / min / first quartile")
        for name, v in results.items():
            us = sorted(x[0] for x in v)
            ts = sorted(x[1] for x in v)
            q = len(v) // 4
            print(f"{name:32} user {statistics.median(us):5.2f} / {us[0]:5.2f} / {us[q]:5.2f}"
                  f"   total {statistics.median(ts):6.2f} / {ts[0]:6.2f} / {ts[q]:6.2f}")
    finally:
        stop(procs, work)


if __name__ == "__main__":
    main()
