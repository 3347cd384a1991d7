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
                          [--late-services 50 --late-spread-s 60 --late-create-s 5
                           --busy-answer-ms 50 --busy-us-per-task 250 --busy-ms-per-id 5]

GET /_bench/stats answers the request counts by path (not a Docker API).

With --late-services, GET /_bench/scale emulates a step of a SATURATED
swarm (still a fixture, not a daemon): that many more services are created
over --late-create-s seconds (a "service create" event each on /events,
the service in /services), and each of their tasks runs at a random time
1 s to --late-spread-s seconds after its service was created (pending,
assigned, preparing, starting meanwhile; Status.Timestamp is when it ran;
a container "start" event for one task in three, the tasks of the agent's
own node). Until all run and 10 s more, /tasks answers wait
--busy-answer-ms plus --busy-us-per-task per task in the answer plus
--busy-ms-per-id per service ID of the filter (dockerd resolves each). The
/tasks filter by service ID is honoured. GET /_bench/scale-status answers
how many late services exist and how many of their tasks run.
"""
import argparse
import copy
import datetime
import json
import os
import random
import socketserver
import string
import sys
import threading
import time
import urllib.parse
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


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def build(nsvc, per_svc, seed=42, late=0):
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
    for i in range(nsvc + late):
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
    late_ids = set(s["ID"] for s in services[nsvc:])
    late_svcs, services = services[nsvc:], services[:nsvc]
    late_tasks = [t for t in tasks if t["ServiceID"] in late_ids]
    tasks = [t for t in tasks if t["ServiceID"] not in late_ids]
    by_svc = {}
    for t in tasks:
        by_svc.setdefault(t["ServiceID"], []).append(json.dumps(t, separators=(",", ":")).encode())
    return {
        "services": dump(services),
        "service": {s["ID"]: dump(s) for s in services},
        "tasks": dump(tasks),
        "tasks_by_service": by_svc,
        "late": Late(late_svcs, late_tasks) if late else None,
        "networks": dump(networks),
        "nodes": dump(load("nodes.json")),
        "version": dump(load("version.json")),
        "info": dump(load("info.json")),
    }


class Late:
    """The services of an emulated step on a saturated swarm."""

    def __init__(self, svcs, tasks):
        self.svcs = svcs
        self.tasks = {}
        for t in tasks:
            self.tasks.setdefault(t["ServiceID"], []).append(t)
        self.created = {}    # service ID -> wall time
        self.run_at = {}     # task ID -> wall time it runs
        self.lock = threading.Lock()
        self.busy_until = 0.0
        self.rng = random.Random(7)

    def start(self, create_s, spread_s, push):
        threading.Thread(target=self.run, args=(create_s, spread_s, push), daemon=True).start()

    def run(self, create_s, spread_s, push):
        t0 = time.time()
        self.busy_until = t0 + create_s + spread_s + 10
        starts = []
        for i, s in enumerate(self.svcs):
            time.sleep(max(0.0, t0 + i * create_s / len(self.svcs) - time.time()))
            now = time.time()
            with self.lock:
                s["CreatedAt"] = s["UpdatedAt"] = iso(now)
                for k, t in enumerate(self.tasks[s["ID"]]):
                    self.run_at[t["ID"]] = now + self.rng.uniform(1.0, spread_s)
                    t["CreatedAt"] = iso(now)
                    if k % 3 == 0:
                        starts.append((self.run_at[t["ID"]], t))
                self.created[s["ID"]] = now
            push({"Type": "service", "Action": "create", "Actor": {"ID": s["ID"], "Attributes": {
                "name": s["Spec"]["Name"]}}, "scope": "swarm", "time": int(now),
                "timeNano": int(now * 1e9)})
        for at, t in sorted(starts, key=lambda x: x[0]):
            time.sleep(max(0.0, at - time.time()))
            push({"Type": "container", "Action": "start", "Actor": {
                "ID": t["Status"]["ContainerStatus"]["ContainerID"], "Attributes": {
                    "com.docker.swarm.service.id": t["ServiceID"], "com.docker.swarm.task.id": t["ID"]}},
                "scope": "local", "time": int(at), "timeNano": int(at * 1e9)})

    def busy(self):
        return time.time() < self.busy_until

    def task(self, t, now):
        """Task <t> as Docker lists it at <now>."""
        created, at = self.created[t["ServiceID"]], self.run_at[t["ID"]]
        t = dict(t)
        st = dict(t["Status"])
        if now >= at:
            st["State"], st["Message"], ts = "running", "started", at
        else:
            f = (now - created) / (at - created)
            st["State"] = "pending" if f < 0.1 else "assigned" if f < 0.3 else "preparing" if f < 0.6 else "starting"
            st["Message"] = st["State"]
            ts = created + (at - created) * (0 if f < 0.1 else 0.1 if f < 0.3 else 0.3 if f < 0.6 else 0.6)
        st["Timestamp"] = iso(ts)
        t["Status"] = st
        t["UpdatedAt"] = iso(ts)
        return json.dumps(t, separators=(",", ":")).encode()

    def services(self):
        with self.lock:
            return [json.dumps(s, separators=(",", ":")).encode() for s in self.svcs if s["ID"] in self.created]

    def service(self, sid):
        with self.lock:
            for s in self.svcs:
                if s["ID"] == sid and sid in self.created:
                    return (json.dumps(s, separators=(",", ":")) + "\n").encode()
        return None

    def task_list(self, ids):
        now = time.time()
        with self.lock:
            return [self.task(t, now) for sid in self.created if ids is None or sid in ids
                    for t in self.tasks[sid]]

    def status(self):
        now = time.time()
        with self.lock:
            return {"services": len(self.created), "of": len(self.svcs), "tasks": len(self.run_at),
                    "running": sum(1 for at in self.run_at.values() if at <= now)}


streams = []
streams_lock = threading.Lock()


def push(ev):
    line = (json.dumps(ev) + "\n").encode()
    with streams_lock:
        for w in list(streams):
            try:
                w.write(line)
                w.flush()
            except OSError:
                streams.remove(w)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    data = None
    opts = None

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
        elif path == "/_bench/scale" and d["late"]:
            d["late"].start(self.opts.late_create_s, self.opts.late_spread_s, push)
            self.send(200, b"{}\n")
        elif path == "/_bench/scale-status" and d["late"]:
            self.send(200, json.dumps(d["late"].status()).encode())
        elif path == "/services":
            late = d["late"].services() if d["late"] else []
            if late:
                self.send(200, d["services"].rstrip()[:-1] + b"," + b",".join(late) + b"]\n")
            else:
                self.send(200, d["services"])
        elif path.startswith("/services/"):
            sid = path.split("/")[2]
            body = d["service"].get(sid) or (d["late"].service(sid) if d["late"] else None)
            if body:
                self.send(200, body)
            else:
                self.send(404, b'{"message":"service not found"}\n')
        elif path == "/tasks" and not d["late"]:
            self.send(200, d["tasks"])
        elif path == "/tasks":
            self.tasks(d)
        elif path == "/networks":
            self.send(200, d["networks"])
        elif path == "/nodes":
            self.send(200, d["nodes"])
        elif path == "/events":
            # open, then quiet (nothing changes in a recorded swarm) but
            # for the events of an emulated step
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.flush()
            with streams_lock:
                streams.append(self.wfile)
            try:
                while self.rfile.read(1):
                    pass
            except OSError:
                pass
            with streams_lock:
                if self.wfile in streams:
                    streams.remove(self.wfile)
        else:
            self.send(404, b'{"message":"page not found"}\n')


    def tasks(self, d):
        """/tasks with its service filter, slow while the step is under way."""
        late, o = d["late"], self.opts
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        filters = json.loads(q["filters"][0]) if "filters" in q else {}
        ids = set(filters["service"]) if "service" in filters else None
        items = []
        for sid, ts in d["tasks_by_service"].items():
            if ids is None or sid in ids:
                items.extend(ts)
        items.extend(late.task_list(ids))
        if late.busy():
            time.sleep((o.busy_answer_ms + o.busy_us_per_task * len(items) / 1000.0 +
                        o.busy_ms_per_id * (len(ids) if ids else 0)) / 1000.0)
        self.send(200, b"[" + b",".join(items) + b"]\n")


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--socket", required=True)
    p.add_argument("--services", type=int, default=2000)
    p.add_argument("--tasks-per-service", type=int, default=5)
    p.add_argument("--late-services", type=int, default=0)
    p.add_argument("--late-create-s", type=float, default=5.0)
    p.add_argument("--late-spread-s", type=float, default=60.0)
    p.add_argument("--busy-answer-ms", type=float, default=50.0)
    p.add_argument("--busy-us-per-task", type=float, default=250.0)
    p.add_argument("--busy-ms-per-id", type=float, default=5.0)
    a = p.parse_args()
    Handler.opts = a
    Handler.data = build(a.services, a.tasks_per_service, late=a.late_services)
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
