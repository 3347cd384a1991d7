#!/usr/bin/env python3
"""RECORDED-RESPONSE FIXTURE, not a Docker daemon.

Serves Docker Engine API answers on a unix socket for a swarm bigger than
this machine can run: N services with T tasks each, every object cloned
from answers recorded on a real dockerd 20.10 (tests/fixtures/docker/),
with fresh IDs, names, host labels and addresses. The agent talks to it
exactly as to dockerd; it is used by bench/discovery_bench.sh to measure a
full resync of 2,000 services / 10,000 tasks and the steady-state request
rate at that size.

  discovery_fakedocker.py --socket PATH [--services 2000] [--tasks-per-service 5]

GET /_bench/stats answers the request counts by path (not a Docker API).
"""
import argparse
import copy
import json
import os
import random
import socketserver
import string
import sys
import threading
from http.server import BaseHTTPRequestHandler

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "tests", "fixtures", "docker")

counts = {}
counts_lock = threading.Lock()


def load(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return json.load(f)


def new_id(rng):
    return "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(25))


def build(nsvc, per_svc, seed=42):
    rng = random.Random(seed)
    svc_tpl = next(s for s in load("services.json") if s["Spec"]["Name"] == "ssp-explore-web")
    task_tpl = next(t for t in load("tasks.json") if t["ServiceID"] == svc_tpl["ID"])
    networks = load("networks.json")
    net = next(n for n in networks if n["Name"] == "ssp-explore-net")
    net = copy.deepcopy(net)
    net["Name"] = "bench-net"
    net["IPAM"]["Config"] = [{"Subnet": "10.128.0.0/10", "Gateway": "10.128.0.1"}]
    networks = [n for n in networks if n["Name"] != "ssp-explore-net"] + [net]
    node_id = load("nodes.json")[0]["ID"]

    services, tasks = [], []
    addr = 2
    for i in range(nsvc):
        s = copy.deepcopy(svc_tpl)
        s["ID"] = new_id(rng)
        s["Spec"]["Name"] = "bench-svc-%04d" % i
        s["Spec"]["Labels"] = {
            "com.docker.lb.hosts": "svc%04d.bench.test" % i,
            "com.docker.lb.port": "8080",
            "com.docker.lb.network": "bench-net",
            "com.docker.stack.namespace": "bench%02d" % (i % 50),
        }
        s["Spec"]["Mode"] = {"Replicated": {"Replicas": per_svc}}
        s["Spec"]["TaskTemplate"]["Networks"] = [{"Target": net["Id"]}]
        s["Endpoint"]["VirtualIPs"] = [{"NetworkID": net["Id"], "Addr": "10.%d.%d.%d/10" % (
            128 + (addr >> 16), (addr >> 8) & 255, addr & 255)}]
        addr += 1
        services.append(s)
        for slot in range(1, per_svc + 1):
            t = copy.deepcopy(task_tpl)
            t["ID"] = new_id(rng)
            t["ServiceID"] = s["ID"]
            t["Slot"] = slot
            t["NodeID"] = node_id
            t["Status"]["ContainerStatus"]["ContainerID"] = "%064x" % rng.getrandbits(256)
            att = t["NetworksAttachments"][0]
            att["Network"]["ID"] = net["Id"]
            att["Network"]["Spec"]["Name"] = "bench-net"
            att["Addresses"] = ["10.%d.%d.%d/10" % (128 + (addr >> 16), (addr >> 8) & 255, addr & 255)]
            addr += 1
            tasks.append(t)
    # Docker writes compact JSON followed by a newline
    dump = lambda o: (json.dumps(o, separators=(",", ":")) + "\n").encode()
    return {
        "services": dump(services),
        "service": {s["ID"]: dump(s) for s in services},
        "tasks": dump(tasks),
        "networks": dump(networks),
        "nodes": dump(load("nodes.json")),
        "version": dump(load("version.json")),
        "info": dump(load("info.json")),
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    data = None

    def log_message(self, fmt, *args):
        pass

    def send(self, code, body):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path.startswith("/v1."):
            path = "/" + path.split("/", 2)[2]
        with counts_lock:
            counts[path if not path.startswith("/services/") else "/services/{id}"] = \
                counts.get(path if not path.startswith("/services/") else "/services/{id}", 0) + 1
        d = self.data
        if path == "/_bench/stats":
            with counts_lock:
                body = json.dumps(counts).encode()
            self.send(200, body)
        elif path == "/version":
            self.send(200, d["version"])
        elif path == "/info":
            self.send(200, d["info"])
        elif path == "/services":
            self.send(200, d["services"])
        elif path.startswith("/services/"):
            sid = path.split("/")[2]
            if sid in d["service"]:
                self.send(200, d["service"][sid])
            else:
                self.send(404, b'{"message":"service not found"}\n')
        elif path == "/tasks":
            self.send(200, d["tasks"])
        elif path == "/networks":
            self.send(200, d["networks"])
        elif path == "/nodes":
            self.send(200, d["nodes"])
        elif path == "/events":
            # open, then quiet: nothing changes in a recorded swarm
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.flush()
            try:
                while self.rfile.read(1):
                    pass
            except OSError:
                pass
        else:
            self.send(404, b'{"message":"page not found"}\n')


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--socket", required=True)
    p.add_argument("--services", type=int, default=2000)
    p.add_argument("--tasks-per-service", type=int, default=5)
    a = p.parse_args()
    Handler.data = build(a.services, a.tasks_per_service)
    if os.path.exists(a.socket):
        os.unlink(a.socket)
    srv = Server(a.socket, Handler)
    # BaseHTTPRequestHandler wants a client address; unix sockets have ""
    srv.get_request = (lambda orig: (lambda: (orig()[0], ("local", 0))))(srv.get_request)
    print("recorded-response fixture: %d services, %d tasks, /tasks %d bytes, /services %d bytes, on %s"
          % (a.services, a.services * a.tasks_per_service, len(Handler.data["tasks"]),
             len(Handler.data["services"]), a.socket), flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
