#!/usr/bin/env python3
"""Checks what a running agent sees of a real swarm, and how fast.

Used by test_swarm_discovery.sh (and bench/discovery_bench.sh): it runs a
docker command and, from the moment it starts, follows both the swarm
(through the Engine API with --docker-api, else /usr/bin/docker) and the
agent's stats socket until they agree, and measures for every task:
  - became ready in the agent  - the task's Status.Timestamp (running)
  - left the agent's ready set - the start of the last docker poll that
    still showed its desired state "running" (or the command start): an
    upper bound, too high by up to one poll (period plus request)
The agent is watched while the command runs too: swarm moves tasks before
a slow `docker service ...` returns, and a change the agent followed then
must not be timed from the command's end. Exits 1 with the reason when
they do not agree in time or a lag is over the bound.

  swarm_check.py converge --stats SOCK --service NAME --replicas N
                 [--max-lag-ms 1000] [--timeout 90] [--json OUT] [--docker-api SOCK] -- CMD...
  swarm_check.py status --stats SOCK --service NAME --status routed|skipped|absent
                 [--reason TEXT] [--hosts HOSTS] [--source swarm|docker] [--ready N]
                 [--within-ms 1000] [--timeout 30] [-- CMD...]
  swarm_check.py info --stats SOCK --key docker_state --value synced [--timeout 60]
"""
import argparse
import calendar
import http.client
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

DOCKER = "/usr/bin/docker"
# Polling granularity of this checker, added to the bound so that a lag
# measured by polling never fails a test for the checker's own slowness.
AGENT_POLL_S = 0.02
DOCKER_POLL_S = 0.15


def now_ms():
    return time.time() * 1000.0


def stats(sock, command, timeout=5.0):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(sock)
    s.sendall(command.encode() + b"\n")
    chunks = []
    while True:
        b = s.recv(65536)
        if not b:
            break
        chunks.append(b)
    s.close()
    return b"".join(chunks).decode()


def agent_tasks(sock, service):
    """{task id: ready} for <service> as the agent sees it ({} if unknown)."""
    out = stats(sock, "show tasks %s json" % service)
    try:
        d = json.loads(out)
    except ValueError:
        return {}
    if "error" in d:
        return {}
    return {t["id"]: bool(t["ready"]) for t in d.get("tasks", [])}


def agent_services(sock):
    return {s["name"]: s for s in json.loads(stats(sock, "show services json"))["services"]}


def parse_docker_time(s):
    """RFC 3339 with nanoseconds, as docker prints it, to ms since the epoch."""
    s = s.strip()
    if s.endswith("Z"):
        s = s[:-1]
    if "." in s:
        base, frac = s.split(".", 1)
        frac = (frac + "000000")[:6]
    else:
        base, frac = s, "000000"
    t = time.strptime(base, "%Y-%m-%dT%H:%M:%S")
    return calendar.timegm(t) * 1000.0 + int(frac) / 1000.0


TIME_FMT = "\"2006-01-02T15:04:05.000000Z07:00\""


def docker_tasks(service):
    """{task id: (state, desired, state_since_ms, updated_ms)} of <service>."""
    ids = subprocess.run([DOCKER, "service", "ps", "-q", "--no-trunc", service],
                         capture_output=True, text=True).stdout.split()
    if not ids:
        return {}
    out = subprocess.run([DOCKER, "inspect", "-f",
                          "{{.ID}} {{.Status.State}} {{.DesiredState}} {{.Status.Timestamp.Format %s}} "
                          "{{.UpdatedAt.Format %s}}" % (TIME_FMT, TIME_FMT)]
                         + ids, capture_output=True, text=True).stdout
    tasks = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 5:
            tasks[parts[0]] = (parts[1], parts[2], parse_docker_time(parts[3]), parse_docker_time(parts[4]))
    return tasks


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=5.0):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def docker_tasks_api(sock, service):
    """As docker_tasks(), straight from the Engine API on unix socket
    <sock> (read-only GETs): a few ms instead of two CLI runs, which take
    seconds on a loaded machine and would make every poll that late.
    None when the daemon did not answer."""
    conn = UnixHTTPConnection(sock)
    q = urllib.parse.quote(json.dumps({"service": {service: True}}))
    try:
        conn.request("GET", "/v1.41/tasks?filters=" + q)
        r = conn.getresponse()
        body = r.read()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()
    if r.status != 200:
        return None
    tasks = {}
    for t in json.loads(body):
        st = t.get("Status", {})
        tasks[t["ID"]] = (st.get("State"), t.get("DesiredState"),
                          parse_docker_time(st.get("Timestamp", "1970-01-01T00:00:00Z")),
                          parse_docker_time(t.get("UpdatedAt", "1970-01-01T00:00:00Z")))
    return tasks


