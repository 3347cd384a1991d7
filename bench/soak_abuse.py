#!/usr/bin/env python3
"""A bounded abusive client on one listener, for bench/soak.sh.

  soak_abuse.py --tcp 127.0.0.1:80 --proto http --duration 3600 \\
      --idle 40 --slow 40 --flood 150 --flood-rate 100 --junk-rate 2 \\
      --max-conns 250 > abuse.json

Four behaviours run together until --duration ends, then every connection
is closed and a JSON summary is printed (per behaviour: connections opened,
closed by the server, refused or failed, bytes the server sent back):

  idle   --idle connections that send nothing; one the server closes is
         opened again a second later
  slow   --slow connections that send a request one byte every
         --slow-interval seconds (slow headers for HTTP, a frame for SPOP, a
         command line for the stats socket and HAProxy's runtime API), then
         wait for the answer; one closed is opened again a second later
  flood  every --flood-period seconds, --flood connections opened at
         --flood-rate per second, held --flood-hold seconds, then closed,
         half of them with a reset
  junk   --junk-rate connections per second each sending malformed input
         (--proto decides what), reading the answer for a second at most

Bounds: at most --max-conns connections of this process are open at once
(every behaviour waits for a slot), every rate is fixed, and the process
ends by itself after --duration (plus 5 s to close). --tls runs a TLS
handshake (no verification) before the slow and junk behaviours' bytes.
--tcp ADDR:PORT or --unix PATH names the listener; only loopback or the
soak's own Docker networks are ever given.
"""
import argparse
import asyncio
import json
import os
import socket
import ssl
import struct
import sys
import time


def spop_frame(ftype, payload):
    # SPOP frame: 4-byte length, then type, 4 bytes of flags, stream and
    # frame ids as varints (0 here), then the payload.
    body = bytes([ftype]) + struct.pack(">I", 1) + b"\x00\x00" + payload
    return struct.pack(">I", len(body)) + body


def payloads(proto):
    """(slow request, list of junk inputs) for a protocol."""
    if proto == "http":
        slow = (b"GET /slow HTTP/1.1\r\nHost: slow.soak.test\r\n" +
                b"".join(b"X-Slow-%d: %s\r\n" % (i, b"a" * 16) for i in range(40)) + b"\r\n")
        junk = [
            b"\x00\xff\xfe garbage \x01\x02\r\n\r\n",
            b"GET /" + b"A" * 20000 + b" HTTP/1.1\r\nHost: junk.soak.test\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: junk.soak.test\r\n" + b"X-Junk: b\r\n" * 300 + b"\r\n",
            b"POST / HTTP/1.1\r\nHost: junk.soak.test\r\nContent-Length: 99999999\r\n\r\nshort",
            b"GET / HTTP/9.9\r\nHost:\r\nTransfer-Encoding: chunked, identity\r\n\r\nzz\r\n",
        ]
    elif proto == "spop":
        slow = spop_frame(1, b"\x12supported-versions" + b"\x08\x032.0" +
                          b"\x0emax-frame-size" + b"\x03\xfc\xf0\x06" + b"\x0ccapabilities" + b"\x08\x00")
        junk = [
            os.urandom(64),
            struct.pack(">I", 0x7FFFFFFF) + b"\x01" * 32,
            struct.pack(">I", 0),
            spop_frame(99, b"\x00" * 16),
            spop_frame(3, b"\x05route" + b"\x01" + b"\x04host" + b"\x08\x05x.y.z"),
            spop_frame(1, b"\xff" * 40),
        ]
    else:  # a line protocol: the agent's stats socket, HAProxy's runtime API
        slow = b"show info\n"
        junk = [
            b"nonsense command here\n",
            b"show " + b"A" * 70000 + b"\n",
            b"\x00\x01\x02\xff\xfe\n\n\n",
            b"show\tinfo\t\t\x7f\n",
        ]
    return slow, junk


