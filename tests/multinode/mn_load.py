#!/usr/bin/env python3
"""Bounded HTTP load through one node's HAProxy, and what the answers say.

  mn_load.py run --host web.mn.test --rate 100 --duration 20 --out load.jsonl
      GET http://127.0.0.1:80/ with that Host header, at a fixed rate for a
      fixed time (run it in a node's network namespace: 127.0.0.1 is that
      node's HAProxy). Keep-alive connections, reused while idle, as a
      browser or an upstream proxy would; a new connection when none is
      idle. Every request is bounded by --timeout; the run stops by itself
      after --duration plus --timeout, or sooner on SIGTERM (no new
      request, those in flight finish). One JSON line per request:
      {"t": start (epoch s), "dt": seconds, "status": 200, "name": task
      name from the echo backend, "kind": "ok" or the failure's kind}.

      --tls: HTTPS (port 443 unless --port; SNI is --host; the certificate
      is not verified). --new-conn F: that fraction of the requests, spread
      evenly, goes on a fresh connection with "Connection: close" (a client
      that does not keep connections alive). --stream: each record is
      written as it completes and none is kept in memory (long runs); the
      summary is then read back from --out.

  mn_load.py summary load-1.jsonl load-2.jsonl ... [--from T] [--to T]
      Counts per kind and per answering task (with the start of the first
      and the last request each task answered), as JSON, for the requests
      that started within [T, T) (epoch seconds).

  mn_load.py bursts load-1.jsonl ... [--gap S] [--from T] [--to T]
      The failed requests grouped into bursts: two failures whose starts
      are less than --gap seconds (1.0) apart are of one burst. A JSON list
      of {"first": start of its first failure, "last": of its last,
      "failed": count, "kinds": per kind}, in time order.

Failure kinds:
  agent        503 "routing agent unavailable" / "routing error": no agent
               answered HAProxy (what an agent failover must never cause)
  no_task      503 from the agent: a route, but no task ready
  not_found    404 from the agent: no route for the host
  proxy_<code> any other status from HAProxy (502/503/504: the task's address
               could not be reached)
  timeout      no answer within --timeout
  conn         connection refused or reset before an answer (HAProxy gone)
"""
import argparse
import asyncio
import json
import signal
import ssl
import sys
import time


def classify(status, body):
    if status == 200:
        return "ok"
    if status == 503 and (body.startswith(b"routing agent unavailable") or body.startswith(b"routing error")):
        return "agent"
    if status == 503 and not body.startswith(b"<html>"):
        return "no_task"
    if status == 404 and not body.startswith(b"<html>"):
        return "not_found"
    return "proxy_%d" % status


class Conn:
    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer

    def close(self):
        try:
            self.writer.close()
        except Exception:
            pass


async def read_response(reader):
    """Returns (status, headers dict, body, keep_alive) of one HTTP/1.1 response."""
    line = await reader.readline()
    if not line:
        raise ConnectionResetError("connection closed before the status line")
    parts = line.split(None, 2)
    status = int(parts[1])
    headers = {}
    while True:
        h = await reader.readline()
        if h in (b"\r\n", b"\n"):
            break
        if not h:
            raise ConnectionResetError("connection closed in the headers")
        k, _, v = h.partition(b":")
        headers[k.strip().lower()] = v.strip()
    if b"content-length" in headers:
        body = await reader.readexactly(int(headers[b"content-length"]))
    elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        body = b""
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    else:
        body = await reader.read()
    keep = headers.get(b"connection", b"").lower() != b"close" and parts[0] == b"HTTP/1.1"
    return status, headers, body, keep


async def run(args):
    idle = []
    records = []
    out = open(args.out, "w") if args.stream else None
    request = ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: mn-load\r\n\r\n" % (args.path, args.host)).encode()
    request_close = request[:-2] + b"Connection: close\r\n\r\n"
    tls = None
    if args.tls:
        tls = ssl.create_default_context()
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE
    total = int(args.rate * args.duration)
    start = time.time() + 0.05
    pending = set()
    started = 0
    done = 0

    async def one(i):
        nonlocal done
        t = time.time()
        rec = {"t": round(t, 4), "dt": 0.0, "status": 0, "name": "", "kind": ""}
        conn = None
        # every 1/F-th request on a connection of its own, closed after it
        fresh = args.new_conn > 0 and int((i + 1) * args.new_conn) != int(i * args.new_conn)
        while idle and conn is None and not fresh:
            conn, since = idle.pop()
            # Never reuse a connection idle for longer than HAProxy keeps
            # it open (timeout http-keep-alive 30s), or already closed.
            if conn.reader.at_eof() or t - since > args.max_idle:
                conn.close()
                conn = None
        try:
            async def exchange(conn):
                if conn is None:
                    r, w = await asyncio.open_connection(args.addr, args.port, ssl=tls,
                                                         server_hostname=args.host if tls else None)
                    conn = Conn(r, w)
                conn.writer.write(request_close if fresh else request)
                await conn.writer.drain()
                return conn, await read_response(conn.reader)
            conn, (status, _, body, keep) = await asyncio.wait_for(exchange(conn), args.timeout)
            rec["status"] = status
            rec["kind"] = classify(status, body)
            if status == 200 and body.startswith(b"name="):
                rec["name"] = body.split(b" ", 1)[0][5:].decode(errors="replace")
            elif status != 200:
                rec["body"] = body[:120].decode(errors="replace")
            if keep and not fresh:
                idle.append((conn, time.time()))
            else:
                conn.close()
        except asyncio.TimeoutError:
            rec["kind"] = "timeout"
            if conn:
                conn.close()
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError, ssl.SSLError) as e:
            rec["kind"] = "conn"
            rec["body"] = str(e)[:120]
            if conn:
                conn.close()
        rec["dt"] = round(time.time() - t, 4)
        done += 1
        if out:
            out.write(json.dumps(rec, separators=(",", ":")) + "\n")
        else:
            records.append(rec)
        if done == 1:
            # the load is under way: <out>.started tells the test
            open(args.out + ".started", "w").close()

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    for i in range(total):
        delay = start + i / args.rate - time.time()
        if delay > 0:
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except asyncio.TimeoutError:
                pass
        if stop.is_set():
            break
        task = asyncio.ensure_future(one(i))
        pending.add(task)
        task.add_done_callback(pending.discard)
        started += 1
    if pending:
        await asyncio.wait(pending, timeout=args.timeout + 5)
    for c, _ in idle:
        c.close()
    if out:
        out.close()
        s = summarize(read_records([args.out]))
    else:
        records.sort(key=lambda r: r["t"])
        with open(args.out, "w") as f:
            for r in records:
                f.write(json.dumps(r, separators=(",", ":")) + "\n")
        s = summarize(records)
    s["unfinished"] = started - done
    print(json.dumps(s, sort_keys=True))


