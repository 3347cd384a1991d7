#!/usr/bin/env python3
"""Bounded, paced HTTP load for the rolling-update and scale-down runs of
bench/discovery_bench.sh: RATE requests per second for DURATION seconds to
HAProxy on 127.0.0.1, over keep-alive connections like browsers hold, then
a JSON summary: outcomes, failures with their time, and who answered.

  discovery_load.py --port P --host app.bench.test [--rate 200] [--duration 30]
                    [--at 5 --run 'docker service update ...'] [--out FILE]

--run starts that command (in the background) --at seconds into the load.
Exit status: 0, or 1 when a request failed (any answer but 200, or none).
"""
import argparse
import http.client
import json
import queue
import shlex
import subprocess
import sys
import threading
import time

WORKERS = 32


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", required=True)
    p.add_argument("--rate", type=float, default=200)
    p.add_argument("--duration", type=float, default=30)
    p.add_argument("--at", type=float, default=5)
    p.add_argument("--run")
    p.add_argument("--out")
    a = p.parse_args()

    total = int(a.rate * a.duration)
    slots = queue.Queue()
    results = []
    lock = threading.Lock()
    t0 = time.monotonic() + 0.2
    for i in range(total):
        slots.put(t0 + i / a.rate)

    def worker():
        conn = None
        while True:
            try:
                when = slots.get_nowait()
            except queue.Empty:
                break
            delay = when - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            start = time.monotonic()
            outcome, who = None, None
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=10)
                conn.request("GET", "/bench", headers={"Host": a.host})
                r = conn.getresponse()
                body = r.read().decode(errors="replace")
                outcome = str(r.status)
                if r.status == 200 and body.startswith("name="):
                    who = body.split()[0][5:]
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                outcome = type(e).__name__
                if conn is not None:
                    conn.close()
                conn = None
            with lock:
                results.append((start - t0, time.monotonic() - start, outcome, who))
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    cmd = None
    if a.run:
        while time.monotonic() < t0 + a.at:
            time.sleep(0.01)
        cmd = subprocess.Popen(shlex.split(a.run), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for t in threads:
        t.join(a.duration + 60)
    cmd_rc = cmd.wait(60) if cmd else None

    outcomes, who, failures = {}, {}, []
    lat = sorted(r[1] for r in results)
    for at, _, outcome, name in results:
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if name:
            who[name] = who.get(name, 0) + 1
        if outcome != "200":
            failures.append({"at_s": round(at, 3), "outcome": outcome})
    span = max((r[0] for r in results), default=0)
    summary = {
        "requests": len(results),
        "planned": total,
        "achieved_rate": round(len(results) / span, 1) if span else 0,
        "outcomes": outcomes,
        "failures": len(failures),
        "failure_times": failures[:50],
        "backends": len(who),
        "latency_ms": {"p50": round(lat[len(lat) // 2] * 1000, 1) if lat else 0,
                       "p99": round(lat[int(len(lat) * 0.99)] * 1000, 1) if lat else 0,
                       "max": round(lat[-1] * 1000, 1) if lat else 0},
        "command": a.run, "command_rc": cmd_rc,
    }
    print(json.dumps(summary, sort_keys=True))
    if a.out:
        with open(a.out, "a") as f:
            f.write(json.dumps(summary, sort_keys=True) + "\n")
    return 1 if failures or len(results) != total else 0


if __name__ == "__main__":
    sys.exit(main())
