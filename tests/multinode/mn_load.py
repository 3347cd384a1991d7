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

  mn_load.py summary load-1.jsonl load-2.jsonl ... [--from T] [--to T]
      Counts per kind and per answering task (with the start of the first
      and the last request each task answered), as JSON, for the requests
      that started within [T, T) (epoch seconds).

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
    request = ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: mn-load\r\n\r\n" % (args.path, args.host)).encode()
    total = int(args.rate * args.duration)
    start = time.time() + 0.05
    tasks = []

    async def one(i):
        t = time.time()
        rec = {"t": round(t, 4), "dt": 0.0, "status": 0, "name": "", "kind": ""}
        conn = None
        while idle and conn is None:
            conn, since = idle.pop()
            # Never reuse a connection idle for longer than HAProxy keeps
            # it open (timeout http-keep-alive 30s), or already closed.
            if conn.reader.at_eof() or t - since > args.max_idle:
                conn.close()
                conn = None
        try:
            async def exchange(conn):
                if conn is None:
                    r, w = await asyncio.open_connection(args.addr, args.port)
                    conn = Conn(r, w)
                conn.writer.write(request)
                await conn.writer.drain()
                return conn, await read_response(conn.reader)
            conn, (status, _, body, keep) = await asyncio.wait_for(exchange(conn), args.timeout)
            rec["status"] = status
            rec["kind"] = classify(status, body)
            if status == 200 and body.startswith(b"name="):
                rec["name"] = body.split(b" ", 1)[0][5:].decode(errors="replace")
            elif status != 200:
                rec["body"] = body[:120].decode(errors="replace")
            if keep:
                idle.append((conn, time.time()))
            else:
                conn.close()
        except asyncio.TimeoutError:
            rec["kind"] = "timeout"
            if conn:
                conn.close()
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError) as e:
            rec["kind"] = "conn"
            rec["body"] = str(e)[:120]
            if conn:
                conn.close()
        rec["dt"] = round(time.time() - t, 4)
        records.append(rec)
        if len(records) == 1:
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
        tasks.append(asyncio.ensure_future(one(i)))
    total = len(tasks)
    if tasks:
        await asyncio.wait(tasks, timeout=args.timeout + 5)
    for c, _ in idle:
        c.close()
    records.sort(key=lambda r: r["t"])
    with open(args.out, "w") as f:
        for r in records:
            f.write(json.dumps(r, separators=(",", ":")) + "\n")
    s = summarize(records)
    s["unfinished"] = total - len(records)
    print(json.dumps(s, sort_keys=True))


def summarize(records):
    kinds, names, first_seen, last_seen = {}, {}, {}, {}
    for r in records:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
        if r["name"]:
            names[r["name"]] = names.get(r["name"], 0) + 1
            first_seen[r["name"]] = min(first_seen.get(r["name"], r["t"]), r["t"])
            last_seen[r["name"]] = max(last_seen.get(r["name"], r["t"]), r["t"])
    failed = [r for r in records if r["kind"] != "ok"]
    return {
        "requests": len(records),
        "ok": kinds.get("ok", 0),
        "failed": len(failed),
        "kinds": kinds,
        "names": names,
        "first_seen": first_seen,
        "last_seen": last_seen,
        "first_failure": min((r["t"] for r in failed), default=None),
        "last_failure": max((r["t"] for r in failed), default=None),
        "max_dt": max((r["dt"] for r in records), default=None),
        "first": min((r["t"] for r in records), default=None),
        "last": max((r["t"] for r in records), default=None),
    }


def summary(args):
    records = []
    for path in args.files:
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                if args.t_from is not None and r["t"] < args.t_from:
                    continue
                if args.t_to is not None and r["t"] >= args.t_to:
                    continue
                records.append(r)
    print(json.dumps(summarize(records), sort_keys=True))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--host", required=True)
    r.add_argument("--path", default="/")
    r.add_argument("--addr", default="127.0.0.1")
    r.add_argument("--port", type=int, default=80)
    r.add_argument("--rate", type=float, default=100.0)
    r.add_argument("--duration", type=float, default=20.0)
    r.add_argument("--timeout", type=float, default=10.0)
    r.add_argument("--max-idle", type=float, default=20.0,
                   help="seconds an idle keep-alive connection may be reused after")
    r.add_argument("--out", required=True)
    s = sub.add_parser("summary")
    s.add_argument("files", nargs="+")
    s.add_argument("--from", dest="t_from", type=float)
    s.add_argument("--to", dest="t_to", type=float)
    a = p.parse_args()
    if a.cmd == "run":
        if a.rate <= 0 or a.duration <= 0 or a.rate * a.duration > 1e6:
            sys.exit("rate and duration must be positive and bounded")
        asyncio.run(run(a))
    else:
        summary(a)


if __name__ == "__main__":
    main()