def summarize(records):
    """<records>: any iterable, read once."""
    kinds, names, first_seen, last_seen = {}, {}, {}, {}
    n, failed, t_fail, dt, t_all = 0, 0, [], [], []
    for r in records:
        n += 1
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
        if r["name"]:
            names[r["name"]] = names.get(r["name"], 0) + 1
            first_seen[r["name"]] = min(first_seen.get(r["name"], r["t"]), r["t"])
            last_seen[r["name"]] = max(last_seen.get(r["name"], r["t"]), r["t"])
        if r["kind"] != "ok":
            failed += 1
            t_fail = [min(t_fail[0], r["t"]), max(t_fail[1], r["t"])] if t_fail else [r["t"], r["t"]]
        dt = [max(dt[0], r["dt"])] if dt else [r["dt"]]
        t_all = [min(t_all[0], r["t"]), max(t_all[1], r["t"])] if t_all else [r["t"], r["t"]]
    return {
        "requests": n,
        "ok": kinds.get("ok", 0),
        "failed": failed,
        "kinds": kinds,
        "names": names,
        "first_seen": first_seen,
        "last_seen": last_seen,
        "first_failure": t_fail[0] if t_fail else None,
        "last_failure": t_fail[1] if t_fail else None,
        "max_dt": dt[0] if dt else None,
        "first": t_all[0] if t_all else None,
        "last": t_all[1] if t_all else None,
    }


def read_records(paths, t_from=None, t_to=None):
    for path in paths:
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                if t_from is not None and r["t"] < t_from:
                    continue
                if t_to is not None and r["t"] >= t_to:
                    continue
                yield r


def bursts(records, gap):
    """<records>: any iterable; the bursts of its failures (see above)."""
    out = []
    for t, kind in sorted((r["t"], r["kind"]) for r in records if r["kind"] != "ok"):
        if not out or t - out[-1]["last"] >= gap:
            out.append({"first": t, "last": t, "failed": 0, "kinds": {}})
        b = out[-1]
        b["last"] = t
        b["failed"] += 1
        b["kinds"][kind] = b["kinds"].get(kind, 0) + 1
    return out


def summary(args):
    print(json.dumps(summarize(read_records(args.files, args.t_from, args.t_to)), sort_keys=True))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--host", required=True)
    r.add_argument("--path", default="/")
    r.add_argument("--addr", default="127.0.0.1")
    r.add_argument("--port", type=int)
    r.add_argument("--rate", type=float, default=100.0)
    r.add_argument("--duration", type=float, default=20.0)
    r.add_argument("--timeout", type=float, default=10.0)
    r.add_argument("--max-idle", type=float, default=20.0,
                   help="seconds an idle keep-alive connection may be reused after")
    r.add_argument("--tls", action="store_true", help="HTTPS (port 443 unless --port)")
    r.add_argument("--new-conn", type=float, default=0.0,
                   help="fraction of the requests sent on a fresh connection, then closed")
    r.add_argument("--stream", action="store_true",
                   help="write each record as it completes, keep none in memory")
    r.add_argument("--out", required=True)
    s = sub.add_parser("summary")
    s.add_argument("files", nargs="+")
    s.add_argument("--from", dest="t_from", type=float)
    s.add_argument("--to", dest="t_to", type=float)
    b = sub.add_parser("bursts")
    b.add_argument("files", nargs="+")
    b.add_argument("--gap", type=float, default=1.0)
    b.add_argument("--from", dest="t_from", type=float)
    b.add_argument("--to", dest="t_to", type=float)
    a = p.parse_args()
    if a.cmd == "bursts":
        print(json.dumps(bursts(read_records(a.files, a.t_from, a.t_to), a.gap), sort_keys=True))
    elif a.cmd == "run":
        if a.port is None:
            a.port = 443 if a.tls else 80
        if not 0 <= a.new_conn <= 1:
            sys.exit("--new-conn is a fraction, 0 to 1")
        if a.rate <= 0 or a.duration <= 0 or a.rate * a.duration > 1e6:
            sys.exit("rate and duration must be positive and bounded")
        asyncio.run(run(a))
    else:
        summary(a)


if __name__ == "__main__":
    main()
