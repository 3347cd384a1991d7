"""Interlock's behaviour, label by label, through a real HAProxy (2.6, 3.0
or 3.2: SWARM_SPOA_HAPROXY) with haproxy-conf/ and the real agent fed by a
routes file, to applications on 127.0.0.1 that tell what reached them.
Each test names the label and what Interlock's NGINX template did with it
(docs/migrating-from-interlock.md, the parity table, points here):

- sticky_session_cookie: the application's own cookie is hashed onto the
  tasks; the proxy sets no cookie and never touches the application's;
- X-Real-IP: the client address, whatever the client sent;
- backend_mode=default: task mode;
- context_root_rewrite: 301 from a path without a trailing slash (and no
  dot) to the same with one, query kept, then the prefix stripped;
- ssl_backend, ssl_backend_tls_verify: TLS to a task that speaks only TLS,
  SNI from the Host, verification against the operator's CA when asked;
- services sharing a host and path with different settings: the later one
  skipped, and "show services" says why.
"""
import http.server
import json
import os
import ssl
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness as h  # noqa: E402

LB = "com.docker.lb."


class App:
    """An application on 127.0.0.1 that answers with JSON telling what
    reached it (path, headers, TLS server name) and, like the application
    of Interlock's sticky-session example, sets its own "session" cookie
    when the request carries none. With <tls>, it speaks only TLS."""

    def __init__(self, name, tls=None):
        self.name = name
        self.sni = []
        app = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = json.dumps({
                    "name": app.name,
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "sni": app.sni[-1] if app.sni else None,
                }).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if "session=" not in (self.headers.get("Cookie") or ""):
                    self.send_header("Set-Cookie", "session=%s-%d; Path=/" % (app.name, id(self)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls)

            def sni(sock, name, context):
                app.sni.append(name)
            ctx.sni_callback = sni
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def make_pki(wd):
    """A CA and a certificate it signed for app.test, made with openssl;
    returns (ca file, server PEM with its key)."""
    d = wd.file("pki")
    os.makedirs(d, exist_ok=True)

    def run(*args):
        subprocess.run(["openssl"] + list(args), cwd=d, check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=parity test CA",
        "-keyout", "ca.key", "-out", "ca.pem")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=app.test", "-keyout", "srv.key",
        "-out", "srv.csr")
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:app.test\n")
    run("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-extfile", "ext.cnf", "-out", "srv.pem")
    with open(os.path.join(d, "server.pem"), "w") as out:
        for name in ("srv.pem", "srv.key"):
            with open(os.path.join(d, name)) as f:
                out.write(f.read())
    return os.path.join(d, "ca.pem"), os.path.join(d, "server.pem")


def svc(name, labels, apps, **kw):
    d = {"name": name, "labels": labels,
         "tasks": [{"id": "%s-%s" % (name, a.name), "address": "127.0.0.1", "port": a.port}
                   for a in apps]}
    d.update(kw)
    return d


class InterlockParityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.wd = h.Workdir("parity")
        cls.apps = []
        try:
            cls.ca, server_pem = make_pki(cls.wd)
            app = {n: cls.app(n) for n in ("a", "b", "c", "d")}
            tls = {n: cls.app(n, tls=server_pem) for n in ("t1", "t2")}
            cls.routes = {"services": [
                svc("sticky", {LB + "hosts": "sticky.test", LB + "port": "1",
                               LB + "sticky_session_cookie": "session"},
                    [app["a"], app["b"], app["c"]]),
                svc("web", {LB + "hosts": "web.test", LB + "port": "1",
                            LB + "backend_mode": "default"}, [app["d"]]),
                svc("demo", {LB + "hosts": "demo.test", LB + "port": "1",
                             LB + "context_root": "/app", LB + "context_root_rewrite": "true"},
                    [app["d"]]),
                svc("tls", {LB + "hosts": "app.test", LB + "port": "1",
                            LB + "ssl_backend": "true"}, [tls["t1"]]),
                svc("tls-strict", {LB + "hosts": "app.test", LB + "port": "1",
                                   LB + "context_root": "/strict",
                                   LB + "ssl_backend": "true",
                                   LB + "ssl_backend_tls_verify": "required"}, [tls["t2"]]),
                svc("tls-wrong-name", {LB + "hosts": "other.test", LB + "port": "1",
                                       LB + "ssl_backend": "true",
                                       LB + "ssl_backend_tls_verify": "required"}, [tls["t2"]]),
                svc("tls-forgotten", {LB + "hosts": "plain.test", LB + "port": "1"}, [tls["t1"]]),
                svc("blue", {LB + "hosts": "shop.test", LB + "port": "1"}, [app["a"]],
                    created="2024-01-01T00:00:00Z"),
                svc("green", {LB + "hosts": "shop.test,green.test", LB + "port": "1",
                              LB + "ip_hash": "true"}, [app["b"]],
                    created="2024-06-01T00:00:00Z"),
            ]}
            # one worker: one round-robin position, exact shares
            cls.agent = h.Agent(cls.wd, routes=cls.routes, threads=1).start()
            # the operator's CA for ssl_backend_tls_verify=required
            cls.haproxy = h.HAProxy(cls.wd, [cls.agent.port],
                                    env={"SWARM_SPOA_BACKEND_CA": cls.ca}).start()
        except BaseException:
            cls.stop()
            raise

    @classmethod
    def app(cls, name, tls=None):
        a = App(name, tls)
        cls.apps.append(a)
        return a

    @classmethod
    def stop(cls):
        for a in cls.apps:
            a.stop()
        cls.wd.stop_all()

    @classmethod
    def tearDownClass(cls):
        cls.stop()

    def get(self, host, path="/", **kw):
        st, hd, body = self.haproxy.request(host, path, **kw)
        return st, hd, (json.loads(body) if st == 200 else body)

    # -- com.docker.lb.sticky_session_cookie ------------------------------

    def test_sticky_hashes_the_application_cookie(self):
        """Interlock: "hash $cookie_session consistent". The application's
        Set-Cookie reaches the client alone; requests carrying it stick to
        one task; the proxy never adds a cookie."""
        st, hd, body = self.get("sticky.test")
        self.assertEqual(st, 200)
        self.assertTrue(hd["set-cookie"].startswith("session=%s-" % body["name"]), hd["set-cookie"])
        cookie = hd["set-cookie"].split(";")[0]
        names = set()
        for _ in range(12):
            st, hd, body = self.get("sticky.test", headers={"Cookie": "theme=dark; " + cookie})
            self.assertEqual(st, 200)
            self.assertNotIn("set-cookie", hd)
            self.assertIn(cookie, body["headers"]["cookie"])
            names.add(body["name"])
        self.assertEqual(len(names), 1, names)

    def test_sticky_values_spread_and_no_cookie_balances(self):
        """Different session values land on different tasks; requests
        without the cookie are balanced round-robin, each getting only the
        application's cookie."""
        seen = {}
        for i in range(60):
            st, hd, body = self.get("sticky.test", headers={"Cookie": "session=user-%d" % i})
            seen.setdefault(body["name"], 0)
            seen[body["name"]] += 1
            self.assertNotIn("set-cookie", hd)
        self.assertEqual(set(seen), {"a", "b", "c"}, seen)
        names = []
        for _ in range(6):
            st, hd, body = self.get("sticky.test")
            names.append(body["name"])
            self.assertEqual(hd["set-cookie"].count("session="), 1, hd["set-cookie"])
        self.assertEqual(sorted(names), ["a", "a", "b", "b", "c", "c"])

    # -- com.docker.lb.context_root_rewrite --------------------------------

    def test_rewrite_adds_the_trailing_slash_first(self):
        """Interlock: "rewrite ^([^.]*[^/])$ $1/ permanent" then
        "rewrite ^/app/(.*) /$1 break". /app answers 301 to /app/ with the
        query kept (for any method), so that the page's relative links
        stay under /app/; /app/ and paths with a dot are stripped and
        forwarded."""
        st, hd, body = self.get("demo.test", "/app?x=1&y=2")
        self.assertEqual(st, 301)
        self.assertEqual(hd["location"], "/app/?x=1&y=2")
        st, hd, body = self.get("demo.test", "/app/login", method="POST")
        self.assertEqual(st, 301)
        self.assertEqual(hd["location"], "/app/login/")
        st, hd, body = self.get("demo.test", "/app/?x=1")
        self.assertEqual(st, 200)
        self.assertEqual(body["path"], "/?x=1")
        st, hd, body = self.get("demo.test", "/app/static/main.js")
        self.assertEqual(st, 200)
        self.assertEqual(body["path"], "/static/main.js")
        st, hd, body = self.get("demo.test", "/app/api/users/")
        self.assertEqual(body["path"], "/api/users/")

    # -- com.docker.lb.ssl_backend, ssl_backend_tls_verify ------------------

    def test_ssl_backend_speaks_tls_with_the_host_as_sni(self):
        """A task that speaks only TLS: reached over TLS, the request's
        host as server name, the usual headers; its certificate is not
        checked (verification "none", Interlock's default)."""
        st, hd, body = self.get("app.test:8080", "/x?y=1")
        self.assertEqual(st, 200, body)
        self.assertEqual(body["name"], "t1")
        self.assertEqual(body["sni"], "app.test")
        self.assertEqual(body["path"], "/x?y=1")
        self.assertEqual(body["headers"]["x-real-ip"], "127.0.0.1")
        self.assertEqual(body["headers"]["host"], "app.test:8080")

    def test_ssl_backend_verify_required(self):
        """"required": the task's certificate must chain to the operator's
        CA (SWARM_SPOA_BACKEND_CA) and name the request's host; a task
        whose certificate names another host is refused (503)."""
        st, hd, body = self.get("app.test", "/strict/page.html")
        self.assertEqual(st, 200, body)
        self.assertEqual(body["name"], "t2")
        self.assertEqual(body["sni"], "app.test")
        st, hd, body = self.get("other.test", "/")
        self.assertEqual(st, 503, body)

    def test_without_ssl_backend_a_tls_task_fails(self):
        """What ssl_backend repairs: plain HTTP to a port that speaks only
        TLS gets no answer from the task."""
        st, hd, body = self.get("plain.test", "/")
        self.assertIn(st, (502, 503), body)

    # -- services sharing a host and path with different settings ---------

    def test_disagreeing_services_the_later_is_skipped_and_says_why(self):
        """Interlock shared the host between both with the first service's
        settings; we keep the first created alone and show services says
        why the other gets no traffic, with both values."""
        for _ in range(6):
            st, hd, body = self.get("shop.test")
            self.assertEqual(body["name"], "a")
        self.assertEqual(self.get("green.test")[0], 404)
        line = [ln for ln in self.agent.stats("show services").splitlines() if " green " in ln]
        self.assertEqual(len(line), 1, line)
        self.assertIn("skipped", line[0])
        self.assertIn("conflicts with service blue on shop.test: different ip_hash "
                      "(false there, true here); services sharing a host and path must agree, "
                      "the first created keeps it", line[0])

    # -- X-Real-IP, backend_mode=default -----------------------------------

    def test_x_real_ip_is_the_client(self):
        st, hd, body = self.get("web.test", headers={"X-Real-IP": "203.0.113.9"})
        self.assertEqual(st, 200)
        self.assertEqual(body["headers"]["x-real-ip"], "127.0.0.1")
        self.assertEqual(body["headers"]["x-forwarded-for"], "127.0.0.1")

    def test_backend_mode_default_is_task_mode(self):
        st, hd, body = self.get("web.test", "/x")
        self.assertEqual(st, 200)
        self.assertEqual(body["name"], "d")
        line = [ln for ln in self.agent.stats("show services").splitlines()
                if ln.startswith("web ")]
        self.assertEqual(len(line), 1, line)
        self.assertIn(" routed ", line[0])


if __name__ == "__main__":
    why = h.require_haproxy()
    if why:
        print("SKIP: " + why)
        sys.exit(77)
    unittest.main(verbosity=2)