class Abuser:
    def __init__(self, args):
        self.a = args
        self.deadline = time.monotonic() + args.duration
        self.slots = asyncio.Semaphore(args.max_conns)
        self.writers = set()
        self.stats = {k: {"opened": 0, "closed_by_server": 0, "failed": 0, "bytes_back": 0}
                      for k in ("idle", "slow", "flood", "junk")}
        self.slow_req, self.junk = payloads(args.proto)
        self.tls = None
        if args.tls:
            self.tls = ssl.create_default_context()
            self.tls.check_hostname = False
            self.tls.verify_mode = ssl.CERT_NONE

    def left(self):
        return self.deadline - time.monotonic()

    async def open(self, kind, tls=False):
        """A connection, or None (counted as failed)."""
        try:
            if self.a.unix:
                r, w = await asyncio.wait_for(asyncio.open_unix_connection(self.a.unix), 5)
            else:
                host, port = self.a.tcp.rsplit(":", 1)
                r, w = await asyncio.wait_for(asyncio.open_connection(
                    host, int(port), ssl=self.tls if tls else None,
                    server_hostname="abuse.soak.test" if tls else None), 5)
        except (OSError, asyncio.TimeoutError, ssl.SSLError):
            self.stats[kind]["failed"] += 1
            return None
        self.stats[kind]["opened"] += 1
        self.writers.add(w)
        return r, w

    def close(self, w, reset=False):
        self.writers.discard(w)
        try:
            if reset:
                sock = w.get_extra_info("socket")
                if sock is not None and sock.family != socket.AF_UNIX:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            w.close()
        except (OSError, RuntimeError):
            pass

    async def drain_until_closed(self, kind, r, limit):
        """Reads what the server sends until it closes or <limit> seconds pass;
        True when the server closed."""
        end = time.monotonic() + limit
        while True:
            wait = min(end - time.monotonic(), self.left())
            if wait <= 0:
                return False
            try:
                data = await asyncio.wait_for(r.read(65536), wait)
            except asyncio.TimeoutError:
                return False
            except (OSError, ssl.SSLError):
                data = b""
            if not data:
                self.stats[kind]["closed_by_server"] += 1
                return True
            self.stats[kind]["bytes_back"] += len(data)

    async def idle_one(self):
        while self.left() > 1:
            async with self.slots:
                c = await self.open("idle")
                if c:
                    await self.drain_until_closed("idle", c[0], self.left())
                    self.close(c[1])
            await asyncio.sleep(1)

    async def slow_one(self):
        while self.left() > 1:
            async with self.slots:
                c = await self.open("slow", tls=self.tls is not None)
                if c:
                    r, w = c
                    closed = False
                    for i in range(len(self.slow_req)):
                        if self.left() <= 0:
                            break
                        try:
                            w.write(self.slow_req[i:i + 1])
                            await w.drain()
                        except (OSError, ssl.SSLError):
                            self.stats["slow"]["closed_by_server"] += 1
                            closed = True
                            break
                        if await self.drain_until_closed("slow", r, self.a.slow_interval):
                            closed = True
                            break
                    if not closed:
                        await self.drain_until_closed("slow", r, min(30, max(self.left(), 0)))
                    self.close(w)
            await asyncio.sleep(1)

    async def flood(self):
        while self.left() > self.a.flood_period:
            start = time.monotonic()
            held = []
            for i in range(self.a.flood):
                await self.slots.acquire()
                c = await self.open("flood")
                if c:
                    held.append(c[1])
                else:
                    self.slots.release()
                await asyncio.sleep(1.0 / self.a.flood_rate)
            await asyncio.sleep(self.a.flood_hold)
            for i, w in enumerate(held):
                self.close(w, reset=i % 2 == 1)
                self.slots.release()
            await asyncio.sleep(max(0.0, self.a.flood_period - (time.monotonic() - start)))

    async def junk_one(self, data):
        async with self.slots:
            c = await self.open("junk", tls=self.tls is not None)
            if not c:
                return
            r, w = c
            try:
                w.write(data)
                await w.drain()
            except (OSError, ssl.SSLError):
                pass
            await self.drain_until_closed("junk", r, 1.0)
            self.close(w, reset=True)

    async def junk_loop(self):
        i = 0
        running = set()
        while self.left() > 2:
            t = asyncio.ensure_future(self.junk_one(self.junk[i % len(self.junk)]))
            running.add(t)
            t.add_done_callback(running.discard)
            i += 1
            await asyncio.sleep(1.0 / self.a.junk_rate)
        if running:
            await asyncio.wait(running, timeout=5)

    async def run(self):
        jobs = [self.idle_one() for _ in range(self.a.idle)]
        jobs += [self.slow_one() for _ in range(self.a.slow)]
        if self.a.flood > 0:
            jobs.append(self.flood())
        if self.a.junk_rate > 0:
            jobs.append(self.junk_loop())
        tasks = [asyncio.ensure_future(j) for j in jobs]
        await asyncio.wait(tasks, timeout=self.a.duration + 5)
        for t in tasks:
            t.cancel()
        for w in list(self.writers):
            self.close(w)
        await asyncio.sleep(0.2)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--tcp", help="ADDR:PORT")
    g.add_argument("--unix", help="path of a unix socket")
    p.add_argument("--proto", choices=("http", "spop", "line"), required=True)
    p.add_argument("--tls", action="store_true")
    p.add_argument("--duration", type=float, required=True)
    p.add_argument("--idle", type=int, default=0)
    p.add_argument("--slow", type=int, default=0)
    p.add_argument("--slow-interval", type=float, default=1.0)
    p.add_argument("--flood", type=int, default=0)
    p.add_argument("--flood-rate", type=float, default=100.0)
    p.add_argument("--flood-period", type=float, default=20.0)
    p.add_argument("--flood-hold", type=float, default=3.0)
    p.add_argument("--junk-rate", type=float, default=0.0)
    p.add_argument("--max-conns", type=int, required=True)
    a = p.parse_args()
    if not (0 < a.duration <= 86400 and 0 < a.max_conns <= 1000 and a.idle + a.slow <= a.max_conns
            and 0 <= a.flood <= 1000 and 0 < a.flood_rate <= 1000 and 0 <= a.junk_rate <= 100
            and a.flood_period > 0 and a.slow_interval > 0):
        sys.exit("bounds: duration <= 1 day, max-conns <= 1000 and >= idle + slow, "
                 "flood <= 1000, flood-rate <= 1000/s, junk-rate <= 100/s")
    ab = Abuser(a)
    t0 = time.time()
    asyncio.run(ab.run())
    print(json.dumps({"target": a.unix or a.tcp, "proto": a.proto, "tls": a.tls,
                      "seconds": round(time.time() - t0, 1), "behaviours": ab.stats}, sort_keys=True))


if __name__ == "__main__":
    main()
