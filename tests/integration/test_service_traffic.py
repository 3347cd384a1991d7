"""Per-service traffic through a real HAProxy (2.6, 3.0 or 3.2:
SWARM_SPOA_HAPROXY) with haproxy-conf/ as it is: known numbers of requests
answered 200, 404 and 503 by the tasks, answered after 150 ms, and refused
by a task that is not listening, must appear as such in the agent's
/metrics and "show services" (text and JSON), which the agent reads from
HAProxy's table swarm-service-traffic and its ring of failed requests over
the runtime API. Guards the HAProxy rules of swarm-backends.cfg, the
reading of "show table" on each version, and the sums the agent shows.
"""
import http.client
import json
import os
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness as h  # noqa: E402

LB = "com.docker.lb."
SLOW_S = 0.15


class SlowServer:
    """Answers every request 200 after SLOW_S seconds, one connection at a
    time (the test sends them one after the other)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            c.settimeout(2.0)
            try:
                buf = b""
                while not self.stopping:
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    buf += chunk
                    while b"\r\n\r\n" in buf:
                        buf = buf.split(b"\r\n\r\n", 1)[1]
                        time.sleep(SLOW_S)
                        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nslow\n")
            except OSError:
                pass
            c.close()

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=5)
        self.sock.close()


def metrics_of(text, service):
    """{(name, frozenset(labels minus service)): value} for <service>."""
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or "{" not in line:
            continue
        name, rest = line.split("{", 1)
        labels, value = rest.rsplit("} ", 1)
        kv = {}
        for part in labels.split('",'):
            k, v = part.split("=", 1)
            kv[k] = v.strip('"')
        if kv.pop("service", None) != service:
            continue
        out[(name, frozenset(kv.items()))] = float(value)
    return out


class ServiceTrafficTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.wd = h.Workdir("traffic")
        cls.slow = SlowServer()
        try:
            cls.echo = h.Echo(cls.wd, "a")
            refused = h.free_port()

            def svc(name, port, **extra):
                lab = {LB + "hosts": name.replace("_", "-") + ".test", LB + "port": "1"}
                lab.update(extra)
                return {"name": name, "labels": lab, "tasks": [
                    {"id": name + ".1", "address": "127.0.0.1", "port": port}]}

            routes = {"services": [
                svc("web_app", cls.echo.port),
                svc("slow", cls.slow.port),
                # never excluded: every request goes to the closed port
                svc("dead", refused, **{LB + "max_fails": "0"}),
                svc("idle", cls.echo.port),
            ]}
            admin = cls.wd.file("haproxy-admin.sock")
            cls.mport = h.free_port()
            cls.agent = h.Agent(cls.wd, routes=routes, threads=1,
                                extra=["--haproxy-runtime", "unix:" + admin,
                                       "--traffic-interval", "1",
                                       "--metrics-listen", "127.0.0.1:%d" % cls.mport]).start()
            # the same HAProxy, its traffic table never read
            cls.quiet = h.Agent(cls.wd, routes=routes, threads=1, name="quiet",
                                extra=["--haproxy-runtime", "unix:" + admin,
                                       "--traffic-interval", "0"]).start()
            cls.haproxy = h.HAProxy(cls.wd, [cls.agent.port]).start()
            for a in (cls.agent, cls.quiet):
                h.wait_until(lambda: json.loads(a.stats("show health json"))["streams"][0]["connected"],
                             15, what="%s streaming HAProxy's ring of failed requests" % a.name)
        except BaseException:
            cls.wd.stop_all()
            cls.slow.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.wd.stop_all()
        cls.slow.stop()

    @classmethod
    def health(cls):
        return json.loads(cls.agent.stats("show health json"))

    def metrics(self):
        c = http.client.HTTPConnection("127.0.0.1", self.mport, timeout=5)
        c.request("GET", "/metrics")
        r = c.getresponse()
        body = r.read().decode()
        c.close()
        self.assertEqual(r.status, 200)
        return body

    def services(self):
        return {s["name"]: s for s in
                json.loads(self.agent.stats("show services json"))["services"]}

    def send(self, host, path, n, expect):
        for _ in range(n):
            st, _, _ = self.haproxy.request(host, path, timeout=10)
            self.assertEqual(st, expect, "%s%s" % (host, path))

    def test_figures(self):
        self.send("web-app.test", "/", 7, 200)
        self.send("web-app.test", "/status/404", 5, 404)
        self.send("web-app.test", "/status/503", 3, 503)
        self.send("web-app.test", "/status/302", 2, 302)
        self.send("slow.test", "/", 4, 200)
        self.send("dead.test", "/", 2, 503)
        want = {"requests": 17, "2xx": 7, "3xx": 2, "4xx": 5, "5xx": 3, "conn_failures": 0}
        want_slow = {"requests": 4, "2xx": 4, "conn_failures": 0}
        want_dead = {"requests": 2, "2xx": 0, "5xx": 0, "conn_failures": 2}

        def seen():
            s = self.services()
            return all(s[name]["traffic"] and
                       all(s[name]["traffic"][k] == v for k, v in w.items())
                       for name, w in (("web_app", want), ("slow", want_slow),
                                       ("dead", want_dead)))

        # the agent reads HAProxy's table every second (--traffic-interval 1)
        h.wait_until(seen, 10, interval=0.2, what="the figures in show services json")
        s = self.services()
        print("HAProxy %s: %s" % (h.haproxy_version(),
                                  {k: s[k]["traffic"] for k in ("web_app", "slow", "dead")}),
              flush=True)
        # every response has a time; the slow ones are above 100 ms, at most 500
        rt = s["slow"]["traffic"]["response_ms"]
        self.assertEqual(rt["count"], 4)
        self.assertEqual(rt["le_100"], 0)
        self.assertEqual(rt["le_500"], 4)
        self.assertEqual(s["web_app"]["traffic"]["response_ms"]["count"], 17)
        self.assertEqual(s["dead"]["traffic"]["response_ms"]["count"], 0)
        # a service nobody asked for: nothing in HAProxy's table
        self.assertIsNone(s["idle"]["traffic"])

        text = self.agent.stats("show services")
        self.assertIn("TRAFFIC", text.splitlines()[0])
        line = [ln for ln in text.splitlines() if ln.startswith("web_app ")][0]
        self.assertIn("req=17 2xx=7 3xx=2 4xx=5 5xx=3 conn_fail=0", line)
        line = [ln for ln in text.splitlines() if ln.startswith("slow ")][0]
        self.assertIn("p50<=500ms", line)
        line = [ln for ln in text.splitlines() if ln.startswith("dead ")][0]
        self.assertIn("req=2 2xx=0 3xx=0 4xx=0 5xx=0 conn_fail=2", line)

        m = metrics_of(self.metrics(), "web_app")
        self.assertEqual(m[("swarm_spoa_service_http_requests_total", frozenset())], 17)
        for code, n in (("2xx", 7), ("3xx", 2), ("4xx", 5), ("5xx", 3)):
            self.assertEqual(m[("swarm_spoa_service_http_responses_total",
                                frozenset({("code", code)}))], n)
        self.assertEqual(m[("swarm_spoa_service_connection_failures_total", frozenset())], 0)
        self.assertEqual(m[("swarm_spoa_service_response_time_seconds_count", frozenset())], 17)
        self.assertEqual(m[("swarm_spoa_service_response_time_seconds_bucket",
                            frozenset({("le", "+Inf")}))], 17)
        m = metrics_of(self.metrics(), "slow")
        self.assertEqual(m[("swarm_spoa_service_response_time_seconds_bucket",
                            frozenset({("le", "0.1")}))], 0)
        self.assertEqual(m[("swarm_spoa_service_response_time_seconds_bucket",
                            frozenset({("le", "0.5")}))], 4)
        m = metrics_of(self.metrics(), "dead")
        self.assertEqual(m[("swarm_spoa_service_http_requests_total", frozenset())], 2)
        self.assertEqual(m[("swarm_spoa_service_connection_failures_total", frozenset())], 2)
        # the last read of HAProxy's table went well, and every line of it
        # was read (an earlier one may have found HAProxy not yet started)
        tr = self.health()["traffic"]
        self.assertIsNone(tr["last_error"])
        self.assertEqual(tr["malformed"], 0)
        self.assertGreaterEqual(tr["services"], 3)
        self.assertIn("swarm_spoa_service_traffic_polls_total", self.metrics())
        self.assertGreaterEqual(tr["polls"], 2)

        # --traffic-interval 0: the table is never read, the ring still is
        quiet = json.loads(self.quiet.stats("show health json"))
        self.assertTrue(quiet["streams"][0]["connected"])
        self.assertEqual(quiet["traffic"]["polls"], 0)
        q = {x["name"]: x for x in json.loads(self.quiet.stats("show services json"))["services"]}
        self.assertIsNone(q["web_app"]["traffic"])
        self.assertEqual(q["dead"]["traffic"]["conn_failures"], 2)

    def test_runtime_api_room(self):
        # Idle clients on HAProxy's runtime API (up to HAProxy's default
        # of 10 connections per socket, and beyond) leave the agents room
        # to read the traffic table.
        idle = []
        try:
            for _ in range(20):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(self.wd.file("haproxy-admin.sock"))
                idle.append(s)
            polls = self.health()["traffic"]["polls"]
            h.wait_until(lambda: self.health()["traffic"]["polls"] >= polls + 2, 10,
                         what="two more reads of the traffic table")
            tr = self.health()["traffic"]
            self.assertIsNone(tr["last_error"])
        finally:
            for s in idle:
                s.close()


if __name__ == "__main__":
    why = h.require_haproxy()
    if why:
        print("SKIP: " + why)
        sys.exit(77)
    unittest.main(verbosity=2)