class DockerWatcher(threading.Thread):
    """Polls docker for a service's tasks. For each task that stops being
    wanted running, remembers the start of the last poll that still showed
    it wanted: the change came later, so a lag measured from there is an
    upper bound (by the polling period plus one docker call)."""

    def __init__(self, service, not_before, api=None):
        super().__init__(daemon=True)
        self.service = service
        self.api = api
        self.period = DOCKER_POLL_S if not api else 0.05
        self.lock = threading.Lock()
        self.tasks = {}
        self.wanted_seen = {}   # id -> start of the last poll showing desired running
        self.left_running = {}  # id -> reference time of its desired state change
        self.left_window = {}   # id -> ms between that poll and the first one without it
        self.not_before = not_before
        self.stop = False
        self.polls = 0
        self.last_start = 0.0   # start of the last poll that answered

    def run(self):
        while not self.stop:
            started = now_ms()
            t = docker_tasks_api(self.api, self.service) if self.api else docker_tasks(self.service)
            if t is None:
                time.sleep(self.period)
                continue
            with self.lock:
                for tid, (state, desired, _, _) in t.items():
                    if desired == "running":
                        self.wanted_seen[tid] = started
                    elif tid not in self.left_running:
                        ref = max(self.wanted_seen.get(tid, self.not_before), self.not_before)
                        self.left_running[tid] = ref
                        self.left_window[tid] = started - ref
                self.tasks = t
                self.polls += 1
                self.last_start = started
            time.sleep(self.period)

    def snapshot(self):
        with self.lock:
            return dict(self.tasks), dict(self.left_running), self.polls, self.last_start


class Command(threading.Thread):
    """Runs a command to its end, so that the agent can be watched
    meanwhile."""

    def __init__(self, cmd):
        super().__init__(daemon=True)
        self.cmd = cmd
        self.result = None
        self.ended = None

    def run(self):
        self.result = subprocess.run(self.cmd, capture_output=True, text=True)
        self.ended = now_ms()


def cmd_converge(a):
    t_cmd = now_ms()
    watcher = DockerWatcher(a.service, t_cmd, a.docker_api)
    before = agent_tasks(a.stats, a.service)
    watcher.start()
    first_ready = {}
    gone = {}
    ready_now = {t for t, r in before.items() if r}
    cmd = Command(a.cmd) if a.cmd else None
    if cmd:
        cmd.start()
    t_cmd_end = None if cmd else t_cmd
    deadline = time.time() + a.timeout
    agreed_since = None
    while time.time() < deadline:
        t = now_ms()
        at = agent_tasks(a.stats, a.service)
        ready = {tid for tid, r in at.items() if r}
        for tid in ready - ready_now:
            first_ready.setdefault(tid, t)
        for tid in ready_now - ready:
            gone.setdefault(tid, t)
        ready_now = ready
        if t_cmd_end is None and cmd.ended is not None:
            if cmd.result.returncode != 0:
                watcher.stop = True
                print("command failed: %s\n%s" % (" ".join(a.cmd), cmd.result.stderr), file=sys.stderr)
                return 1
            t_cmd_end = cmd.ended
            deadline = time.time() + a.timeout
        dt, left, polls, last_poll = watcher.snapshot()
        running = {tid for tid, (s, d, _, _) in dt.items() if s == "running" and d == "running"}
        # docker as it was after the command, not before
        settled = t_cmd_end is not None and last_poll >= t_cmd_end and \
            len(running) == a.replicas and ready == running and \
            not any(s in ("new", "pending", "assigned", "accepted", "preparing", "ready", "starting")
                    and d == "running" for s, d, _, _ in dt.values())
        if settled:
            if agreed_since is None:
                agreed_since = time.time()
            elif time.time() - agreed_since >= 1.0:
                break
        else:
            agreed_since = None
        time.sleep(AGENT_POLL_S)
    watcher.stop = True
    if t_cmd_end is None:
        print("FAIL: command still running after %ds: %s" % (a.timeout, " ".join(a.cmd)), file=sys.stderr)
        return 1
    dt, left, _, _ = watcher.snapshot()
    with watcher.lock:
        window = dict(watcher.left_window)
    running = {tid for tid, (s, d, _, _) in dt.items() if s == "running" and d == "running"}
    result = {"service": a.service, "replicas": a.replicas, "command_ms": round(t_cmd_end - t_cmd),
              "ready_lags_ms": {}, "gone_lags_ms": {}, "gone_ref_window_ms": {}}
    bound = a.max_lag_ms + 1000 * AGENT_POLL_S * 2
    failures = []
    if agreed_since is None:
        failures.append("agent and docker did not agree within %ds: docker running %s, agent ready %s"
                        % (a.timeout, sorted(running), sorted(ready_now)))
    for tid, seen in first_ready.items():
        if tid in dt and dt[tid][0] == "running":
            lag = seen - dt[tid][2]
            result["ready_lags_ms"][tid] = round(lag)
            if lag > bound:
                failures.append("task %s ready in the agent %.0f ms after it was running" % (tid, lag))
    for tid, seen in gone.items():
        if tid not in left:
            continue   # gone from the agent for another reason (failed, node down)
        lag = seen - left[tid]
        result["gone_lags_ms"][tid] = round(lag)
        result["gone_ref_window_ms"][tid] = round(window.get(tid, 0))
        # the reference may be up to one docker poll early
        if lag > bound + 1000 * watcher.period + 500:
            failures.append("task %s left the agent %.0f ms after docker stopped wanting it "
                            "(docker polls %.0f ms apart around the change)"
                            % (tid, lag, window.get(tid, 0)))
    print("converge %s" % json.dumps(result, sort_keys=True))
    if a.json:
        with open(a.json, "a") as f:
            f.write(json.dumps(result, sort_keys=True) + "\n")
    for f in failures:
        print("FAIL: " + f, file=sys.stderr)
    return 1 if failures else 0


