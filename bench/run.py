#!/usr/bin/env python3
"""specgate side by side with nginx and haproxy, in one run (see bench/run.sh).

Every scenario proxies to the same tiny backend (nginx returning a small fixed JSON body).
Scenarios are interleaved round by round (A B C … A B C …) so that drift on a shared machine
hits all of them alike; the table reports medians over rounds and ratios to nginx.

Figures per scenario:
  req/s       closed-loop throughput (wrk -t1 -cN)
  p50/p99     latency from wrk --latency in the same closed-loop run
  CPU µs/req  utime+stime of the proxy's processes (from /proc) over the requests served:
              the figure that survives a noisy machine
  fixed-rate p50/p99  latency at a fixed offered rate (wrk paced with a Lua delay()), so
              that p99 is not just queueing behind a saturated client; medians over rounds
              interleaved like the others
"""
import argparse, json, os, re, shutil, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing listens on {port}")


def stop(procs, work):
    """Stops the benchmark's processes (SIGTERM to all, then up to 5 s each before SIGKILL)
    and removes its working directory."""
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
    subprocess.run(["rm", "-rf", work])


def cpu_split(pids):
    """(user, system) clock ticks of these processes."""
    user = system = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            user += int(fields[11])
            system += int(fields[12])
        except OSError:
            pass
    return user, system


def cpu_ticks(pids):
    return sum(cpu_split(pids))


def family(pid):
    """A process and its direct children (nginx master + workers)."""
    pids = [pid]
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                if ppid == pid:
                    pids.append(int(d))
            except OSError:
                pass
    return pids


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    return float(m.group(1)) * UNITS[m.group(2)] if m else float("nan")


ORDER = {
    "id": "ord_20261125a", "currency": "EUR", "created_at": "2026-11-25T10:00:00Z",
    "notes": None,
    "customer": {"id": 42, "email": "ada@example.com", "name": "Ada Lovelace",
                 "address": {"street": "1 Analytical Way", "city": "London", "country": "GB"}},
    "lines": [{"sku": f"SKU-{i:04}", "quantity": i + 1, "unit_price": 9.99 + i,
               "tags": ["gift", f"batch-{i}"]} for i in range(6)],
}


def post_script(path, body, delay_ms=None):
    """A wrk script that POSTs `body` as JSON (and paces requests when `delay_ms` is set)."""
    with open(path, "w") as f:
        f.write('wrk.method = "POST"\n')
        f.write(f"wrk.body = {lua_string(body)}\n")
        f.write('wrk.headers["Content-Type"] = "application/json"\n')
        if delay_ms is not None:
            f.write(f"function delay() return {delay_ms:.3f} end\n")
    return path


def lua_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def wrk(url, secs, conns, headers, script=None):
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{secs}s", "--latency"]
    for h in headers:
        cmd += ["-H", h]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    r = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
         "requests": int(re.search(r"(\d+) requests in", out).group(1)),
         # The distribution lines ("     50%  401.00us"), not "93.50%" in the stats table.
         "p50_ms": ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
         "p99_ms": ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))}
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    r["non2xx"] = int(bad.group(1)) if bad else 0
    return r


def backend_command(work, port, workers):
    """The benchmarks' backend: nginx answering every request with a small fixed JSON body."""
    with open(f"{work}/backend.conf", "w") as f:
        f.write(f"""daemon off; worker_processes {workers}; pid {work}/backend.pid; error_log {work}/backend.err;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 1000000;
  server {{ listen 127.0.0.1:{port};
    location / {{ default_type application/json; return 200 '{{"id": 1, "name": "Rex"}}'; }} }} }}
""")
    return ["nginx", "-c", f"{work}/backend.conf", "-p", work]


def proxy_command(work, port, backend_port, workers):
    """nginx as a reverse proxy to the backend with upstream keep-alive: the reference row."""
    with open(f"{work}/proxy.conf", "w") as f:
        f.write(f"""daemon off; worker_processes {workers}; pid {work}/proxy.pid; error_log {work}/proxy.err;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 1000000;
  upstream backend {{ server 127.0.0.1:{backend_port}; keepalive 128; }}
  server {{ listen 127.0.0.1:{port};
    location / {{ proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }} }} }}
""")
    return ["nginx", "-c", f"{work}/proxy.conf", "-p", work]


class Procs(list):
    """The processes a benchmark started, stopped together by `stop`."""

    def start(self, cmd, **kw):
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
        self.append(p)
        return p

    def reference(self, work, workers):
        """The nginx backend and nginx proxying to it, both up: (backend port, proxy port,
        the proxy's master process)."""
        be = free_port()
        self.start(backend_command(work, be, int(workers)))
        wait_port(be)
        ngx = free_port()
        n = self.start(proxy_command(work, ngx, be, int(workers)))
        wait_port(ngx)
        return be, ngx, n


