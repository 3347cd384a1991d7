#!/usr/bin/env python3
"""swarm_check.py converge measures the agent's lag, not the docker CLI's.

A scripted Engine API and a scripted agent stats socket, both on unix
sockets in a temporary directory, play a rolling update step: task A stops
being wanted and task C starts running, and the agent follows at the same
instant. The docker command takes COMMAND_S to return, as `docker service
update` does on a loaded machine, and swarm moves the tasks long before it
returns. The agent's true lag is zero, so swarm_check.py must pass and
report lags of about its own polling granularity, not the command's
duration.
"""
import http.server
import json
import os
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SERVICE = "web"
COMMAND_S = 3.0       # the docker command's duration
CHANGE_AFTER_S = 0.5  # swarm moves the tasks this long after the checker started
MAX_LAG_MS = 1000     # well under COMMAND_S: a lag timed from the command's end fails


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%06dZ" % int((t % 1) * 1e6)


class Swarm:
    """Tasks before and after the change; the agent flips with docker."""

    def __init__(self):
        self.started = time.time()
        self.change_at = None

    def arm(self):
        """From the checker's first question, which comes just before it
        starts the command."""
        if self.change_at is None:
            self.change_at = time.time() + CHANGE_AFTER_S

    def changed(self):
        return self.change_at is not None and time.time() >= self.change_at

    def docker_tasks(self):
        t0 = self.started
        if not self.changed():
            tasks = [("A", "running", "running", t0), ("B", "running", "running", t0)]
        else:
            # A keeps running while it stops: only its desired state moved
            tasks = [("A", "running", "shutdown", t0), ("B", "running", "running", t0),
                     ("C", "running", "running", self.change_at)]
        return [{"ID": i, "ServiceID": "svc-" + SERVICE, "DesiredState": d,
                 "Status": {"State": s, "Timestamp": rfc3339(since)},
                 "UpdatedAt": rfc3339(since)} for i, s, d, since in tasks]

    def agent_tasks(self):
        ready = ["A", "B"] if not self.changed() else ["B", "C"]
        return {"tasks": [{"id": i, "ready": True} for i in ready]}


class UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def engine_api(swarm):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(swarm.docker_tasks() if self.path.startswith("/v1.41/tasks")
                              else {"message": "not scripted"}).encode()
            self.send_response(200 if self.path.startswith("/v1.41/tasks") else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def address_string(self):
            return "unix"

        def log_message(self, *args):
            pass
    return Handler


def stats_server(path, swarm, stop):
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(16)
    srv.settimeout(0.2)
    while not stop.is_set():
        try:
            c, _ = srv.accept()
        except socket.timeout:
            continue
        with c:
            line = c.makefile("rb").readline().decode().strip()
            swarm.arm()
            out = swarm.agent_tasks() if line == "show tasks %s json" % SERVICE else {"error": "?"}
            c.sendall(json.dumps(out).encode())
    srv.close()


def main():
    failures = []
    with tempfile.TemporaryDirectory() as d:
        swarm = Swarm()
        api = UnixHTTPServer(os.path.join(d, "docker.sock"), engine_api(swarm))
        threading.Thread(target=api.serve_forever, daemon=True).start()
        stop = threading.Event()
        threading.Thread(target=stats_server, args=(os.path.join(d, "stats.sock"), swarm, stop),
                         daemon=True).start()
        while not os.path.exists(os.path.join(d, "stats.sock")):
            time.sleep(0.01)
        out = os.path.join(d, "lags.jsonl")
        r = subprocess.run([sys.executable, os.path.join(HERE, "swarm_check.py"), "converge",
                            "--stats", os.path.join(d, "stats.sock"), "--service", SERVICE,
                            "--replicas", "2", "--timeout", "30", "--json", out,
                            "--docker-api", os.path.join(d, "docker.sock"), "--",
                            "sleep", str(COMMAND_S)], capture_output=True, text=True, timeout=60)
        stop.set()
        api.shutdown()
        sys.stdout.write(r.stdout)
        sys.stderr.write(r.stderr)
        if r.returncode != 0:
            failures.append("swarm_check.py converge exited %d" % r.returncode)
        res = json.loads(open(out).read().splitlines()[-1]) if os.path.exists(out) else {}
    gone = res.get("gone_lags_ms", {}).get("A")
    ready = res.get("ready_lags_ms", {}).get("C")
    if gone is None or gone > MAX_LAG_MS:
        failures.append("gone lag of A: %s ms, want at most %d (command took %.0f ms)"
                        % (gone, MAX_LAG_MS, 1000 * COMMAND_S))
    if ready is None or ready > MAX_LAG_MS:
        failures.append("ready lag of C: %s ms, want at most %d" % (ready, MAX_LAG_MS))
    for f in failures:
        print("FAIL: " + f)
    if failures:
        return 1
    print("PASS: gone lag %d ms, ready lag %d ms with a %.0f ms command" % (gone, ready, 1000 * COMMAND_S))
    return 0


if __name__ == "__main__":
    sys.exit(main())
