"""Routing through a real HAProxy (2.6, 3.0 or 3.2: SWARM_SPOA_HAPROXY) with
haproxy-conf/ and the real agent, to real HTTP backends on 127.0.0.1: host
and path routing, rewrite, 404 and 503 answers, redirects, ssl_only,
round-robin, wildcard hosts, managed sticky cookies, websockets, SIGHUP reload
without dropping HAProxy's connections, and the agent killed under load
then restarted without restarting HAProxy; the two SPOE engines of
spoe-swarm.conf (first ask, retry) kept alike.
"""
import base64
import os
import signal
import socket
import sys
import threading
import time
import unittest
import http.client

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness as h  # noqa: E402


def svc(name, labels, tasks, **kw):
    d = {"name": name, "labels": labels, "tasks": tasks}
    d.update(kw)
    return d


def task(echo, tid=None, **kw):
    t = {"id": tid or ("task-" + echo.name), "address": "127.0.0.1", "port": echo.port}
    t.update(kw)
    return t


class HAProxyRoutingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.wd = h.Workdir("routing")
        try:
            cls.echo = {n: h.Echo(cls.wd, n) for n in ("a", "b", "c", "d")}
            cls.routes = cls.build_routes(web_to="a")
            cls.agent = h.Agent(cls.wd, routes=cls.routes, threads=2).start()
            cls.haproxy = h.HAProxy(cls.wd, [cls.agent.port]).start()
        except BaseException:
            cls.wd.stop_all()
            raise

    @classmethod
    def build_routes(cls, web_to):
        e = cls.echo
        lb = "com.docker.lb."
        return {"services": [
            svc("web", {lb + "hosts": "web.test", lb + "port": "1"}, [task(e[web_to])]),
            svc("api", {lb + "hosts": "api.test", lb + "port": "1", lb + "context_root": "/api",
                        lb + "context_root_rewrite": "true"}, [task(e["b"])]),
            svc("multi", {lb + "hosts": "multi.test", lb + "port": "1"},
                [task(e["b"], "m1"), task(e["c"], "m2")]),
            svc("wild", {lb + "hosts": "*.wild.test", lb + "port": "1"}, [task(e["d"])]),
            svc("old", {lb + "hosts": "old.test", lb + "port": "1",
                        lb + "redirects": "http://old.test,http://new.test"}, [task(e["a"])]),
            svc("secure", {lb + "hosts": "secure.test", lb + "port": "1", lb + "ssl_only": "true"},
                [task(e["a"])]),
            svc("sticky", {lb + "hosts": "sticky.test", lb + "port": "1",
                           lb + "sticky_session_cookie": "SRV",
                           "swarm-spoa.sticky_managed": "true"},
                [task(e["a"], "s1"), task(e["b"], "s2"), task(e["c"], "s3")]),
            svc("starting", {lb + "hosts": "notask.test", lb + "port": "1"},
                [task(e["a"], "n1", state="starting")]),
            svc("ws", {lb + "hosts": "ws.test", lb + "port": "1",
                       lb + "websocket_endpoints": "/ws"}, [task(e["c"])]),
        ]}

    @classmethod
    def tearDownClass(cls):
        cls.wd.stop_all()

    def get(self, host, path="/", **kw):
        return self.haproxy.request(host, path, **kw)

    def test_host_routing(self):
        for host in ("web.test", "WEB.Test", "web.test:80", "web.test."):
            st, hd, body = self.get(host)
            self.assertEqual(st, 200, host)
            self.assertEqual(h.parse_echo(body)["name"], "a", host)

    def test_forwarded_headers(self):
        st, hd, body = self.get("web.test", "/p")
        e = h.parse_echo(body)
        self.assertEqual(e["xfp"], "http")
        self.assertEqual(e["xff"], "127.0.0.1")

    def test_path_rewrite_keeps_query(self):
        st, hd, body = self.get("api.test", "/api/x/y.json?q=1&r=2")
        self.assertEqual(st, 200)
        e = h.parse_echo(body)
        self.assertEqual(e["name"], "b")
        self.assertEqual(e["path"], "/x/y.json?q=1&r=2")
        st, hd, body = self.get("api.test", "/api/")
        self.assertEqual(h.parse_echo(body)["path"], "/")
        # the context root itself first gets its trailing slash (Interlock)
        st, hd, body = self.get("api.test", "/api")
        self.assertEqual(st, 301)
        self.assertEqual(hd["location"], "/api/")

    def test_path_segment_boundary(self):
        st, hd, body = self.get("api.test", "/apix")
        self.assertEqual(st, 404)

    def test_unknown_host_404_with_reason(self):
        st, hd, body = self.get("nothing.test", "/")
        self.assertEqual(st, 404)
        self.assertIn("nothing.test", body)

    def test_round_robin(self):
        names = [h.parse_echo(self.get("multi.test")[2])["name"] for _ in range(20)]
        self.assertEqual(set(names), {"b", "c"})
        self.assertLessEqual(abs(names.count("b") - names.count("c")), 2)

    def test_wildcard(self):
        st, hd, body = self.get("deep.sub.wild.test")
        self.assertEqual(st, 200)
        self.assertEqual(h.parse_echo(body)["name"], "d")

    def test_redirect(self):
        st, hd, body = self.get("old.test", "/some/page?x=1")
        self.assertEqual(st, 302)
        self.assertEqual(hd["location"], "http://new.test/some/page?x=1")

    def test_ssl_only(self):
        st, hd, _ = self.get("secure.test", "/login?next=/")
        self.assertEqual(st, 301)
        self.assertEqual(hd["location"], "https://secure.test/login?next=/")
        st, hd, _ = self.get("secure.test:8080", "/form", method="POST")
        self.assertEqual(st, 308)
        self.assertEqual(hd["location"], "https://secure.test/form")

    def test_client_cannot_claim_https(self):
        """Without trusted proxies, X-Forwarded-Proto comes from the
        connection: a client's own header is replaced, for the agent
        (ssl_only still redirects) and for the app."""
        st, hd, _ = self.get("secure.test", "/", headers={"X-Forwarded-Proto": "https"})
        self.assertEqual(st, 301)
        st, hd, body = self.get("web.test", "/", headers={"X-Forwarded-Proto": "https"})
        self.assertEqual(h.parse_echo(body)["xfp"], "http")

    def test_no_task_503(self):
        st, hd, body = self.get("notask.test")
        self.assertEqual(st, 503)
        self.assertIn("starting", body)

    def test_sticky_cookie(self):
        st, hd, body = self.get("sticky.test")
        self.assertEqual(st, 200)
        cookie = hd["set-cookie"].split(";")[0]
        self.assertTrue(cookie.startswith("SRV="), cookie)
        first = h.parse_echo(body)["name"]
        for _ in range(10):
            st, hd, body = self.get("sticky.test", headers={"Cookie": "a=b; " + cookie})
            self.assertEqual(h.parse_echo(body)["name"], first)
            self.assertNotIn("set-cookie", hd)
        # an unknown value fails over to a fresh pick with a new cookie
        st, hd, body = self.get("sticky.test", headers={"Cookie": "SRV=0000000000000000"})
        self.assertEqual(st, 200)
        self.assertIn("set-cookie", hd)

    def test_websocket_through(self):
        s = socket.create_connection(("127.0.0.1", self.haproxy.port), timeout=5)
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall(("GET /ws/chat HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n" % key).encode())
        resp = b""
        while b"\r\n\r\n" not in resp:
            chunk = s.recv(4096)
            self.assertTrue(chunk)
            resp += chunk
        self.assertTrue(resp.startswith(b"HTTP/1.1 101"), resp)
        # one masked text frame "hello"
        mask = os.urandom(4)
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(b"hello"))
        s.sendall(bytes([0x81, 0x80 | 5]) + mask + payload)
        rest = resp.split(b"\r\n\r\n", 1)[1]
        while len(rest) < 7:
            chunk = s.recv(4096)
            self.assertTrue(chunk)
            rest += chunk
        self.assertEqual(rest[0], 0x81)
        self.assertEqual(rest[2:7], b"hello")
        s.close()

    def test_sighup_reload_keeps_connections(self):
        st, hd, body = self.get("web.test")
        self.assertEqual(h.parse_echo(body)["name"], "a")
        closed_before = self.agent.log().count("connection closed")
        self.agent.write_routes(self.build_routes(web_to="c"))
        self.agent.proc.send_signal(signal.SIGHUP)
        h.wait_until(lambda: h.parse_echo(self.get("web.test")[2]).get("name") == "c", 10,
                     what="reloaded route")
        self.assertEqual(self.agent.log().count("connection closed"), closed_before,
                         "SIGHUP must not drop HAProxy's connections")
        # a broken routes file is refused and the current routes stay
        with open(self.agent.routes_path, "w") as f:
            f.write("{ not json")
        self.agent.proc.send_signal(signal.SIGHUP)
        h.wait_until(lambda: "cannot load routes file" in self.agent.log(), 10, what="refusal logged")
        self.assertEqual(h.parse_echo(self.get("web.test")[2])["name"], "c")
        self.agent.write_routes(self.routes)
        self.agent.proc.send_signal(signal.SIGHUP)
        h.wait_until(lambda: h.parse_echo(self.get("web.test")[2]).get("name") == "a", 10,
                     what="routes restored")


