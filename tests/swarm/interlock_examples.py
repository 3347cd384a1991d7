#!/usr/bin/env python3
"""Checks for test_interlock_examples.sh that curl makes awkward: the
requests go to HAProxy on 127.0.0.1:<port> with the example's Host header,
and the task that answered is the echo backend's X-Echo-Name (its
container's host name, one per task).

  tasks     --count N              N distinct tasks answer (at most 20*N requests)
  sticky    --cookie NAME --tasks N --clients C --requests R
                                   the application sets its own cookie; with
                                   it a client stays on one task, new clients
                                   (and requests without it) spread
  canary    --match TEXT --share S --requests N
                                   the answers containing TEXT make a share
                                   within 4 standard deviations of S
  websocket --path P               an upgrade through HAProxy, a frame echoed

Every check is bounded in requests and time; it prints what it measured
and exits 1 when the behaviour is not the documented one.
"""
import argparse
import base64
import hashlib
import http.client
import math
import os
import socket
import sys
import time

TIMEOUT = 5


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


class Client:
    """One keep-alive connection to HAProxy, reopened when it closes."""

    def __init__(self, port, host):
        self.port, self.host, self.conn = port, host, None

    def get(self, path="/", headers=None):
        hdrs = {"Host": self.host}
        hdrs.update(headers or {})
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
            try:
                self.conn.request("GET", path, headers=hdrs)
                r = self.conn.getresponse()
                body = r.read().decode(errors="replace")
                if r.will_close:
                    self.close()
                return r, body
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # a keep-alive connection the server closed between requests
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def task_of(resp, body):
    if resp.status != 200:
        fail("status %d: %s" % (resp.status, body.strip()[:200]))
    name = resp.getheader("X-Echo-Name")
    if not name:
        fail("no X-Echo-Name in an answer: %s" % body.strip()[:200])
    return name


def cmd_tasks(a):
    c = Client(a.port, a.host)
    seen = set()
    for _ in range(20 * a.count):
        seen.add(task_of(*c.get(a.path)))
        if len(seen) >= a.count:
            print("%d tasks answer" % len(seen))
            return
    fail("%d tasks answer, waiting for %d: %s" % (len(seen), a.count, sorted(seen)))


def set_cookie_value(resp, name):
    for k, v in resp.getheaders():
        if k.lower() == "set-cookie" and v.startswith(name + "="):
            return v[len(name) + 1:].split(";", 1)[0]
    return None


def cmd_sticky(a):
    pinned, first = {}, set()
    for i in range(a.clients):
        c = Client(a.port, a.host)
        resp, body = c.get(a.path)
        first.add(task_of(resp, body))
        value = set_cookie_value(resp, a.cookie)
        if not value:
            fail("client %d: the application set no %s cookie" % (i, a.cookie))
        tasks = set()
        for _ in range(a.requests):
            resp, body = c.get(a.path, {"Cookie": "%s=%s" % (a.cookie, value)})
            tasks.add(task_of(resp, body))
            if set_cookie_value(resp, a.cookie):
                fail("client %d: a new cookie although it sent one" % i)
        c.close()
        if len(tasks) != 1:
            fail("client %d (%s=%s) moved between tasks %s" % (i, a.cookie, value, sorted(tasks)))
        pinned[value] = tasks.pop()
    spread = len(set(pinned.values()))
    print("%d clients, %d requests each with their cookie: each on one task; pinned to %d of %d "
          "tasks; first requests (no cookie) on %d tasks" %
          (a.clients, a.requests, spread, a.tasks, len(first)))
    # Values hash to tasks independently: with C clients on N tasks, all on
    # fewer than 2 tasks has probability N * N^-C (5 * 5^-20 here).
    if spread < min(2, a.tasks):
        fail("every client pinned to the same task")
    if len(first) < min(a.tasks, a.clients, 2):
        fail("requests without the cookie all went to one task")


def cmd_canary(a):
    c = Client(a.port, a.host)
    hits = 0
    deadline = time.monotonic() + 60
    for i in range(a.requests):
        if time.monotonic() > deadline:
            fail("only %d requests in 60 s" % i)
        resp, body = c.get(a.path)
        task_of(resp, body)
        hits += a.match in body
    share = hits / a.requests
    bound = 4 * math.sqrt(a.share * (1 - a.share) / a.requests)
    print("%d of %d answers contain %r: share %.3f, expected %.3f +- %.3f" %
          (hits, a.requests, a.match, share, a.share, bound))
    if abs(share - a.share) > bound:
        fail("share %.3f outside %.3f +- %.3f" % (share, a.share, bound))


def ws_frame(opcode, payload):
    mask = os.urandom(4)
    head = bytes([0x80 | opcode])
    if len(payload) < 126:
        head += bytes([0x80 | len(payload)])
    else:
        head += bytes([0x80 | 126]) + len(payload).to_bytes(2, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def recv_exact(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            fail("connection closed after %d of %d bytes" % (len(out), n))
        out += chunk
    return out


def ws_read_frame(s):
    b0, b1 = recv_exact(s, 2)
    n = b1 & 0x7f
    if n == 126:
        n = int.from_bytes(recv_exact(s, 2), "big")
    elif n == 127:
        n = int.from_bytes(recv_exact(s, 8), "big")
    if b1 & 0x80:
        fail("the server masked its frame")
    return b0 & 0x0f, recv_exact(s, n)


def cmd_websocket(a):
    key = base64.b64encode(os.urandom(16)).decode()
    s = socket.create_connection(("127.0.0.1", a.port), timeout=TIMEOUT)
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" %
               (a.path, a.host, key)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            fail("closed during the handshake: %r" % head)
        head += chunk
    head, rest = head.split(b"\r\n\r\n", 1)
    lines = head.decode(errors="replace").split("\r\n")
    if not lines[0].startswith("HTTP/1.1 101"):
        fail("handshake answered %r" % lines[0])
    want = base64.b64encode(hashlib.sha1(
        (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
    hdrs = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip()
            for l in lines[1:] if ":" in l}
    if hdrs.get("sec-websocket-accept") != want:
        fail("Sec-WebSocket-Accept %r, want %r" % (hdrs.get("sec-websocket-accept"), want))
    if rest:
        fail("bytes before any frame was sent: %r" % rest)
    for i in range(3):
        msg = ("interlock websocket example, message %d" % i).encode()
        s.sendall(ws_frame(0x1, msg))
        op, payload = ws_read_frame(s)
        if op != 0x1 or payload != msg:
            fail("sent %r, got opcode %d %r" % (msg, op, payload))
    s.sendall(ws_frame(0x8, (1000).to_bytes(2, "big")))
    op, payload = ws_read_frame(s)
    if op != 0x8:
        fail("close answered with opcode %d" % op)
    s.close()
    print("101 Switching Protocols from %s, 3 frames echoed, closed with %d" %
          (hdrs.get("x-echo-name", "?"), int.from_bytes(payload[:2], "big") if payload else 0))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["tasks", "sticky", "canary", "websocket"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", required=True)
    p.add_argument("--path", default="/")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--cookie", default="session")
    p.add_argument("--tasks", type=int, default=1)
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--requests", type=int, default=5)
    p.add_argument("--match", default="")
    p.add_argument("--share", type=float, default=0.0)
    a = p.parse_args()
    try:
        globals()["cmd_" + a.command](a)
    except (OSError, http.client.HTTPException) as e:
        fail("%s: %s" % (type(e).__name__, e))


if __name__ == "__main__":
    main()
