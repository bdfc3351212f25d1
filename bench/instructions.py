#!/usr/bin/env python3
"""Instructions per proxied request, counted by callgrind: a figure that repeats to within
0.1% from run to run whatever else the machine does (CPU time on a shared machine moves by
5% between rounds), for A/B comparisons of small changes.

    python3 bench/instructions.py GATEWAY [GATEWAY…] [--requests 3000] [--path /items/7] [--top 25]
        [--method POST --body-file order.json --header 'Content-Type: application/json']
        [--keep DIR] [--gateway-arg=--function --gateway-arg=rust-echo=PATH]

Each GATEWAY is a gateway of specs/bench/proxy.yaml, or of specs/bench/lambda.yaml with the
function given by --gateway-arg (`specgate build`; keep symbols for the
function table: CARGO_PROFILE_RELEASE_STRIP=false CARGO_PROFILE_RELEASE_DEBUG=line-tables-only).
It runs on one worker under `valgrind --tool=callgrind` against an nginx backend; after a
warm-up, the counters are zeroed, `--requests` keep-alive requests are sent one at a time,
and the counters are dumped. Prints user-space instructions per request, the functions
with the most instructions of their own, and allocator calls per request. Needs valgrind
and nginx. A GATEWAY named `nginx` measures bench/run.sh's nginx proxy row instead (one
process, proxying to the same backend): the reference the ratios are taken to."""
import argparse, collections, http.client, os, re, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import backend_command, free_port, proxy_command, stop, wait_port  # noqa: E402


def parse(path):
    """Self instructions by function, and calls into each function, from a callgrind file."""
    names, own, calls = {}, collections.Counter(), collections.Counter()
    fn = callee = None
    pending = False

    def name(s):
        m = re.match(r"\((\d+)\)(?: (.*))?", s)
        if not m:
            return s
        if m.group(2):
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1), s)

    with open(path) as f:
        for line in f:
            if line.startswith("fn="):
                fn = name(line[3:].rstrip("\n"))
            elif line.startswith("cfn="):
                callee = name(line[4:].rstrip("\n"))
            elif line.startswith("calls="):
                calls[callee] += int(line[6:].split()[0])
                pending = True
            elif line[:1].isdigit() or line[:1] in "+-*":
                parts = line.split()
                if pending:
                    pending = False  # the call's inclusive cost: not this function's own
                elif len(parts) > 1:
                    own[fn] += int(parts[1])
    return own, calls


def measure(gateway, args, work):
    be, gw = free_port(), free_port()
    procs = []
    procs.append(subprocess.Popen(backend_command(work, be, 1),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    out = f"{work}/callgrind.out"
    state = f"{work}/state-{gw}"
    os.makedirs(state)
    if gateway == "nginx":
        # The reference: bench/run.sh's nginx proxy row, one process (no master) so that
        # callgrind sees the worker that does the work.
        command = proxy_command(work, gw, be, 1) + ["-g", "master_process off;"]
    else:
        command = [gateway, "--workers", "1", "--listen", f"127.0.0.1:{gw}",
                   "--stage-var", f"backend=127.0.0.1:{be}", "--quiet", "--state-dir", state,
                   "--account-rate-limit", "0", *args.gateway_arg]
    procs.append(subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=no", *command],
        cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        wait_port(be)
        wait_port(gw, timeout=60)
        c = http.client.HTTPConnection("127.0.0.1", gw, timeout=60)

        body = open(args.body_file, "rb").read() if args.body_file else None
        headers = dict(h.split(": ", 1) for h in args.header)

        def one():
            c.request(args.method, args.path, body=body, headers=headers)
            r = c.getresponse()
            r.read()
            if r.status != 200:
                sys.exit(f"{gateway}: {args.path} answered {r.status}")

        for _ in range(300):
            one()
        subprocess.run(["callgrind_control", "-z"], check=True, capture_output=True)
        for _ in range(args.requests):
            one()
        subprocess.run(["callgrind_control", "--dump=requests"], check=True, capture_output=True)
        c.close()
        dumps = [p for p in os.listdir(work) if p.startswith("callgrind.out.")]
        deadline = time.time() + 30
        while not dumps and time.time() < deadline:
            time.sleep(0.2)
            dumps = [p for p in os.listdir(work) if p.startswith("callgrind.out.")]
        if not dumps:
            sys.exit("callgrind wrote no dump")
        dump = os.path.join(work, sorted(dumps)[0])
        result = parse(dump)
        if args.keep:
            os.makedirs(args.keep, exist_ok=True)
            name = os.path.basename(os.path.dirname(gateway)) or "gateway"
            os.replace(dump, os.path.join(args.keep, f"callgrind.{name}.out"))
        else:
            os.remove(dump)
        return result
    finally:
        stop(procs, "/nonexistent")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gateways", nargs="+")
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--path", default="/items/7")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--method", default="GET")
    ap.add_argument("--body-file")
    ap.add_argument("--header", action="append", default=[], help="'Name: value', repeatable")
    ap.add_argument("--gateway-arg", action="append", default=[],
                    help="an argument added to the gateway's command line, repeatable "
                    "(--gateway-arg=--function --gateway-arg=rust-echo=PATH for specs/bench/lambda.yaml)")
    ap.add_argument("--keep", help="directory to keep each callgrind dump in (for callgrind_annotate "
                    "--inclusive=yes), named after the gateway's directory")
    args = ap.parse_args()
    for tool in ("valgrind", "callgrind_control", "nginx"):
        if not subprocess.run(["which", tool], capture_output=True).stdout:
            sys.exit(f"{tool} is not installed")
    work = tempfile.mkdtemp(prefix="specgate-instructions-")
    n = args.requests
    totals = []
    try:
        for gateway in args.gateways:
            own, calls = measure(gateway if gateway == "nginx" else os.path.abspath(gateway), args, work)
            total = sum(own.values())
            totals.append((gateway, total / n))
            print(f"\n{gateway}: {total / n:,.0f} instructions per request ({n} requests to {args.path})")
            for fn, c in own.most_common(args.top):
                print(f"  {c / n:8,.0f} {100 * c / total:5.1f}%  {calls[fn] / n:6.2f} calls  {fn[:110]}")
            # Rust's allocations reach mimalloc (the gateway's allocator, `memory::Mimalloc`)
            # here: the plain functions for word alignment, the `_aligned` ones above it
            # (older gateways used only those); nginx allocates from its own pools, so there
            # is no such count for it.
            if gateway != "nginx":
                allocs = sum(calls[fn] for fn in ("mi_malloc", "mi_zalloc", "mi_malloc_aligned",
                                                  "mi_zalloc_aligned"))
                print(f"  allocations per request: {allocs / n:.2f}")
    finally:
        subprocess.run(["rm", "-rf", work])
    if len(totals) > 1:
        print()
        base = totals[0][1]
        for gateway, t in totals:
            print(f"{gateway}: {t:,.0f} ({t / base:.3f}× the first)")


if __name__ == "__main__":
    main()
