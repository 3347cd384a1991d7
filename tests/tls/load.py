#!/usr/bin/env python3
"""Bounded request load against HAProxy on 127.0.0.1, for the swarm tests
and the disruption measurements: <concurrency> clients, each making one
request per new connection (so that every request sees the certificate
served at that moment) until <duration> seconds have passed or <stop-file>
appears. Prints one JSON object: requests, failures (with the first few
reasons), and when each certificate (by SHA-256 of its DER) was first and
last seen, and the first and last failure, in seconds from the start.

  load.py --port 443 --host shop.test --tls --duration 60 [--cafile ca.pem]
"""
import argparse
import hashlib
import http.client
import json
import os
import ssl
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import tlstest as t  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", required=True)
    ap.add_argument("--path", default="/")
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--cafile")
    ap.add_argument("--expect", help="text the body must contain")
    ap.add_argument("--duration", type=float, default=30)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--stop-file")
    ap.add_argument("--timeout", type=float, default=5)
    a = ap.parse_args()
    if not 0 < a.duration <= 3600 or not 0 < a.concurrency <= 64:
        ap.error("duration 0-3600 s, concurrency 1-64")

    start = time.monotonic()
    deadline = start + a.duration
    lock = threading.Lock()
    out = {"requests": 0, "failures": 0, "errors": [], "certs": {}}

    def record(ok, why=None, der=None):
        now = round(time.monotonic() - start, 3)
        with lock:
            out["requests"] += 1
            if not ok:
                out["failures"] += 1
                out.setdefault("first_failure", now)
                out["last_failure"] = now
                if len(out["errors"]) < 10:
                    out["errors"].append("%.3fs %s" % (now, why))
            if der:
                fp = hashlib.sha256(der).hexdigest()[:16]
                c = out["certs"].setdefault(fp, {"first": now, "last": now, "count": 0})
                c["last"] = now
                c["count"] += 1

    def one():
        der = None
        try:
            if a.tls:
                st, _, body, der = t.https_request(a.port, a.host, a.path, cafile=a.cafile,
                                                   timeout=a.timeout)
            else:
                c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=a.timeout)
                c.request("GET", a.path, headers={"Host": a.host, "Connection": "close"})
                r = c.getresponse()
                st, body = r.status, r.read().decode(errors="replace")
                c.close()
        except (OSError, ssl.SSLError, http.client.HTTPException) as e:
            record(False, repr(e))
            return
        if st != 200 or (a.expect and a.expect not in body):
            record(False, "%d %s" % (st, body.strip()[:100]), der)
        else:
            record(True, der=der)

    def client():
        while time.monotonic() < deadline:
            if a.stop_file and os.path.exists(a.stop_file):
                return
            one()

    threads = [threading.Thread(target=client) for _ in range(a.concurrency)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=a.duration + 60)
    out["seconds"] = round(time.monotonic() - start, 3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
