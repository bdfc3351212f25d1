#!/usr/bin/env python3
"""The Lambda benchmark (see bench/lambda.sh): added latency and CPU per request of a Lambda
proxy call to a local function, against the same handler over plain HTTP.

Scenarios, interleaved round by round:
  direct        wrk → the handler's own HTTP server
  http_proxy    wrk → specgate (http_proxy) → the handler's HTTP server
  aws_proxy     wrk → specgate (aws_proxy) → Runtime API → the handler as a Lambda function
CPU µs/req counts every process involved (gateway, its function processes, the handler's
server), from /proc, over the requests served; it is also split into the gateway's own user
and system time and the rest (the function processes, or the handler's server).
"""
import argparse, json, os, statistics, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import ROOT, TICK, Procs, cpu_split, free_port, stop, wait_port, wrk  # noqa: E402


def descendants(pid):
    """A process and everything below it (the gateway's function processes)."""
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(d))
            except OSError:
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--function-concurrency", type=int, default=2,
                    help="local function processes (default: one per core of this machine)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="specgate-lambda-bench-")
    procs = Procs()
    start = procs.start

    try:
        be, sg = free_port(), free_port()
        echo = os.environ["RUST_ECHO"]
        server = start([echo], env={**os.environ, "ECHO_HTTP": f"127.0.0.1:{be}"})
        gw_exe = f"{work}/gateway"
        # Built as one ships it, like bench/run.sh's gateway (whole-program LTO).
        subprocess.run([os.environ["SPECGATE"], "build", "--optimize", os.path.join(ROOT, "specs/bench/lambda.yaml"),
                        "-o", gw_exe], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        gateway = start([gw_exe, "--listen", f"127.0.0.1:{sg}", "--quiet", "--account-rate-limit", "0",
                         "--stage-var", f"backend=127.0.0.1:{be}",
                         "--function", f"rust-echo={echo}",
                         "--function-concurrency", str(args.function_concurrency)])
        for port in (be, sg):
            wait_port(port)
        # (name, url, the gateway's own processes, the others involved)
        scenarios = [
            ("direct", f"http://127.0.0.1:{be}/items/1", lambda: [], lambda: [server.pid]),
            ("http_proxy", f"http://127.0.0.1:{sg}/http/items/1", lambda: [gateway.pid],
             lambda: [server.pid]),
            ("aws_proxy", f"http://127.0.0.1:{sg}/lambda/items/1", lambda: [gateway.pid],
             lambda: [p for p in descendants(gateway.pid) if p != gateway.pid]),
        ]
        for name, url, *_ in scenarios:
            wrk(url, 2, args.connections, [])  # warm-up: pools, function processes
        runs = {name: [] for name, *_ in scenarios}
        for r in range(args.rounds):
            for name, url, own, others in scenarios:
                gw_pids, other_pids = own(), others()
                g0, o0 = cpu_split(gw_pids), cpu_split(other_pids)
                res = wrk(url, args.seconds, args.connections, [])
                g1, o1 = cpu_split(gw_pids), cpu_split(other_pids)
                per = lambda ticks: ticks / TICK * 1e6 / max(res["requests"], 1)  # noqa: E731
                res["gateway_user_us"] = per(g1[0] - g0[0])
                res["gateway_sys_us"] = per(g1[1] - g0[1])
                res["others_us"] = per(sum(o1) - sum(o0))
                res["cpu_us_per_req"] = res["gateway_user_us"] + res["gateway_sys_us"] + res["others_us"]
                runs[name].append(res)
                print(f"round {r + 1} {name:12} {res['rps']:>10.0f} req/s  "
                      f"{res['cpu_us_per_req']:6.1f} µs/req  non-2xx {res['non2xx']}", file=sys.stderr)
        med = lambda name, k: statistics.median(x[k] for x in runs[name])
        rows = [{"scenario": n, "rps": med(n, "rps"), "p50_ms": med(n, "p50_ms"), "p99_ms": med(n, "p99_ms"),
                 "cpu_us_per_req": med(n, "cpu_us_per_req"), "gateway_user_us": med(n, "gateway_user_us"),
                 "gateway_sys_us": med(n, "gateway_sys_us"), "others_us": med(n, "others_us"),
                 "non2xx": sum(x["non2xx"] for x in runs[n])}
                for n, *_ in scenarios]
        base = {x["scenario"]: x for x in rows}
        md = ["| scenario | req/s | p50 ms | p99 ms | CPU µs/req | gateway user µs | gateway sys µs | "
              "function or backend µs | added p50 ms vs direct | CPU × http_proxy | non-2xx |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
        for x in rows:
            md.append(f"| {x['scenario']} | {x['rps']:.0f} | {x['p50_ms']:.3f} | {x['p99_ms']:.3f} | "
                      f"{x['cpu_us_per_req']:.1f} | {x['gateway_user_us']:.1f} | {x['gateway_sys_us']:.1f} | "
                      f"{x['others_us']:.1f} | {x['p50_ms'] - base['direct']['p50_ms']:.3f} | "
                      f"{x['cpu_us_per_req'] / base['http_proxy']['cpu_us_per_req']:.2f} | {x['non2xx']} |")
        table = "\n".join(md)
        print(table)
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "lambda.md"), "w") as f:
            f.write(table + "\n")
        with open(os.path.join(args.out, "lambda.json"), "w") as f:
            json.dump({"seconds": args.seconds, "rounds": args.rounds, "connections": args.connections,
                       "function_concurrency": args.function_concurrency,
                       "scenarios": rows}, f, indent=2)
    finally:
        stop(procs, work)


if __name__ == "__main__":
    main()