class TrustedProxyTest(unittest.TestCase):
    """TLS terminated by a load balancer in front of HAProxy
    (SWARM_SPOA_TRUSTED_PROXIES): its X-Forwarded-Proto is the scheme, for
    ssl_only (no redirect loop) and for the app; a client outside the
    trusted addresses cannot claim https."""

    def test_trusted_proxy_scheme(self):
        wd = h.Workdir("trusted")
        try:
            echo = h.Echo(wd, "a")
            lb = "com.docker.lb."
            routes = {"services": [svc("secure", {lb + "hosts": "secure.test", lb + "port": "1",
                                                  lb + "ssl_only": "true"}, [task(echo)])]}
            agent = h.Agent(wd, routes=routes).start()
            # The tests' requests come from 127.0.0.1: trusted here.
            trusting = h.HAProxy(wd, [agent.port], name="trusting", env={
                "SWARM_SPOA_TRUSTED_PROXIES": "192.0.2.0/24 127.0.0.1"}).start()
            st, hd, body = trusting.request("secure.test", headers={"X-Forwarded-Proto": "https"})
            self.assertEqual(st, 200, "an ssl_only service behind a TLS proxy is served, not redirected")
            self.assertEqual(h.parse_echo(body)["xfp"], "https")
            st, hd, _ = trusting.request("secure.test", headers={"X-Forwarded-Proto": "http"})
            self.assertEqual(st, 301)
            st, hd, _ = trusting.request("secure.test")
            self.assertEqual(st, 301, "no X-Forwarded-Proto from the proxy: plain HTTP")
            # 127.0.0.1 is not among these: the header is replaced
            other = h.HAProxy(wd, [agent.port], name="other", env={
                "SWARM_SPOA_TRUSTED_PROXIES": "192.0.2.0/24"}).start()
            st, hd, _ = other.request("secure.test", headers={"X-Forwarded-Proto": "https"})
            self.assertEqual(st, 301)
        finally:
            wd.stop_all()


