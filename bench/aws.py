#!/usr/bin/env python3
"""Gateway CPU per request of an AWS-service integration (see bench/aws.sh).

Two routes of one gateway call the same DynamoDB GetItem on one moto server: `/ddb/{id}` as
an `aws` integration (credentials resolved, request signed with SigV4, the JSON protocol's
headers added), `/http/{id}` as an `http` integration with the same templates, unsigned. The
difference is what an AWS-service call costs the gateway over a plain HTTP call. Rounds are
interleaved; the table reports medians. moto is slow (Python), so throughput is moto's; the
gateway's own CPU per request is the figure that matters.
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import ROOT, TICK, cpu_ticks, free_port, stop, wait_port, wrk  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="specgate-aws-bench-")
    venv = os.environ["MOTO_VENV"]
    procs = []
    try:
        mp, gp = free_port(), free_port()
        moto = subprocess.Popen([f"{venv}/bin/moto_server", "-H", "127.0.0.1", "-p", str(mp)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(moto)
        wait_port(mp)
        url = f"http://127.0.0.1:{mp}"
        subprocess.run([f"{venv}/bin/python", "-c", f"""
import boto3
d = boto3.client('dynamodb', endpoint_url='{url}', region_name='us-east-1',
                 aws_access_key_id='testing', aws_secret_access_key='testing')
d.create_table(TableName='items', KeySchema=[{{'AttributeName': 'id', 'KeyType': 'HASH'}}],
               AttributeDefinitions=[{{'AttributeName': 'id', 'AttributeType': 'S'}}],
               BillingMode='PAY_PER_REQUEST')
d.put_item(TableName='items', Item={{'id': {{'S': '1'}}, 'name': {{'S': 'Rex'}}}})
"""], check=True)
        gw_exe = f"{work}/gateway"
        subprocess.run([os.environ["SPECGATE"], "build", os.path.join(ROOT, "specs/bench/aws.yaml"), "-o", gw_exe],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
        gw = subprocess.Popen([gw_exe, "--listen", f"127.0.0.1:{gp}", "--stage-var", f"moto=127.0.0.1:{mp}",
                               "--aws-endpoint-url", url, "--quiet", "--account-rate-limit", "0",
                               "--state-dir", f"{work}/state"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(gw)
        wait_port(gp)
        scenarios = [("http integration (unsigned)", f"http://127.0.0.1:{gp}/http/1"),
                     ("aws integration, DynamoDB GetItem (SigV4)", f"http://127.0.0.1:{gp}/ddb/1")]
        for _, u in scenarios:
            out = subprocess.run(["curl", "-s", u], capture_output=True, text=True).stdout
            if json.loads(out or "{}").get("name") != "Rex":
                sys.exit(f"{u} answered {out!r}")
            wrk(u, 1, args.connections, [])
        runs = {n: [] for n, _ in scenarios}
        for r in range(args.rounds):
            for name, u in scenarios:
                g0, m0 = cpu_ticks([gw.pid]), cpu_ticks([moto.pid])
                res = wrk(u, args.seconds, args.connections, [])
                n = max(res["requests"], 1)
                res["gateway_cpu_us_per_req"] = (cpu_ticks([gw.pid]) - g0) / TICK * 1e6 / n
                res["moto_cpu_us_per_req"] = (cpu_ticks([moto.pid]) - m0) / TICK * 1e6 / n
                runs[name].append(res)
                print(f"round {r + 1} {name:42} {res['rps']:>8.0f} req/s  "
                      f"gateway {res['gateway_cpu_us_per_req']:6.1f} µs/req", file=sys.stderr)
        med = lambda n, k: statistics.median(x[k] for x in runs[n])
        base = med(scenarios[0][0], "gateway_cpu_us_per_req")
        md = [f"Medians of {args.rounds} interleaved rounds of {args.seconds} s, wrk -t1 -c{args.connections}, "
              "both routes on one gateway against one moto server.", "",
              "| route | req/s | gateway CPU µs/req | × http route | moto CPU µs/req | non-2xx |",
              "| --- | ---: | ---: | ---: | ---: | ---: |"]
        rows = []
        for name, _ in scenarios:
            g = med(name, "gateway_cpu_us_per_req")
            rows.append({"route": name, "rps": med(name, "rps"), "gateway_cpu_us_per_req": g,
                         "moto_cpu_us_per_req": med(name, "moto_cpu_us_per_req"),
                         "non2xx": sum(x["non2xx"] for x in runs[name]), "runs": runs[name]})
            md.append(f"| {name} | {med(name, 'rps'):.0f} | {g:.1f} | {g / base:.2f} | "
                      f"{med(name, 'moto_cpu_us_per_req'):.0f} | {rows[-1]['non2xx']} |")
        text = "\n".join(md)
        print(text)
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "aws.md"), "w") as f:
            f.write(text + "\n")
        with open(os.path.join(args.out, "aws.json"), "w") as f:
            json.dump({"seconds": args.seconds, "rounds": args.rounds, "connections": args.connections,
                       "routes": rows}, f, indent=2)
    finally:
        stop(procs, work)


if __name__ == "__main__":
    main()
