#!/usr/bin/env python3
"""Checks for the package test, run from the host inside the test's network
namespace: the installed agent answers on its SPOP port and its stats
socket, and Debian's HAProxy routes through it.

  pkg_check.py agent --port P --stats SOCK [--route HOST=IP:PORT] [--skipped NAME]
  pkg_check.py http --port P --host HOST --expect TEXT
"""
import argparse
import http.client
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness as h  # noqa: E402


def stats(path, command):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(path)
    s.sendall(command.encode() + b"\n")
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    s.close()
    return out.decode()


def check_agent(a):
    info = stats(a.stats, "show info")
    if "name: swarm-spoa" not in info:
        sys.exit("stats socket: unexpected 'show info' answer: %r" % info[:300])
    c = h.SpopClient(a.port)
    hello = c.handshake()
    if hello.kv().get("version") != "2.0":
        sys.exit("SPOP: AGENT-HELLO without version 2.0: %r" % hello.kv())
    if a.route:
        host, dest = a.route.split("=", 1)
        ip, port = dest.rsplit(":", 1)
        c.send(h.notify_frame(1, 1, [("route", [("host", host), ("path", "/"), ("query", ""),
                                                 ("method", "GET"), ("src", ("ip", "127.0.0.1")),
                                                 ("ssl", False), ("cookie", "")])]))
        f = c.recv_frame()
        if f is None or f.type != h.ACK:
            sys.exit("SPOP: no ACK for the route NOTIFY")
        v = f.vars()
        if v.get("action") != "forward" or v.get("ip") != ip or v.get("port") != int(port):
            sys.exit("SPOP: %s routed to %r, expected forward to %s" % (host, v, dest))
    c.close()
    if a.skipped:
        services = stats(a.stats, "show services")
        line = [ln for ln in services.splitlines() if ln.split()[:1] == [a.skipped]]
        if not line or "skipped" not in line[0]:
            sys.exit("show services: %s is not listed as skipped:\n%s" % (a.skipped, services))
    print("agent ok: %s" % " ".join(ln for ln in info.splitlines()
                                    if ln.startswith(("version:", "docker_state:", "services"))))


def check_http(a):
    c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=5)
    c.request("GET", "/", headers={"Host": a.host})
    r = c.getresponse()
    body = r.read().decode(errors="replace")
    if r.status != 200 or a.expect not in body:
        sys.exit("HAProxy: GET http://%s/ gave %d %r" % (a.host, r.status, body[:200]))
    print("http ok: %s -> %d" % (a.host, r.status))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    pa = sub.add_parser("agent")
    pa.add_argument("--port", type=int, required=True)
    pa.add_argument("--stats", required=True)
    pa.add_argument("--route")
    pa.add_argument("--skipped")
    ph = sub.add_parser("http")
    ph.add_argument("--port", type=int, required=True)
    ph.add_argument("--host", required=True)
    ph.add_argument("--expect", required=True)
    a = p.parse_args()
    if a.cmd == "agent":
        check_agent(a)
    else:
        check_http(a)


if __name__ == "__main__":
    main()