class AgentRestartTest(unittest.TestCase):
    """The agent killed mid-load: HAProxy answers with its configured
    fallback (503 "routing agent unavailable") and uses the restarted agent
    again without a restart of its own."""

    def test_agent_killed_and_restarted(self):
        wd = h.Workdir("restart")
        try:
            echo = h.Echo(wd, "a")
            routes = {"services": [svc("web", {"com.docker.lb.hosts": "web.test",
                                               "com.docker.lb.port": "1"}, [task(echo)])]}
            agent = h.Agent(wd, routes=routes).start()
            haproxy = h.HAProxy(wd, [agent.port]).start()
            hp_pid = haproxy.proc.pid
            self.assertEqual(haproxy.request("web.test")[0], 200)

            results = {"ok": 0, "unavailable": 0, "other": []}
            stop = threading.Event()

            def load():
                deadline = time.monotonic() + 60
                n = 0
                while not stop.is_set() and time.monotonic() < deadline and n < 100000:
                    n += 1
                    try:
                        st, hd, body = haproxy.request("web.test", timeout=5)
                    except (OSError, http.client.HTTPException) as e:
                        results["other"].append(repr(e))
                        continue
                    if st == 200:
                        results["ok"] += 1
                    elif st == 503 and "routing agent unavailable" in body:
                        results["unavailable"] += 1
                    else:
                        results["other"].append((st, body))

            threads = [threading.Thread(target=load) for _ in range(4)]
            for t in threads:
                t.start()
            h.wait_until(lambda: results["ok"] > 200, 20, what="load running")
            agent.kill(signal.SIGKILL)
            h.wait_until(lambda: results["unavailable"] > 20, 20, what="fallback answers")
            ok_at_restart = results["ok"]
            agent.start()
            h.wait_until(lambda: results["ok"] > ok_at_restart + 200, 30,
                         what="routing through the restarted agent")
            stop.set()
            for t in threads:
                t.join(timeout=30)
            self.assertEqual(results["other"], [], "only 200 or the configured 503 fallback")
            self.assertEqual(haproxy.proc.pid, hp_pid)
            self.assertIsNone(haproxy.proc.poll(), "HAProxy kept running")
        finally:
            wd.stop_all()