def cmd_status(a):
    if a.cmd:
        r = subprocess.run(a.cmd, capture_output=True, text=True)
        if r.returncode != 0:
            print("command failed: %s\n%s" % (" ".join(a.cmd), r.stderr), file=sys.stderr)
            return 1
    # from the end of the command: what the user waits for after it returned
    t0 = now_ms()
    deadline = time.time() + a.timeout
    last = None
    while time.time() < deadline:
        svcs = agent_services(a.stats)
        s = svcs.get(a.service)
        last = s
        ok = (a.status == "absent" and s is None) or (
            s is not None and s["status"] == a.status and
            (a.reason is None or (s.get("reason") or "").find(a.reason) >= 0) and
            (a.hosts is None or s.get("hosts") == a.hosts) and
            (a.source is None or s.get("source") == a.source) and
            (a.ready is None or s.get("ready") == a.ready))
        if ok:
            took = now_ms() - t0
            print("status %s=%s after %.0f ms%s" % (a.service, a.status, took,
                                                    (" (%s)" % s.get("reason")) if s and s.get("reason") else ""))
            if a.within_ms and took > a.within_ms + 1000 * AGENT_POLL_S * 2:
                print("FAIL: %s took %.0f ms, bound %d ms" % (a.service, took, a.within_ms), file=sys.stderr)
                return 1
            return 0
        time.sleep(AGENT_POLL_S)
    print("FAIL: %s not %s within %ds, last seen: %s" % (a.service, a.status, a.timeout, last),
          file=sys.stderr)
    return 1


def cmd_info(a):
    deadline = time.time() + a.timeout
    last = None
    while time.time() < deadline:
        for line in stats(a.stats, "show info").splitlines():
            k, _, v = line.partition(":")
            if k.strip() == a.key:
                last = v.strip()
        if last == a.value:
            print("info %s=%s" % (a.key, a.value))
            return 0
        time.sleep(0.05)
    print("FAIL: %s is %r, not %r within %ds" % (a.key, last, a.value, a.timeout), file=sys.stderr)
    return 1


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="what", required=True)
    c = sub.add_parser("converge")
    c.add_argument("--stats", required=True)
    c.add_argument("--service", required=True)
    c.add_argument("--replicas", type=int, required=True)
    c.add_argument("--max-lag-ms", type=int, default=1000)
    c.add_argument("--timeout", type=int, default=90)
    c.add_argument("--json")
    c.add_argument("--docker-api", metavar="SOCKET",
                   help="watch the swarm through the Engine API on this unix socket (GETs) "
                        "instead of the docker CLI: tighter bounds")
    c.add_argument("cmd", nargs="*")
    s = sub.add_parser("status")
    s.add_argument("--stats", required=True)
    s.add_argument("--service", required=True)
    s.add_argument("--status", required=True, choices=["routed", "skipped", "unrouted", "absent"])
    s.add_argument("--reason")
    s.add_argument("--hosts")
    s.add_argument("--source")
    s.add_argument("--ready", type=int, help="number of ready tasks")
    s.add_argument("--within-ms", type=int)
    s.add_argument("--timeout", type=int, default=30)
    s.add_argument("cmd", nargs="*")
    i = sub.add_parser("info")
    i.add_argument("--stats", required=True)
    i.add_argument("--key", required=True)
    i.add_argument("--value", required=True)
    i.add_argument("--timeout", type=int, default=60)
    a = p.parse_args()
    return {"converge": cmd_converge, "status": cmd_status, "info": cmd_info}[a.what](a)


if __name__ == "__main__":
    sys.exit(main())