def gateway_command(exe, workers, port, backend_port, state, extra=()):
    """A gateway of specs/bench/proxy.yaml (or another spec with its `backend` stage variable)
    serving on `port` with `workers` workers, measured without its access log or account
    throttle."""
    return [os.path.abspath(exe), "--workers", str(workers), "--listen", f"127.0.0.1:{port}",
            "--stage-var", f"backend=127.0.0.1:{backend_port}", "--quiet",
            "--state-dir", state, "--account-rate-limit", "0", *extra]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--rate", type=int, default=2000, help="offered req/s in the fixed-rate runs")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    ap.add_argument("--only", metavar="REGEX",
                    help="measure only the scenarios whose name matches (nginx, the reference, always); "
                         "the table is printed, bench/results is left as it is")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="specgate-bench-")
    procs = Procs()
    start = procs.start

    try:
        be, ngx, hap, sg = free_port(), free_port(), free_port(), free_port()
        # Backend: nginx, 2 workers.
        backend = start(backend_command(work, be, 2))
        # nginx as a reverse proxy with upstream keep-alive: 2 workers, one per core.
        nginx = start(proxy_command(work, ngx, be, 2))
        # haproxy, 2 threads, connection reuse.
        with open(f"{work}/haproxy.cfg", "w") as f:
            f.write(f"""global
  nbthread 2
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend fe
  bind 127.0.0.1:{hap}
  default_backend be
backend be
  server s1 127.0.0.1:{be}
""")
        haproxy = start(["haproxy", "-f", f"{work}/haproxy.cfg"])
        # specgate: build specs/bench/proxy.yaml.
        specgate = os.environ.get("SPECGATE") or os.path.join(
            os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "specgate")
        gw_exe = f"{work}/gateway"
        gw_default = f"{work}/gateway-default"
        spec = os.path.join(ROOT, "specs/bench/proxy.yaml")

        def build(spec_path, exe, *extra):
            t0 = time.time()
            subprocess.run([specgate, "build", spec_path, "-o", exe, *extra],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return time.time() - t0
        # The gateway measured: built as one ships it (`--optimize`, whole-program LTO; minutes
        # when the runtime changed, cached otherwise). The bare proxy is measured with the
        # default profile too (what `specgate run` and a plain `specgate build` make).
        build_s = build(spec, gw_exe, "--optimize")
        build_default_s = build(spec, gw_default)
        # Warm rebuild (default profile): the spec with one line edited (the mock's answer, so
        # the generated code changes; unique per run, so no earlier run's build is reused)
        # and a title of its own (its own crate, so the builds above stay cached).
        edited = f"{work}/proxy-edited.yaml"
        with open(spec) as f:
            text = f.read()
        with open(edited, "w") as f:
            edit = text.replace("""application/json: '{"status": "ok"}'""",
                                f"""application/json: '{{"status": "ok", "edited": {time.time_ns()}}}'""", 1)
            assert edit != text, "the line to edit is gone from specs/bench/proxy.yaml"
            f.write(edit.replace("title: Bench Proxy", "title: Bench Proxy Edited", 1))
        rebuild_s = build(edited, f"{work}/gateway-edited")
        # The floor: tokio forwarding bytes, two workers, nothing parsed (bench/floor).
        fl = free_port()
        floor = start([os.path.join(os.path.dirname(specgate), "specgate-bench-floor"),
                       f"127.0.0.1:{fl}", f"127.0.0.1:{be}", "2"])
        # The same floor on io_uring: one system call per turn of each worker's loop.
        flu = free_port()
        floor_uring = start([os.path.join(os.path.dirname(specgate), "specgate-bench-floor-uring"),
                             f"127.0.0.1:{flu}", f"127.0.0.1:{be}", "2"])
        # An API key for the key + throttle + quota scenario, in the gateway's state directory.
        state = f"{work}/state"
        key = "bench-key-0123456789abcdefghij"
        subprocess.run([gw_exe, "keys", "create", "--name", "bench", "--plan", "bench", "--value", key,
                        "--state-dir", state], check=True, stdout=subprocess.DEVNULL)
        gateway = start([gw_exe, "--listen", f"127.0.0.1:{sg}", "--stage-var", f"backend=127.0.0.1:{be}", "--quiet",
                         "--state-dir", state,
                         # Measure the data path, not the account throttle (10,000 rps by default).
                         "--account-rate-limit", "0"])
        # The same gateway built with the default profile.
        sgd = free_port()
        default_gw = start([gw_default, "--listen", f"127.0.0.1:{sgd}", "--stage-var", f"backend=127.0.0.1:{be}",
                            "--quiet", "--state-dir", f"{work}/state-default", "--account-rate-limit", "0"])
        # The same proxy with a JSON access log written to a file (metrics are always on).
        lg = free_port()
        logged = start([gw_exe, "--listen", f"127.0.0.1:{lg}", "--stage-var", f"backend=127.0.0.1:{be}",
                        "--log-format", "json", "--access-log-file", f"{work}/access.log",
                        "--state-dir", state, "--account-rate-limit", "0"])
        # The same checks with the state in Redis (one round trip per request), when
        # redis-server is installed: its CPU is counted with the gateway's.
        redis_gw = None
        if shutil.which("redis-server"):
            rp, sg2 = free_port(), free_port()
            redis = start(["redis-server", "--bind", "127.0.0.1", "--port", str(rp), "--save", "",
                           "--appendonly", "no"])
            wait_port(rp)
            url = f"redis://127.0.0.1:{rp}/0"
            subprocess.run([gw_exe, "keys", "create", "--name", "bench", "--plan", "bench", "--value", key,
                            "--state", url], check=True, stdout=subprocess.DEVNULL)
            redis_gw = start([gw_exe, "--listen", f"127.0.0.1:{sg2}", "--stage-var", f"backend=127.0.0.1:{be}",
                              "--quiet", "--state", url, "--account-rate-limit", "0"])
            wait_port(sg2)
        for port in (be, ngx, hap, sg, sgd, lg, fl, flu):
            wait_port(port)

        scenarios = [
            ("direct", f"http://127.0.0.1:{be}/items/1", [], lambda: family(backend.pid)),
            ("nginx", f"http://127.0.0.1:{ngx}/items/1", [], lambda: family(nginx.pid)),
            ("haproxy", f"http://127.0.0.1:{hap}/items/1", [], lambda: [haproxy.pid]),
            ("tokio floor (bytes forwarded)", f"http://127.0.0.1:{fl}/items/1", [], lambda: [floor.pid]),
            ("io_uring floor (bytes forwarded)", f"http://127.0.0.1:{flu}/items/1", [],
             lambda: [floor_uring.pid]),
            ("specgate http_proxy", f"http://127.0.0.1:{sg}/items/1", [], lambda: [gateway.pid]),
            ("specgate http_proxy (default profile)", f"http://127.0.0.1:{sgd}/items/1", [],
             lambda: [default_gw.pid]),
            ("specgate http_proxy + JSON access log", f"http://127.0.0.1:{lg}/items/1", [], lambda: [logged.pid]),
            ("specgate + parameter validation", f"http://127.0.0.1:{sg}/validated/items/1?fields=name",
             ["X-Client: bench"], lambda: [gateway.pid]),
            ("specgate + JSON body validation", f"http://127.0.0.1:{sg}/validated/orders", [],
             lambda: [gateway.pid]),
            ("specgate + API key, throttle, quota", f"http://127.0.0.1:{sg}/keyed/items/1",
             [f"x-api-key: {key}"], lambda: [gateway.pid]),
            ("specgate http + VTL response template", f"http://127.0.0.1:{sg}/mapped/items/1", [],
             lambda: [gateway.pid]),
            ("specgate cached route (hits)", f"http://127.0.0.1:{sg}/cached/items/1", [], lambda: [gateway.pid]),
            ("specgate mock", f"http://127.0.0.1:{sg}/health", [], lambda: [gateway.pid]),
        ]
        if redis_gw is not None:
            scenarios.insert(-1, ("specgate + API key, throttle, quota in Redis", f"http://127.0.0.1:{sg2}/keyed/items/1",
                                  [f"x-api-key: {key}"], lambda: [redis_gw.pid, redis.pid]))
        if args.only:
            scenarios = [x for x in scenarios if x[0] == "nginx" or re.search(args.only, x[0])]
        # The body-validation scenario POSTs an order (775 bytes of JSON).
        body = json.dumps(ORDER)
        scripts = {"specgate + JSON body validation": post_script(f"{work}/post.lua", body)}
        # Warm up every path (connection pools, page cache).
        for name, url, headers, _ in scenarios:
            wrk(url, 1, args.connections, headers, scripts.get(name))
        runs = {name: [] for name, *_ in scenarios}
        for r in range(args.rounds):
            for name, url, headers, pids in scenarios:
                ps = pids()
                u0, s0 = cpu_split(ps)
                res = wrk(url, args.seconds, args.connections, headers, scripts.get(name))
                u1, s1 = cpu_split(ps)
                n = max(res["requests"], 1)
                res["user_us_per_req"] = (u1 - u0) / TICK * 1e6 / n
                res["sys_us_per_req"] = (s1 - s0) / TICK * 1e6 / n
                res["cpu_us_per_req"] = res["user_us_per_req"] + res["sys_us_per_req"]
                runs[name].append(res)
                print(f"round {r + 1} {name:32} {res['rps']:>10.0f} req/s  {res['cpu_us_per_req']:6.1f} µs/req", file=sys.stderr)
        # Fixed offered rate: each connection waits conns/rate seconds between requests.
        pace = f"{work}/pace.lua"
        conns = 8
        with open(pace, "w") as f:
            f.write(f"function delay() return {conns * 1000.0 / args.rate:.3f} end\n")
        # In rounds, interleaved like the CPU runs, medians reported: one run's p99 is its
        # hundredth-worst of ~10,000 latencies and moved by 2x between runs of one binary.
        fixed_runs = {name: [] for name, *_ in scenarios}
        for _ in range(args.rounds):
            for name, url, headers, _ in scenarios:
                script = pace
                if name in scripts:
                    script = post_script(f"{work}/post-paced.lua", body, conns * 1000.0 / args.rate)
                fixed_runs[name].append(wrk(url, args.seconds, conns, headers, script=script))
        fixed = {name: {k: statistics.median(x[k] for x in v) for k in ("p50_ms", "p99_ms", "rps")}
                 for name, v in fixed_runs.items()}

        med = lambda name, k: statistics.median(x[k] for x in runs[name])
        rows = []
        for name, *_ in scenarios:
            rows.append({
                "scenario": name,
                "rps": med(name, "rps"),
                "p50_ms": med(name, "p50_ms"),
                "p99_ms": med(name, "p99_ms"),
                "cpu_us_per_req": med(name, "cpu_us_per_req"),
                "user_us_per_req": med(name, "user_us_per_req"),
                "sys_us_per_req": med(name, "sys_us_per_req"),
                "non2xx": sum(x["non2xx"] for x in runs[name]),
                "fixed_rate": fixed[name],
                "runs": runs[name],
            })
        base = next(x for x in rows if x["scenario"] == "nginx")
        for x in rows:
            x["rps_vs_nginx"] = x["rps"] / base["rps"]
            x["cpu_vs_nginx"] = x["cpu_us_per_req"] / base["cpu_us_per_req"]
            x["user_vs_nginx"] = x["user_us_per_req"] / max(base["user_us_per_req"], 1e-9)
            x["sys_vs_nginx"] = x["sys_us_per_req"] / max(base["sys_us_per_req"], 1e-9)
        md = [f"Medians of {args.rounds} interleaved rounds of {args.seconds} s, wrk -t1 -c{args.connections}; "
              f"fixed-rate columns at {args.rate} req/s offered over {conns} connections. "
              f"CPU is the proxy's own utime+stime per request (for `direct`, the backend's), also split into "
              f"user and system time.",
              "",
              "| scenario | req/s | × nginx | p50 ms | p99 ms | CPU µs/req | CPU × nginx | user µs/req | user × nginx | sys µs/req | sys × nginx | fixed-rate p50 ms | fixed-rate p99 ms | non-2xx |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for x in rows:
            md.append(f"| {x['scenario']} | {x['rps']:.0f} | {x['rps_vs_nginx']:.2f} | {x['p50_ms']:.2f} | {x['p99_ms']:.2f} | "
                      f"{x['cpu_us_per_req']:.1f} | {x['cpu_vs_nginx']:.2f} | {x['user_us_per_req']:.1f} | {x['user_vs_nginx']:.2f} | "
                      f"{x['sys_us_per_req']:.1f} | {x['sys_vs_nginx']:.2f} | {x['fixed_rate']['p50_ms']:.2f} | "
                      f"{x['fixed_rate']['p99_ms']:.2f} | {x['non2xx']} |")
        md.append("")
        md.append(f"specgate gateways of specs/bench/proxy.yaml built with `--optimize` (whole-program LTO) "
                  f"except the default-profile row. Builds: `--optimize` {build_s:.1f} s, default profile "
                  f"{build_default_s:.1f} s (warm caches unless the runtime changed); rebuild after a one-line "
                  f"edit of the spec (default profile): {rebuild_s:.1f} s.")
        text = "\n".join(md)
        print(text)
        if args.only:
            return
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "latest.md"), "w") as f:
            f.write(text + "\n")
        with open(os.path.join(args.out, "latest.json"), "w") as f:
            json.dump({"seconds": args.seconds, "rounds": args.rounds, "connections": args.connections,
                       "rate": args.rate, "build_seconds": build_s,
                       "build_default_seconds": build_default_s, "rebuild_seconds": rebuild_s, "scenarios": rows}, f, indent=2)
    finally:
        stop(procs, work)


if __name__ == "__main__":
    main()