class HAProxyReloadTest(unittest.TestCase):
    """HAProxy reloaded (master-worker, SIGUSR2) under load: the new worker
    opens a burst of SPOP connections, the old one drains; no request fails."""

    def test_reload_under_load(self):
        wd = h.Workdir("reload")
        try:
            echo = h.Echo(wd, "a")
            routes = {"services": [svc("web", {"com.docker.lb.hosts": "web.test",
                                               "com.docker.lb.port": "1"}, [task(echo)])]}
            agent = h.Agent(wd, routes=routes).start()
            haproxy = h.HAProxy(wd, [agent.port], master_worker=True).start()
            h.wait_until(lambda: haproxy.request("web.test")[0] == 200, 10, what="first route")
            accepted_before = agent.log().count("connection accepted")
            results = {"ok": 0, "bad": []}
            stop = threading.Event()

            def load():
                n = 0
                while not stop.is_set() and n < 50000:
                    n += 1
                    try:
                        st, hd, body = haproxy.request("web.test", timeout=5)
                        if st == 200:
                            results["ok"] += 1
                        else:
                            results["bad"].append((st, body))
                    except (OSError, http.client.HTTPException) as e:
                        results["bad"].append(repr(e))

            threads = [threading.Thread(target=load) for _ in range(4)]
            for t in threads:
                t.start()
            for i in range(3):
                ok = results["ok"]
                haproxy.proc.send_signal(signal.SIGUSR2)
                h.wait_until(lambda: results["ok"] > ok + 300, 20, what="load after reload")
                # From 3.1 on, the next reload once the former worker has
                # left: HAProxy 3.2 (3.2.26) cannot always take the
                # listening sockets over while two former workers are alive
                # ("Failed to get the sockets from the old process"), binds
                # new ones, and the connections queued on the old ones are
                # reset. Its former workers leave at once; those of 2.6 and
                # 3.0 keep their idle SPOE connections ("timeout idle 2m")
                # and take the sockets over from any of them.
                if h.haproxy_at_least(3, 1):
                    h.wait_until(lambda: wd.log(haproxy.name).count("Former worker") > i, 20,
                                 what="former worker %d gone" % (i + 1))
            stop.set()
            for t in threads:
                t.join(timeout=30)
            self.assertEqual(results["bad"], [])
            self.assertGreater(agent.log().count("connection accepted"), accepted_before,
                               "reloaded HAProxy workers connect again")
            self.assertTrue(agent.alive())
        finally:
            wd.stop_all()


class HungAgentTest(unittest.TestCase):
    """An agent that accepts connections and never answers (stopped), next
    to a live one, with no health check to take it out: on HAProxy 2.6 and
    3.0, spoe-swarm.conf's "timeout hello 500ms" gives up on its
    connections and the engines move to the live agent, so no request waits
    for the processing timeout (2 s). From 3.1 on there is no HELLO timeout
    (the lines are inside ".if !version_atleast(3.1)"): there the SPOP
    health check is what takes such an agent out (docs/haproxy.md)."""

    def test_hung_agent_costs_a_hello_timeout(self):
        if h.haproxy_at_least(3, 1):
            self.skipTest("HAProxy %s has no SPOE HELLO timeout" % h.haproxy_version())
        wd = h.Workdir("hung")
        try:
            echo = h.Echo(wd, "a")
            routes = {"services": [svc("web", {"com.docker.lb.hosts": "web.test",
                                               "com.docker.lb.port": "1"}, [task(echo)])]}
            hung = h.Agent(wd, routes=routes, name="hung").start()
            live = h.Agent(wd, routes=routes, name="live").start()
            hung.proc.send_signal(signal.SIGSTOP)
            haproxy = h.HAProxy(wd, [hung.port, live.port], check_agents=False).start()
            took = []
            for _ in range(8):
                t0 = time.monotonic()
                st, hd, body = haproxy.request("web.test", timeout=10)
                took.append((st, round(time.monotonic() - t0, 2)))
            self.assertEqual([st for st, _ in took], [200] * 8, took)
            # without the HELLO timeout, requests wait 2 s (then the retry)
            self.assertLess(max(t for _, t in took), 1.5, took)
        finally:
            if hung.alive():
                hung.proc.send_signal(signal.SIGCONT)
            wd.stop_all()


