#!/usr/bin/env python3
"""Bounded request load through HAProxy on 127.0.0.1 for the swarm tests:
<rate> requests per second, each on a new connection, spread over a few
client threads, until <duration> seconds have passed or <stop-file>
appears. Every answer is checked (status 200 and, with --expect, a text
in the body). Prints one JSON object: requests, failures, the first
failure reasons, the time window the failures fall in and the longest run
of consecutive failures, in seconds from the start, so that a test can
tell one HAProxy restart from scattered errors; HTTP answers that failed
are counted by their first words.

  netload.py --port 28080 --host a.test --expect name=a_web --rate 100 --duration 20
"""
import argparse
import http.client
import json
import os
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", required=True)
    ap.add_argument("--path", default="/")
    ap.add_argument("--expect", help="text the body must contain")
    ap.add_argument("--rate", type=float, default=100, help="requests per second")
    ap.add_argument("--duration", type=float, default=20)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--timeout", type=float, default=3)
    ap.add_argument("--stop-file")
    a = ap.parse_args()
    if not 0 < a.duration <= 1800 or not 0 < a.rate <= 2000 or not 0 < a.threads <= 64:
        ap.error("duration 0-1800 s, rate 0-2000/s, threads 1-64")

    start = time.monotonic()
    deadline = start + a.duration
    lock = threading.Lock()
    results = []          # (t, ok, why), in completion order
    next_slot = [start]   # the schedule all threads draw from

    def one():
        t = time.monotonic() - start
        try:
            c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=a.timeout)
            c.request("GET", a.path, headers={"Host": a.host, "Connection": "close"})
            r = c.getresponse()
            st, body = r.status, r.read().decode(errors="replace")
            c.close()
        except (OSError, http.client.HTTPException) as e:
            return t, False, "%s" % (e.__class__.__name__ + ": " + str(e))[:120]
        if st != 200 or (a.expect and a.expect not in body):
            return t, False, "%d %s" % (st, body.strip()[:100])
        return t, True, None

    def client():
        while True:
            with lock:
                slot = next_slot[0]
                next_slot[0] += 1.0 / a.rate
            if slot >= deadline:
                return
            if a.stop_file and os.path.exists(a.stop_file):
                return
            wait = slot - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            res = one()
            with lock:
                results.append(res)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(a.threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=a.duration + a.timeout + 30)

    results.sort(key=lambda r: r[0])
    fails = [r for r in results if not r[1]]
    longest = run = 0
    run_start = longest_start = None
    for t, ok, _ in results:
        if ok:
            run = 0
            continue
        if run == 0:
            run_start = t
        run += 1
        if run > longest:
            longest, longest_start = run, run_start
    out = {
        "requests": len(results),
        "failures": len(fails),
        "seconds": round(time.monotonic() - start, 3),
        "rate": a.rate,
        "first_failure": round(fails[0][0], 3) if fails else None,
        "last_failure": round(fails[-1][0], 3) if fails else None,
        "longest_failure_run": longest,
        "longest_failure_run_start": round(longest_start, 3) if longest_start is not None else None,
        "errors": ["%.3fs %s" % (t, why) for t, _, why in fails[:5]],
        "last_errors": ["%.3fs %s" % (t, why) for t, _, why in fails[-5:]],
        "kinds": {},
        "answers": {},
    }
    for _, _, why in fails:
        kind = why.split(":")[0].split(" ")[0]
        out["kinds"][kind] = out["kinds"].get(kind, 0) + 1
        if kind.isdigit():
            # an HTTP answer: which one, by its first words
            what = " ".join(why.split()[:6])
            out["answers"][what] = out["answers"].get(what, 0) + 1
    print(json.dumps(out))


if __name__ == "__main__":
    main()
