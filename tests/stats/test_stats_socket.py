"""The stats socket and the metrics page of a running agent, with a known
table from a routes file, real HAProxy in front and echo backends behind:
every command and its json variant, malformed commands, prompt mode, 50
concurrent clients while the agent serves SPOP load, the metrics page read
by a Prometheus text-format parser, `set log-level` taking effect, `show
conns` listing HAProxy's connection and `explain` naming route and task.
"""
import http.client
import json
import math
import os
import re
import signal
import socket
import stat
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness as h  # noqa: E402


# ---------------------------------------------------------------------------
# A parser for the Prometheus text exposition format 0.0.4, written from
# https://prometheus.io/docs/instrumenting/exposition_formats/ with the
# checks Prometheus applies when it scrapes.
# ---------------------------------------------------------------------------

class PromFormatError(Exception):
    pass


METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def parse_value(s):
    if s in ("+Inf", "Inf"):
        return math.inf
    if s == "-Inf":
        return -math.inf
    if s == "NaN":
        return math.nan
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", s):
        raise PromFormatError("bad value %r" % s)
    return float(s)


def parse_labels(s, i, line):
    """Parses '{a="x",b="y"}' from s[i] == '{'. Returns (dict, next index)."""
    labels = {}
    i += 1
    while True:
        if s[i] == "}":
            return labels, i + 1
        m = LABEL_NAME.match(s, i)
        if not m:
            raise PromFormatError("bad label name in %r" % line)
        name = m.group(0)
        i = m.end()
        if s[i:i + 2] != '="':
            raise PromFormatError("bad label in %r" % line)
        i += 2
        val = []
        while True:
            if i >= len(s):
                raise PromFormatError("unterminated label value in %r" % line)
            c = s[i]
            if c == "\\":
                nxt = s[i + 1:i + 2]
                if nxt not in ("\\", '"', "n"):
                    raise PromFormatError("bad escape in %r" % line)
                val.append("\n" if nxt == "n" else nxt)
                i += 2
                continue
            if c == '"':
                i += 1
                break
            if c == "\n":
                raise PromFormatError("newline in label value")
            val.append(c)
            i += 1
        if name in labels:
            raise PromFormatError("label %s twice in %r" % (name, line))
        labels[name] = "".join(val)
        if s[i] == ",":
            i += 1
        elif s[i] != "}":
            raise PromFormatError("bad label list in %r" % line)


def parse_exposition(text):
    """Returns {family: {"type", "help", "samples": [(name, labels, value)]}}."""
    if not text.endswith("\n"):
        raise PromFormatError("page does not end with a newline")
    families = {}
    order = []
    current = None
    seen_series = set()
    for line in text.split("\n")[:-1]:
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not METRIC_NAME.fullmatch(name):
                    raise PromFormatError("bad family name %r" % name)
                if name != current:
                    if name in families:
                        raise PromFormatError("family %s not contiguous" % name)
                    families[name] = {"type": "untyped", "help": None, "samples": [], "typed": False}
                    order.append(name)
                    current = name
                fam = families[name]
                if parts[1] == "TYPE":
                    if fam["typed"] or fam["samples"]:
                        raise PromFormatError("TYPE of %s late or twice" % name)
                    if len(parts) != 4 or parts[3] not in TYPES:
                        raise PromFormatError("bad TYPE line %r" % line)
                    fam["type"], fam["typed"] = parts[3], True
                else:
                    if fam["help"] is not None:
                        raise PromFormatError("HELP of %s twice" % name)
                    fam["help"] = parts[3] if len(parts) == 4 else ""
            continue
        if not line.strip():
            continue
        m = METRIC_NAME.match(line)
        if not m:
            raise PromFormatError("bad sample line %r" % line)
        name, i = m.group(0), m.end()
        labels = {}
        if i < len(line) and line[i] == "{":
            labels, i = parse_labels(line, i, line)
        rest = line[i:].split()
        if line[i:i + 1] not in (" ", "\t") or len(rest) not in (1, 2):
            raise PromFormatError("bad sample line %r" % line)
        value = parse_value(rest[0])
        if len(rest) == 2 and not re.fullmatch(r"-?\d+", rest[1]):
            raise PromFormatError("bad timestamp in %r" % line)
        fam = families.get(current)
        base = name
        if fam and fam["type"] in ("histogram", "summary"):
            for suffix in ("_bucket", "_sum", "_count"):
                if name == current + suffix:
                    base = current
        if fam is None or base != current:
            raise PromFormatError("sample %s outside its family %s" % (name, current))
        key = (name, tuple(sorted(labels.items())))
        if key in seen_series:
            raise PromFormatError("series %r twice" % (key,))
        seen_series.add(key)
        if fam["type"] == "counter" and (value < 0 or math.isnan(value)):
            raise PromFormatError("counter %s is %r" % (name, value))
        fam["samples"].append((name, labels, value))
    for name, fam in families.items():
        if fam["type"] == "histogram":
            check_histogram(name, fam["samples"])
    return families