class SpoeConfTest(unittest.TestCase):
    """haproxy-conf/spoe-swarm.conf has two engines, the first ask and the
    retry (docs/haproxy.md): they must send the same messages and accept
    the same variables, and both frontends must retry through the second."""

    conf_dir = os.path.join(os.environ.get("SWARM_SPOA_SRC", os.path.join(
        os.path.dirname(__file__), "..", "..")), "haproxy-conf")

    def scopes(self):
        scopes, cur = {}, None
        with open(os.path.join(self.conf_dir, "spoe-swarm.conf")) as f:
            for line in f:
                line = line.split("#", 1)[0].strip()
                if line.startswith("[") and line.endswith("]"):
                    cur = scopes.setdefault(line[1:-1], [])
                elif line and cur is not None:
                    cur.append(" ".join(line.split()))
        return scopes

    def test_engines_agree(self):
        scopes = self.scopes()
        self.assertEqual(sorted(scopes), ["swarm-spoa", "swarm-spoa-retry"])

        def shared(lines):
            # messages, groups and what decides the variables set
            keep = ("spoe-message", "spoe-group", "args", "messages", "groups",
                    "option var-prefix", "option set-on-error", "option continue-on-error",
                    "register-var-names", "use-backend")
            return [ln for ln in lines if ln.startswith(keep)]

        self.assertEqual(shared(scopes["swarm-spoa"]), shared(scopes["swarm-spoa-retry"]))
        self.assertIn("spoe-agent swarm-spoa-retry", scopes["swarm-spoa-retry"])

    def test_configuration_valid_without_warnings(self):
        """haproxy -c of the shipped files, TLS passthrough included, on the
        HAProxy under test: valid, and not one warning (a keyword that
        version deprecates, a setting it ignores with a warning)."""
        wd = h.Workdir("conf")
        try:
            c = h.subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                                  "-days", "2", "-subj", "/CN=conf.test",
                                  "-keyout", wd.file("k.pem"), "-out", wd.file("c.pem")],
                                 stdout=h.subprocess.DEVNULL, stderr=h.subprocess.DEVNULL)
            self.assertEqual(c.returncode, 0)
            with open(wd.file("default.pem"), "w") as f:
                f.write(open(wd.file("c.pem")).read() + open(wd.file("k.pem")).read())
            with open(wd.file("crt-list"), "w") as f:
                f.write(wd.file("default.pem") + "\n")
            env = dict(os.environ, SWARM_SPOA_CONF_DIR=self.conf_dir,
                       SWARM_SPOA_RUNTIME=wd.file("admin.sock"),
                       SWARM_SPOA_CRT_LIST=wd.file("crt-list"),
                       SWARM_SPOA_TLS_PASSTHROUGH_BIND="127.0.0.1:%d" % h.free_port())
            r = h.subprocess.run([h.HAPROXY_BIN, "-c"] + [
                a for name in ("haproxy.cfg", "tls-passthrough.cfg", "swarm-backends.cfg", "agents-local.cfg")
                for a in ("-f", os.path.join(self.conf_dir, name))],
                env=env, stdout=h.subprocess.PIPE, stderr=h.subprocess.STDOUT,
                stdin=h.subprocess.DEVNULL, timeout=60)
            out = r.stdout.decode(errors="replace")
            self.assertEqual(r.returncode, 0, out)
            self.assertNotIn("[WARNING]", out)
            self.assertNotIn("[ALERT]", out)
        finally:
            wd.stop_all()

    def test_frontends_retry_through_the_retry_engine(self):
        for name, group in (("haproxy.cfg", "route"), ("tls-passthrough.cfg", "route-tcp")):
            with open(os.path.join(self.conf_dir, name)) as f:
                text = f.read()
            for engine in ("swarm-spoa", "swarm-spoa-retry"):
                self.assertIn("filter spoe engine %s config" % engine, text, name)
            sends = [ln.split() for ln in text.splitlines() if "send-spoe-group" in ln]
            self.assertEqual([ln[ln.index("send-spoe-group") + 1:][:2] for ln in sends],
                             [["swarm-spoa", group], ["swarm-spoa-retry", group]], name)
            self.assertIn("!{ var(txn.route.action) -m found }", " ".join(" ".join(ln) for ln in sends[1:]))


if __name__ == "__main__":
    why = h.require_haproxy()
    if why:
        print("SKIP: " + why)
        sys.exit(77)
    unittest.main(verbosity=2)