def check_histogram(name, samples):
    groups = {}
    for sname, labels, value in samples:
        rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        g = groups.setdefault(rest, {"buckets": [], "count": None})
        if sname == name + "_bucket":
            if "le" not in labels:
                raise PromFormatError("bucket of %s without le" % name)
            g["buckets"].append((parse_value(labels["le"]), value))
        elif sname == name + "_count":
            g["count"] = value
    for g in groups.values():
        les = [le for le, _ in g["buckets"]]
        if les != sorted(les) or len(set(les)) != len(les):
            raise PromFormatError("%s buckets not in le order" % name)
        counts = [c for _, c in g["buckets"]]
        if counts != sorted(counts):
            raise PromFormatError("%s bucket counts decrease" % name)
        if not les or les[-1] != math.inf:
            raise PromFormatError("%s has no +Inf bucket" % name)
        if g["count"] is not None and g["count"] != counts[-1]:
            raise PromFormatError("%s_count differs from the +Inf bucket" % name)


def sample(families, family, name=None, **labels):
    for sname, slabels, value in families[family]["samples"]:
        if sname == (name or family) and all(slabels.get(k) == v for k, v in labels.items()):
            return value
    raise KeyError("%s%r not on the page" % (name or family, labels))


# ---------------------------------------------------------------------------
# Stats socket clients
# ---------------------------------------------------------------------------

def one_shot(path, data, timeout=10.0):
    """Sends raw bytes and closes the sending side, as `socat` does at the
    end of its input; reads until the agent closes, returns the text."""
    return h.unix_request(path, data, timeout, half_close=True).decode(errors="replace")


class Session:
    """An interactive (prompt mode) session."""

    def __init__(self, connect, timeout=30.0):
        self.sock = connect()
        self.sock.settimeout(timeout)
        self.buf = b""
        self.sock.sendall(b"prompt\n")
        assert self.read_prompt() == "", "prompt answered something"

    def read_prompt(self):
        while b"\n> " not in self.buf:
            b = self.sock.recv(65536)
            if not b:
                raise AssertionError("closed while waiting for the prompt: %r" % self.buf[-200:])
            self.buf += b
        out, self.buf = self.buf.split(b"\n> ", 1)
        return out.decode()

    def cmd(self, line):
        self.sock.sendall(line.encode() + b"\n")
        return self.read_prompt()

    def close(self):
        self.sock.close()


def unix_connect(path):
    def connect():
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        return s
    return connect


class StatsSocketTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        why = h.require_haproxy()
        if why:
            raise unittest.SkipTest(why)
        cls.wd = h.Workdir("stats")
        cls.web = h.Echo(cls.wd, "web")
        cls.api = h.Echo(cls.wd, "api")
        cls.metrics_port = h.free_port()
        cls.tcp_port = h.free_port()
        routes = {"services": [
            {"name": "web",
             "labels": {"com.docker.lb.hosts": "web.test,*.web.test",
                        "com.docker.lb.port": str(cls.web.port)},
             "tasks": [{"id": "web.1", "address": "127.0.0.1"}]},
            {"name": "api",
             "labels": {"com.docker.lb.hosts": "web.test", "com.docker.lb.port": str(cls.api.port),
                        "com.docker.lb.context_root": "/api",
                        "com.docker.lb.context_root_rewrite": "true"},
             "tasks": [{"id": "api.1", "address": "127.0.0.1"}]},
            {"name": "idle",
             "labels": {"com.docker.lb.hosts": "idle.test", "com.docker.lb.port": "80"},
             "tasks": [{"id": "idle.1", "address": "127.0.0.1", "state": "starting"}]},
            {"name": "bad", "labels": {"com.docker.lb.hosts": "bad host"}},
        ]}
        cls.agent = h.Agent(cls.wd, routes=routes, threads=2, extra=[
            "--metrics-listen", "127.0.0.1:%d" % cls.metrics_port,
            "--stats-listen", "127.0.0.1:%d" % cls.tcp_port]).start()
        h.wait_until(lambda: os.path.exists(cls.agent.stats_path), 10, what="stats socket")
        cls.haproxy = h.HAProxy(cls.wd, [cls.agent.port]).start()
        # HAProxy routes through the agent: its SPOP connection is up.
        h.wait_until(lambda: cls.haproxy.request("web.test", "/")[0] == 200, 15,
                     what="a request routed through HAProxy")

    @classmethod
    def tearDownClass(cls):
        cls.wd.stop_all()

    def tearDown(self):
        self.assertTrue(self.agent.alive(), "agent died:\n" + self.agent.log()[-3000:])

    def stats(self, command):
        out = self.agent.stats(command)
        # HAProxy's convention: every answer ends with an empty line
        self.assertTrue(out.endswith("\n\n"), "answer to %r does not end with an empty line: %r"
                        % (command, out[-200:]))
        return out[:-1]

    def stats_json(self, command):
        out = self.stats(command)
        try:
            return json.loads(out)
        except ValueError as e:
            self.fail("%r did not answer JSON (%s): %r" % (command, e, out[:500]))

    def metrics(self):
        c = http.client.HTTPConnection("127.0.0.1", self.metrics_port, timeout=10)
        c.request("GET", "/metrics")
        r = c.getresponse()
        body = r.read().decode()
        c.close()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Type"), "text/plain; version=0.0.4; charset=utf-8")
        return parse_exposition(body)

    # --- every command, text and json ---------------------------------------

    def test_help(self):
        out = self.stats("help")
        for c in ("show info", "show stats", "show routes", "show services", "show tasks",
                  "show errors", "show conns", "explain", "set log-level", "resync", "prompt",
                  "quit"):
            self.assertIn(c, out)
        self.assertGreaterEqual(len(self.stats_json("help json")["commands"]), 13)

    def test_show_info(self):
        out = self.stats("show info")
        self.assertIn("name: swarm-spoa\n", out)
        self.assertIn("threads: 2\n", out)
        self.assertIn("docker_state: disabled\n", out)
        info = self.stats_json("show info json")
        self.assertEqual(info["services"], 4)
        self.assertEqual(info["services_routed"], 3)
        self.assertEqual(info["services_skipped"], 1)
        self.assertGreaterEqual(info["table_generation"], 1)
        self.assertGreaterEqual(info["table_age_sec"], 0)
        self.assertEqual(info["routes_file"], self.agent.routes_path)

    def test_show_stats(self):
        out = self.stats("show stats")
        self.assertIn("notify", out)
        self.assertIn("AGENT-DISCONNECT by status", out)
        st = self.stats_json("show stats json")
        self.assertEqual(len(st["threads"]), 2)
        self.assertGreaterEqual(st["total"]["notify"], 1)
        self.assertEqual(st["total"]["notify"], sum(t["notify"] for t in st["threads"]))
        self.assertGreaterEqual(st["lookups"]["forwarded"], 1)
        self.assertIn("p99_lt_ns", st["notify_latency"])
        codes = {d["status"] for d in st["disconnects"]}
        self.assertTrue(set(range(14)) <= codes)

    def test_show_routes(self):
        out = self.stats("show routes")
        self.assertRegex(out, r"web\.test\s+/api\s+api")
        self.assertIn("*.web.test", out)
        self.assertIn("api.1=127.0.0.1:%d" % self.api.port, out)
        self.assertIsInstance(self.stats_json("show routes json"), dict)

    def test_show_services(self):
        out = self.stats("show services")
        self.assertRegex(out, r"bad\s+bad\s+file\s+skipped")
        self.assertIn("not a valid host name", out)
        svcs = {s["name"]: s for s in self.stats_json("show services json")["services"]}
        self.assertEqual(set(svcs), {"web", "api", "idle", "bad"})
        self.assertEqual(svcs["bad"]["status"], "skipped")
        self.assertIn("bad host", svcs["bad"]["reason"])
        self.assertEqual(svcs["idle"]["ready"], 0)
        # no --haproxy-runtime: no HAProxy table to read
        self.assertIsNone(svcs["web"]["traffic"])
        self.assertIn("TRAFFIC", out.splitlines()[0])

    def test_show_tasks(self):
        out = self.stats("show tasks web")
        self.assertRegex(out, r"web\.1\s+\S+\s+running")
        tasks = self.stats_json("show tasks idle json")["tasks"]
        self.assertEqual(len(tasks), 1)
        self.assertEqual(self.stats("show tasks nope"), "error: unknown service 'nope'\n")
        self.assertEqual(self.stats_json("show tasks nope json"), {"error": "unknown service 'nope'"})

    def test_show_errors(self):
        # a malformed SPOP frame is one of the errors it lists
        c = h.SpopClient(self.agent.port)
        c.send(b"\x00\x00\x00\x05garbage")
        c.recv_frame()
        c.close()
        h.wait_until(lambda: "frame" in self.stats("show errors"), 10, what="error listed")
        errs = self.stats_json("show errors json")
        self.assertTrue(any(e["kind"] == "frame" for e in errs["errors"]), errs)
        self.assertGreaterEqual(errs["counts"]["frame"], 1)

    def test_show_conns_lists_haproxy(self):
        self.assertEqual(self.haproxy.request("web.test", "/")[0], 200)
        out = self.stats("show conns")
        self.assertIn("127.0.0.1:", out)
        conns = self.stats_json("show conns json")["conns"]
        mine = [c for c in conns if c["notify"] >= 1 and c["state"] == "ready"]
        self.assertTrue(mine, "no HAProxy connection that sent NOTIFY frames: %r" % conns)
        self.assertTrue(all(c["peer"].startswith("127.0.0.1:") for c in mine))
        self.assertTrue(any(c["engine_id"] for c in mine), "HAProxy's engine-id missing: %r" % mine)

    def test_show_conns_escapes_the_engine_id(self):
        # The engine ID is whatever the connecting side announces: a line
        # feed in it must not forge a row of "show conns" on the operator's
        # terminal.
        c = h.SpopClient(self.agent.port)
        try:
            c.handshake(extra=(("engine-id", "evil\nforged 1 2 3"),))
            h.wait_until(lambda: "evil" in self.stats("show conns"), 10, what="connection listed")
            out = self.stats("show conns")
            self.assertIn("evil\\x0aforged", out)
            self.assertFalse([l for l in out.splitlines() if l.startswith("forged")], out)
            header = out.splitlines()[0]
            self.assertTrue(header.startswith("ID  "), header)
            conns = self.stats_json("show conns json")["conns"]
            self.assertIn("evil\nforged 1 2 3", [x["engine_id"] for x in conns])
        finally:
            c.close()

    def test_explain_names_route_and_task(self):
        out = self.stats("explain web.test /api/v1/ src 192.0.2.7")
        self.assertIn("/api", out)
        self.assertIn("api.1", out)
        self.assertIn("127.0.0.1:%d" % self.api.port, out)
        j = self.stats_json("explain web.test /api/v1/ json")
        flat = json.dumps(j)
        self.assertIn('"api.1"', flat)
        self.assertIn('"/api"', flat)
        out = self.stats("explain nope.test /")
        self.assertIn("404", out)
        out = self.stats("explain idle.test / cookie SRV=x method POST ssl")
        self.assertIn("503", out)

    def test_resync_without_docker(self):
        self.assertRegex(self.stats("resync"), r"^error: no Docker discovery[^\n]*\n$")
        self.assertIn("error", self.stats_json("resync json"))

    # --- malformed input ----------------------------------------------------

    def test_malformed_commands_get_one_error_line(self):
        cases = [b"bogus", b"show", b"show nothing", b"show info extra", b"show tasks",
                 b"explain", b"explain web.test src 1.2.3", b"explain web.test cookie nope",
                 b"set log-level loud", b"set", b"help me", b"show\x00info", b"\xff\xfe\x01",
                 b"\x16\x03\x01\x00\xa5\x01", b"a " * 20]
        for data in cases:
            out = one_shot(self.agent.stats_path, data + b"\n")
            lines = out.split("\n")
            self.assertEqual(len(lines), 3, "%r answered %r" % (data, out))
            self.assertTrue(lines[0].startswith("error: ") and len(lines[0]) > 8, (data, out))
            self.assertEqual(lines[1:], ["", ""], (data, out))
        self.assertEqual(json.loads(one_shot(self.agent.stats_path, b"show tasks a b json\n")),
                         {"error": "usage: show tasks <service> [json]"})

    def test_long_lines_are_refused(self):
        out = one_shot(self.agent.stats_path, b"x" * 5000 + b"\n")
        self.assertEqual(out, "error: line too long (more than 4096 bytes)\n\n")
        # a megabyte without a newline: refused after the first 4 kB, closed
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(self.agent.stats_path)
        try:
            s.sendall(b"y" * (1 << 20))
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = b""
        while True:
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                break
            if not b:
                break
            data += b
        s.close()
        self.assertTrue(data.startswith(b"error: line too long"), data[:100])
        self.assertIn("name: swarm-spoa", self.stats("show info"))

    def test_one_shot_closes_after_one_line(self):
        # like HAProxy's socket without "prompt": the second line is not run
        out = one_shot(self.agent.stats_path, b"show info\nshow stats\n")
        self.assertIn("name: swarm-spoa", out)
        self.assertNotIn("AGENT-DISCONNECT", out)
        # several commands on one line, separated by ';'
        out = one_shot(self.agent.stats_path, b"show tasks web; show tasks api json\n")
        first, second = out.split("\n\n", 1)
        self.assertIn("web.1", first)
        self.assertEqual(json.loads(second)["tasks"][0]["id"], "api.1")
        # a last line without LF is run at EOF
        self.assertIn("name: swarm-spoa", one_shot(self.agent.stats_path, b"show info"))
        self.assertEqual(one_shot(self.agent.stats_path, b"\n"), "")

    def test_prompt_mode(self):
        s = Session(unix_connect(self.agent.stats_path))
        self.assertIn("version:", s.cmd("show info"))
        self.assertEqual(s.cmd(""), "")
        self.assertTrue(s.cmd("bogus").startswith("error: unknown command"))
        self.assertIn("web.1", s.cmd("show tasks web"))
        both = s.cmd("show tasks web json;show tasks api")
        self.assertIn('"web.1"', both)
        self.assertIn("api.1", both)
        # an overlong line is refused and the session goes on
        self.assertTrue(s.cmd("z" * 6000).startswith("error: line too long"))
        self.assertIn("web.test", s.cmd("show routes"))
        s.sock.sendall(b"quit\n")
        rest = s.sock.recv(100)
        self.assertEqual(rest, b"")
        s.close()

    def test_tcp_listener(self):
        def connect():
            return socket.create_connection(("127.0.0.1", self.tcp_port), timeout=10)
        s = Session(connect)
        self.assertIn("version:", s.cmd("show info"))
        s.close()
        c = connect()
        c.sendall(b"show info json\n")
        data = b""
        while True:
            b = c.recv(65536)
            if not b:
                break
            data += b
        c.close()
        self.assertEqual(json.loads(data)["name"], "swarm-spoa")

    def test_socket_mode_default(self):
        self.assertEqual(stat.S_IMODE(os.stat(self.agent.stats_path).st_mode), 0o600)

    def test_socket_mode_and_remote_refusal(self):
        other = h.Agent(self.wd, routes={"services": []}, name="agent-mode",
                        extra=["--stats-socket-mode", "0660"]).start()
        h.wait_until(lambda: os.path.exists(other.stats_path), 10, what="stats socket")
        self.assertEqual(stat.S_IMODE(os.stat(other.stats_path).st_mode), 0o660)
        other.kill(signal.SIGTERM)
        # the socket file goes with the agent
        self.assertFalse(os.path.exists(other.stats_path))

        refused = h.Agent(self.wd, routes={"services": []}, name="agent-remote",
                          extra=["--stats-listen", "0.0.0.0:%d" % h.free_port()])
        refused.proc = self.wd.spawn(refused.name, refused.argv())
        self.assertNotEqual(refused.proc.wait(timeout=10), 0)
        self.assertIn("not a loopback address", refused.log())

    # --- set log-level --------------------------------------------------------

    def test_set_log_level_takes_effect(self):
        self.assertEqual(self.stats("set log-level info"), "log level set to info (was debug)\n")
        try:
            self.stats("explain loglevel-info.test")
            self.assertNotIn('line="explain loglevel-info.test"', self.agent.log())
            self.assertIn('msg="log level changed" from=debug to=info', self.agent.log())
            self.assertEqual(self.stats_json("set log-level debug json"),
                             {"log_level": "debug", "previous": "info"})
            self.stats("explain loglevel-debug.test")
            # the line is written before the answer is sent
            self.assertIn('line="explain loglevel-debug.test"', self.agent.log())
            self.assertEqual(self.stats_json("show info json")["log_level"], "debug")
        finally:
            self.agent.stats("set log-level debug")

    # --- metrics ------------------------------------------------------------

    def test_metrics_page(self):
        before = self.metrics()
        n = 7
        for _ in range(n):
            self.assertEqual(self.haproxy.request("web.test", "/x")[0], 200)
        self.assertEqual(self.haproxy.request("nope.test", "/")[0], 404)
        self.assertEqual(self.haproxy.request("idle.test", "/")[0], 503)
        after = self.metrics()

        def delta(family, **labels):
            return sample(after, family, **labels) - sample(before, family, **labels)

        self.assertEqual(delta("swarm_spoa_requests_total", service="web", outcome="forwarded"), n)
        self.assertEqual(delta("swarm_spoa_requests_total", service="idle", outcome="no_task"), 1)
        self.assertEqual(delta("swarm_spoa_requests_not_found_total"), 1)
        self.assertGreaterEqual(delta("swarm_spoa_spop_notify_frames_total"), n + 2)
        self.assertGreaterEqual(delta("swarm_spoa_spop_ack_frames_total"), n + 2)
        self.assertGreaterEqual(delta("swarm_spoa_notify_duration_seconds",
                                      name="swarm_spoa_notify_duration_seconds_count"), n + 2)
        self.assertEqual(after["swarm_spoa_build_info"]["type"], "gauge")
        self.assertEqual(sample(after, "swarm_spoa_build_info"), 1)
        self.assertEqual(after["swarm_spoa_requests_total"]["type"], "counter")
        self.assertEqual(sample(after, "swarm_spoa_table_services", status="skipped"), 1)
        self.assertEqual(sample(after, "swarm_spoa_table_services", status="routed"), 3)
        self.assertEqual(sample(after, "swarm_spoa_worker_threads"), 2)
        self.assertGreaterEqual(sample(after, "swarm_spoa_spop_connections"), 1)
        self.assertEqual(sample(after, "swarm_spoa_spop_errors_total", status="3"),
                         sample(before, "swarm_spoa_spop_errors_total", status="3"))
        self.assertGreaterEqual(sample(after, "swarm_spoa_table_generation"), 1)
        self.assertGreaterEqual(sample(after, "swarm_spoa_table_age_seconds"), 0)
        self.assertEqual(sample(after, "swarm_spoa_discovery_enabled"), 0)
        for fam in after.values():
            self.assertIsNotNone(fam["help"])
            self.assertTrue(fam["typed"])
        self.assertTrue(all(name.startswith("swarm_spoa_") for name in after))

    def test_metrics_http(self):
        c = http.client.HTTPConnection("127.0.0.1", self.metrics_port, timeout=10)
        for _ in range(3):  # keep-alive
            c.request("GET", "/metrics?x=1")
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            self.assertGreater(len(r.read()), 1000)
        c.request("HEAD", "/metrics")
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.read(), b"")
        c.request("GET", "/")
        r = c.getresponse()
        self.assertEqual(r.status, 404)
        r.read()
        c.request("POST", "/metrics", body=b"")
        r = c.getresponse()
        self.assertEqual(r.status, 405)
        r.read()
        c.close()
        s = socket.create_connection(("127.0.0.1", self.metrics_port), timeout=10)
        s.sendall(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n")
        self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 400 "))
        s.close()

    # --- many clients under load --------------------------------------------

    def test_50_concurrent_clients_under_load(self):
        nclients, frames = 50, 20000
        barrier = threading.Barrier(nclients + 1, timeout=30)
        results, errors = [], []
        acks = [0]

        def client(i):
            try:
                s = Session(unix_connect(self.agent.stats_path) if i % 5 else
                            (lambda: socket.create_connection(("127.0.0.1", self.tcp_port), timeout=30)))
                barrier.wait()
                got = [s.cmd("show info json"), s.cmd("show routes json"),
                       s.cmd("show stats json"), s.cmd("explain web.test /api/%d/" % i),
                       s.cmd("show conns json"), s.cmd("show services")]
                s.close()
                for g in (got[0], got[1], got[2], got[4]):
                    json.loads(g)
                if "api.1" not in got[3] or "web" not in got[5]:
                    raise AssertionError("bad answer: %r" % got[3][:200])
                results.append(i)
            except Exception as e:  # collected and reported below
                errors.append("client %d: %r" % (i, e))

        def load():
            c = h.SpopClient(self.agent.port, timeout=30)
            c.handshake()
            sent = 0
            batch = 500
            while sent < frames:
                data = b"".join(h.notify_frame(1, sent + k + 1, [("route", [
                    ("host", "web.test"), ("path", "/"), ("src", ("ip", "127.0.0.1"))])])
                    for k in range(batch))
                c.send(data)
                for _ in range(batch):
                    f = c.recv_frame()
                    if f is None or f.type != h.ACK:
                        raise AssertionError("no ACK")
                    acks[0] += 1
                sent += batch
            c.close()

        threads = [threading.Thread(target=client, args=(i,)) for i in range(nclients)]
        for t in threads:
            t.start()
        loader_errors = []

        def load_wrapped():
            try:
                load()
            except Exception as e:  # reported below
                loader_errors.append(repr(e))

        lt = threading.Thread(target=load_wrapped)
        barrier.wait()
        lt.start()
        for t in threads:
            t.join(60)
        lt.join(120)
        self.assertFalse(errors, errors[:5])
        self.assertEqual(len(results), nclients)
        self.assertFalse(loader_errors, loader_errors)
        self.assertEqual(acks[0], frames)
        self.assertGreaterEqual(self.stats_json("show stats json")["total"]["ack"], frames)


if __name__ == "__main__":
    r = unittest.main(exit=False, verbosity=2).result
    if r.wasSuccessful() and len(r.skipped) == r.testsRun and r.testsRun:
        sys.exit(77)
    sys.exit(0 if r.wasSuccessful() else 1)
