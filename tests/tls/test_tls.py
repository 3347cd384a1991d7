"""TLS through a real HAProxy (2.6, 3.0 or 3.2: SWARM_SPOA_HAPROXY) with
haproxy-conf/, the real agent pushing certificates through the runtime API,
and real backends, all on 127.0.0.1.

Certificates come from files (--certs-dir), the form Docker secrets take
inside the agent's containers; they are made by this test with openssl.

Checked: SNI picks each service's certificate and the request reaches the
service; unknown or no SNI gets the default certificate (--default-cert
replaces the one HAProxy started with); ssl_only redirects (301 GET, 308
POST); X-Forwarded-Proto/-For; HSTS on TLS only; HTTP/2 by ALPN; TLS 1.0
and 1.1 refused; bad material (key not matching, expired, not PEM, a key
HAProxy cannot load, missing, an unsafe name) refused with its reason in
show certs and show errors while every other certificate is served and the
routes keep working with the default certificate; TLS passthrough to a
backend whose own certificate the client sees, next to termination on the
same port, handed to the terminating frontend over a unix socket of mode 600; an HAProxy restarted in place refilled; two agents pushing to
one HAProxy agree; rotation under load without a failed request.
"""
import json
import os
import re
import signal
import socket
import ssl
import stat
import subprocess
import sys
import threading
import time
import unittest
import warnings

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
import harness as h  # noqa: E402
import tlstest as t  # noqa: E402

LB = "com.docker.lb."
ROTATION_SECONDS = 20


def svc(name, echo_port, **labels):
    lab = {LB + "port": str(echo_port)}
    lab.update({LB + k: v for k, v in labels.items()})
    return {"name": name, "labels": lab, "tasks": [{"id": name + ".1", "address": "127.0.0.1"}]}


class TLSTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.wd = h.Workdir("tls")
        cls.tls_server = None
        try:
            cls.setup_certs()
            cls.echo = {n: h.Echo(cls.wd, n) for n in ("a", "b", "w", "mm", "plain")}
            cls.tls_server = t.TLSServer(cls.certs.path("pt.crt"), cls.certs.path("pt.key"),
                                         "passthrough-backend\n")
            cls.agent = h.Agent(cls.wd, routes=cls.routes(), threads=2)
            cls.https_port = h.free_port()
            cls.pt_port = h.free_port()
            cls.haproxy = h.HAProxy(cls.wd, [cls.agent.port], env={
                "SWARM_SPOA_HTTPS_BIND": "127.0.0.1:%d" % cls.https_port,
                "SWARM_SPOA_CRT_LIST": cls.crt_list}).start()
            cls.haproxy_pt = h.HAProxy(cls.wd, [cls.agent.port], name="haproxy-pt", env={
                "SWARM_SPOA_TLS_PASSTHROUGH_BIND": "127.0.0.1:%d" % cls.pt_port,
                "SWARM_SPOA_TLS_HANDOFF": "unix@" + cls.wd.file("haproxy-pt-tls.sock"),
                "SWARM_SPOA_CRT_LIST": cls.crt_list},
                cfg_files=[os.path.join(h.SRC, "haproxy-conf", "tls-passthrough.cfg")]).start()
            cls.agent.extra = cls.agent_args()
            cls.agent.start()
            # HAProxy checks the agent every 500 ms: routed once it saw it up
            for hp in (cls.haproxy, cls.haproxy_pt):
                h.wait_until(lambda: hp.request("plain.test")[0] == 200, 10,
                             what="HAProxy routing through the agent")
            cls.wait_pushed(cls.agent, ["a.crt+a.key", "b.pem", "w.crt+w.key", "default"])
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.tls_server:
            cls.tls_server.stop()
        cls.wd.stop_all()

    @classmethod
    def setup_certs(cls):
        c = cls.certs = t.Certs(cls.wd.file("certs"))
        c.make("initial", "initial-default.test", kind="rsa")
        c.make("default", "default.test", kind="rsa")
        cls.default_pem = c.bundle("default", cls.wd.file("default.pem"))
        c.make("a", "a.test")
        c.make("a2", "a.test")            # rotation
        c.make("b", "b.test", kind="rsa")
        c.bundle("b")                      # certificate and key in one secret
        c.make("w", "w.test", sans=("*.w.test",))
        c.make("ex", "ex.test", expired=True)
        c.make("mm", "mm.test")
        c.make("hk", "hk.test")
        c.make("sh", "sh.test")            # named by a service with another host too
        c.make("nc", "elsewhere.test")     # covers none of its service's hosts
        c.make("fk", "fk.test")
        c.bundle("fk")                     # named file:fk.pem
        c.make("pt", "pt.test")            # the passthrough backend's own
        with open(c.path("garbage.pem"), "w") as f:
            f.write("this is not a certificate\n")
        # a key block that is base64 and DER-shaped, which only HAProxy refuses
        with open(c.path("bad.key"), "w") as f:
            f.write("-----BEGIN PRIVATE KEY-----\nMAMCAQA=\n-----END PRIVATE KEY-----\n")
        # HAProxy starts with a crt-list holding a default certificate
        cls.crt_list = cls.wd.file("crt-list")
        with open(cls.crt_list, "w") as f:
            f.write(c.bundle("initial", cls.wd.file("initial.pem")) + "\n")
        # the CA bundle of the rotation clients: old and new are both fine
        with open(cls.wd.file("a-both.crt"), "w") as f:
            f.write(open(c.path("a.crt")).read() + open(c.path("a2.crt")).read())

    @classmethod
    def routes(cls, a_cert="a"):
        e = cls.echo
        return {"services": [
            svc("a", e["a"].port, hosts="a.test", ssl_cert=a_cert + ".crt",
                ssl_key=a_cert + ".key", hsts="600"),
            svc("b", e["b"].port, hosts="b.test", ssl_cert="b.pem", ssl_only="true"),
            svc("w", e["w"].port, hosts="*.w.test", ssl_cert="w.crt", ssl_key="w.key"),
            svc("mm", e["mm"].port, hosts="mm.test", ssl_cert="mm.crt", ssl_key="b.key"),
            svc("ex", e["mm"].port, hosts="ex.test", ssl_cert="ex.crt", ssl_key="ex.key"),
            svc("gb", e["mm"].port, hosts="gb.test", ssl_cert="garbage.pem"),
            svc("hk", e["mm"].port, hosts="hk.test", ssl_cert="hk.crt", ssl_key="bad.key"),
            svc("sh", e["mm"].port, hosts="sh.test,pc.test", ssl_cert="sh.crt", ssl_key="sh.key"),
            svc("cv", e["mm"].port, hosts="cv.test", ssl_cert="nc.crt", ssl_key="nc.key"),
            svc("cf", e["mm"].port, hosts="cf.test", ssl_cert="config:cf_pem"),
            svc("vk", e["mm"].port, hosts="vk.test", ssl_cert="volume:vk_pem"),
            svc("fk", e["mm"].port, hosts="fk.test", ssl_cert="file:fk.pem"),
            svc("nf", e["mm"].port, hosts="nf.test", ssl_cert="nothere"),
            svc("up", e["mm"].port, hosts="up.test", ssl_cert="../etc/passwd"),
            svc("pt", cls.tls_server.port, hosts="pt.test", ssl_passthrough="true"),
            svc("plain", e["plain"].port, hosts="plain.test"),
        ]}

    @classmethod
    def agent_args(cls, haproxies=None):
        args = ["--certs-dir", cls.certs.dir, "--default-cert", cls.default_pem]
        for hp in haproxies or (cls.haproxy, cls.haproxy_pt):
            args += ["--haproxy-runtime", "unix:" + cls.wd.file(hp.name + "-admin.sock")]
        return args

    @classmethod
    def certs_json(cls, agent):
        return json.loads(agent.stats("show certs json"))

    @classmethod
    def wait_pushed(cls, agent, names, timeout=15):
        def done():
            st = {c["name"]: c for c in cls.certs_json(agent)["certificates"]}
            return all(n in st and st[n]["status"] == "ok" for n in names) and st
        return h.wait_until(done, timeout, interval=0.1, what="certificates pushed: %s" % names)

    def served(self, sni, port=None):
        return t.served_cert(port or self.https_port, sni)

    # ------------------------------------------------------------------

    def test_01_sni_picks_the_certificate(self):
        c = self.certs
        self.assertEqual(self.served("a.test"), c.der("a"))
        self.assertEqual(self.served("b.test"), c.der("b"))
        self.assertEqual(self.served("x.w.test"), c.der("w"))
        # a wildcard covers one label in TLS (RFC 6125, and HAProxy's SNI
        # lookup), though the route matches deeper names
        self.assertEqual(self.served("deep.x.w.test"), c.der("default"))
        self.assertEqual(self.served("A.TEST"), c.der("a"), "SNI is not case-sensitive")
        # unknown names, and no name at all: the default pushed by the agent
        # replaced the one HAProxy started with
        self.assertEqual(self.served("unknown.test"), c.der("default"))
        self.assertEqual(self.served(None), c.der("default"))
        self.assertEqual(self.served("plain.test"), c.der("default"))

    def test_02_request_reaches_the_service(self):
        for host, name, ca in (("a.test", "a", "a.crt"), ("b.test", "b", "b.crt"),
                               ("x.w.test", "w", "w.crt")):
            st, hdrs, body, _ = t.https_request(self.https_port, host, "/p?q=1",
                                                cafile=self.certs.path(ca))
            e = h.parse_echo(body)
            self.assertEqual(st, 200, body)
            self.assertEqual(e["name"], name)
            self.assertEqual(e["path"], "/p?q=1")
            self.assertEqual(e["xfp"], "https")
            self.assertEqual(e["xff"], "127.0.0.1")

    def test_03_ssl_only_redirects(self):
        st, hdrs, _ = self.haproxy.request("b.test", "/p?q=1")
        self.assertEqual(st, 301)
        self.assertEqual(hdrs["location"], "https://b.test/p?q=1")
        st, hdrs, _ = self.haproxy.request("b.test", "/form", method="POST")
        self.assertEqual(st, 308)
        self.assertEqual(hdrs["location"], "https://b.test/form")
        # the same service over TLS is served
        st, _, body, _ = t.https_request(self.https_port, "b.test", "/p")
        self.assertEqual((st, h.parse_echo(body)["name"]), (200, "b"))

    def test_04_hsts_on_tls_only(self):
        st, hdrs, body, _ = t.https_request(self.https_port, "a.test")
        self.assertEqual(st, 200)
        self.assertEqual(hdrs.get("strict-transport-security"), "max-age=600")
        st, hdrs, body = self.haproxy.request("a.test")
        self.assertEqual(st, 200)
        self.assertNotIn("strict-transport-security", hdrs)
        self.assertEqual(h.parse_echo(body)["xfp"], "http")

    def test_05_http2_by_alpn(self):
        ctx = t.client_context(alpn=["h2", "http/1.1"])
        with socket.create_connection(("127.0.0.1", self.https_port), timeout=5) as s:
            with ctx.wrap_socket(s, server_hostname="a.test") as tls:
                self.assertEqual(tls.selected_alpn_protocol(), "h2")
        r = subprocess.run([t.CURL, "-sS", "--http2", "-k", "--max-time", "5",
                            "--resolve", "a.test:%d:127.0.0.1" % self.https_port,
                            "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                            "https://a.test:%d/" % self.https_port],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(r.stdout.decode(), "2 200", r.stderr.decode())

    def test_06_old_protocols_refused(self):
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        for version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
            ctx = t.client_context()
            ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
            ctx.maximum_version = version
            # let this client offer what the server must refuse
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            with self.assertRaises(ssl.SSLError) as cm:
                t.served_cert(self.https_port, "a.test", ctx=ctx)
            self.assertIn("PROTOCOL_VERSION", str(cm.exception).upper(),
                          "the server's protocol_version alert, not a client-side refusal")
        ctx = t.client_context()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        self.assertEqual(t.served_cert(self.https_port, "a.test", ctx=ctx), self.certs.der("a"))

    def test_07_bad_material_refused_with_reasons(self):
        st = {c["name"]: c for c in self.certs_json(self.agent)["certificates"]}
        expect = {
            "mm.crt+b.key": ("refused", "the private key does not match the certificate"),
            "ex.crt+ex.key": ("refused", "expired on"),
            "garbage.pem": ("refused", "not PEM"),
            "hk.crt+bad.key": ("refused", "HAProxy cannot load the private key"),
            "nc.crt+nc.key": ("refused", "covers none of its hosts (cv.test): its names are "
                              "elsewhere.test"),
            "config:cf_pem": ("missing", "config:cf_pem needs the Docker Engine API"),
            "volume_vk_pem": ("missing", "\"volume\" is not a kind of certificate source"),
            "nothere": ("missing", "no file"),
            ".._etc_passwd": ("missing", "is not a Docker secret or config name"),
        }
        for name, (status, reason) in expect.items():
            h.wait_until(lambda: {c["name"]: c for c in
                                  self.certs_json(self.agent)["certificates"]}[name]["status"] == status,
                         10, what="%s %s" % (name, status))
            st = {c["name"]: c for c in self.certs_json(self.agent)["certificates"]}
            self.assertEqual(st[name]["status"], status, st[name])
            self.assertIn(reason, st[name]["reason"] or "", st[name])
        errors = json.loads(self.agent.stats("show errors json"))["errors"]
        cert_errors = {e["subject"]: e["message"] for e in errors if e["kind"] == "cert"}
        for name, (_, reason) in expect.items():
            self.assertIn(name, cert_errors)
            self.assertIn(reason, cert_errors[name])
        text = self.agent.stats("show certs")
        self.assertTrue(text.startswith("NAME "), text)
        self.assertIn("the private key does not match the certificate", text)
        # HAProxy serves every other certificate; the refused hosts get the
        # default certificate and their routes still work
        self.assertEqual(self.served("a.test"), self.certs.der("a"))
        for host in ("mm.test", "ex.test", "gb.test", "hk.test", "nf.test", "up.test", "cv.test",
                     "cf.test", "vk.test"):
            self.assertEqual(self.served(host), self.certs.der("default"), host)
            st_, _, body, _ = t.https_request(self.https_port, host)
            self.assertEqual((st_, h.parse_echo(body)["name"]), (200, "mm"), host)
        # nothing refused reached HAProxy's crt-list or store
        listing = self.haproxy.runtime("show ssl crt-list %s" % self.crt_list)
        stores = self.haproxy.runtime("show ssl cert")
        for name in expect:
            self.assertNotIn("/%s/" % name, listing)
            self.assertNotIn("/%s/" % name, stores)
        # the certificate of elsewhere.test is not served for cv.test
        self.assertNotIn("cv.test", listing)
        self.assertNotIn("nc.crt", listing)

    def test_07b_certificate_served_only_for_the_hosts_it_covers(self):
        """A service with two hosts names a certificate of one of them: it
        is served for that one, the other gets the default certificate and
        keeps routing, and the reason says so."""
        st = self.wait_pushed(self.agent, ["sh.crt+sh.key"])["sh.crt+sh.key"]
        self.assertEqual(st["hosts"], ["pc.test", "sh.test"])
        self.assertEqual(st["served_hosts"], ["sh.test"])
        self.assertIn("not served for pc.test: not covered by its names (sh.test)", st["reason"])
        self.assertEqual(self.served("sh.test"), self.certs.der("sh"))
        self.assertEqual(self.served("pc.test"), self.certs.der("default"))
        for host in ("sh.test", "pc.test"):
            st_, _, body, _ = t.https_request(self.https_port, host)
            self.assertEqual((st_, h.parse_echo(body)["name"]), (200, "mm"), host)
        lines = [line for line in self.haproxy.runtime("show ssl crt-list %s" %
                                                       self.crt_list).splitlines()
                 if "/sh.crt+sh.key/" in line]
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].endswith(" sh.test"), lines)
        errors = json.loads(self.agent.stats("show errors json"))["errors"]
        self.assertTrue(any(e["kind"] == "cert" and e["subject"] == "sh.crt+sh.key" and
                            "pc.test" in e["message"] for e in errors), errors)
        self.assertIn("not served for pc.test", self.agent.stats("show certs"))

    def test_07c_file_kind(self):
        """file:NAME is the file in --certs-dir; its HAProxy path holds no
        ':' (HAProxy reads one as a line number)."""
        st = self.wait_pushed(self.agent, ["file:fk.pem"])["file:fk.pem"]
        self.assertEqual(st["source"], "file")
        self.assertTrue(st["path"].startswith("/swarm-spoa/file=fk.pem/"), st)
        self.assertEqual(self.served("fk.test"), self.certs.der("fk"))

    def test_08_passthrough_and_termination_on_one_port(self):
        port = self.pt_port
        served_before = self.tls_server.served
        # a passthrough service: the client talks TLS with the backend
        self.assertEqual(t.served_cert(port, "pt.test"), self.certs.der("pt"))
        st, _, body, der = t.https_request(port, "pt.test", cafile=self.certs.path("pt.crt"))
        self.assertEqual((st, body), (200, "passthrough-backend\n"))
        self.assertEqual(der, self.certs.der("pt"))
        self.assertGreater(self.tls_server.served, served_before)
        # any other name is terminated by HAProxy, with the pushed
        # certificates, and keeps the client's address (PROXY v2)
        self.assertEqual(t.served_cert(port, "a.test"), self.certs.der("a"))
        st, hdrs, body, _ = t.https_request(port, "a.test", "/x", cafile=self.certs.path("a.crt"))
        e = h.parse_echo(body)
        self.assertEqual((st, e["name"], e["xfp"], e["xff"]), (200, "a", "https", "127.0.0.1"))
        self.assertEqual(hdrs.get("strict-transport-security"), "max-age=600")
        self.assertEqual(t.served_cert(port, "unknown.test"), self.certs.der("default"))
        # the passthrough name has no certificate of ours on the terminating side
        self.assertEqual(self.served("pt.test"), self.certs.der("default"))

    def test_08b_handoff_over_a_private_unix_socket(self):
        """The connections tls-passthrough.cfg terminates reach the "http"
        frontend over a unix socket of mode 600: no abstract socket, which
        any local process could open and write a PROXY header to (and
        which HAProxy 3.1.0 could not connect to)."""
        path = self.wd.file("haproxy-pt-tls.sock")
        st = os.stat(path)
        self.assertTrue(stat.S_ISSOCK(st.st_mode), path)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600, oct(st.st_mode))
        # every unix socket the passthrough HAProxy holds is a file
        inodes = set()
        fd_dir = "/proc/%d/fd" % self.haproxy_pt.proc.pid
        for fd in os.listdir(fd_dir):
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        with open("/proc/net/unix") as f:
            names = [line.split()[7] for line in f.read().splitlines()[1:]
                     if len(line.split()) > 7 and line.split()[6] in inodes]
        # (HAProxy binds <path>.<pid>.tmp, then renames it to <path>)
        self.assertTrue([n for n in names if n == path or re.match(re.escape(path) + r"\.\d+\.tmp$", n)],
                        names)
        self.assertEqual([n for n in names if n.startswith("@")], [], names)
        # and a terminated connection went through it, with the client's address
        st_, _, body, _ = t.https_request(self.pt_port, "a.test", "/h",
                                          cafile=self.certs.path("a.crt"))
        self.assertEqual((st_, h.parse_echo(body)["xff"]), (200, "127.0.0.1"))

    def test_09_haproxy_restarted_in_place_is_refilled(self):
        self.haproxy.stop()
        self.haproxy.start()
        # it starts with the crt-list file: the initial default, nothing else
        t0 = time.monotonic()
        h.wait_until(lambda: self.served("a.test") == self.certs.der("a")
                     and self.served("unknown.test") == self.certs.der("default"), 15,
                     interval=0.1, what="certificates pushed again to the restarted HAProxy")
        refill = time.monotonic() - t0
        print("restarted HAProxy refilled in %.2fs" % refill)
        self.assertLess(refill, 10)
        self.assertEqual(self.served("b.test"), self.certs.der("b"))

    def test_10_two_agents_agree(self):
        agent2 = h.Agent(self.wd, routes=self.routes(), threads=1, name="agent2",
                         extra=self.agent_args((self.haproxy,))).start()
        try:
            self.wait_pushed(agent2, ["a.crt+a.key", "b.pem", "w.crt+w.key", "sh.crt+sh.key",
                                      "file:fk.pem", "default"])
            ours = [line for line in self.haproxy.runtime("show ssl crt-list -n %s" %
                                                           self.crt_list).splitlines()
                    if line.startswith("/swarm-spoa/")]
            # one line per certificate, left alone by both for a while
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                now = [line for line in self.haproxy.runtime("show ssl crt-list -n %s" %
                                                              self.crt_list).splitlines()
                       if line.startswith("/swarm-spoa/")]
                self.assertEqual(now, ours)
                time.sleep(0.25)
            paths = [line.split(":")[0] for line in ours]
            self.assertEqual(len(paths), len(set(paths)), ours)
            self.assertEqual(len(paths), 5, ours)
            self.assertEqual(self.served("a.test"), self.certs.der("a"))
        finally:
            agent2.kill(signal.SIGTERM)

    def test_11_rotation_under_load(self):
        """A new certificate for a.test, served within seconds, with no
        failed request while 4 clients make new TLS connections for 20 s."""
        stop = time.monotonic() + ROTATION_SECONDS
        results = []
        lock = threading.Lock()
        ca = self.wd.file("a-both.crt")
        der_a, der_a2 = self.certs.der("a"), self.certs.der("a2")

        def client():
            while time.monotonic() < stop:
                t0 = time.monotonic()
                try:
                    st, _, body, der = t.https_request(self.https_port, "a.test", cafile=ca)
                    ok = st == 200 and h.parse_echo(body).get("name") == "a"
                    res = (t0, ok, der, "" if ok else "%d %s" % (st, body[:80]))
                except (OSError, ssl.SSLError) as e:
                    res = (t0, False, None, repr(e))
                with lock:
                    results.append(res)

        threads = [threading.Thread(target=client) for _ in range(4)]
        for th in threads:
            th.start()
        time.sleep(5)   # load before the change: the old certificate
        self.agent.write_routes(self.routes(a_cert="a2"))
        changed = time.monotonic()
        self.agent.proc.send_signal(signal.SIGHUP)
        for th in threads:
            th.join(timeout=ROTATION_SECONDS + 30)
        failures = [r for r in results if not r[1]]
        self.assertFalse(failures, "failed requests during rotation: %s" % failures[:5])
        self.assertGreater(len(results), 100)
        first_new = min((r[0] for r in results if r[2] == der_a2), default=None)
        self.assertIsNotNone(first_new, "the new certificate was never served")
        after = first_new - changed
        print("rotation: %d requests, 0 failed, new certificate served %.2fs after the "
              "label change" % (len(results), after))
        self.assertLess(after, 10)
        self.assertTrue(all(r[2] == der_a2 for r in results if r[0] > first_new + 1),
                        "the old certificate came back after the new one was served")
        self.assertTrue(any(r[2] == der_a for r in results), "the old one was served before")
        self.assertEqual(self.served("a.test"), der_a2)


    def test_12_replacement_not_there_yet_keeps_the_last_one(self):
        """A label naming a certificate that cannot be read yet (a secret
        being mounted) leaves the current one served until it can."""
        der_now = self.served("a.test")
        self.agent.write_routes(self.routes(a_cert="a3"))
        self.agent.proc.send_signal(signal.SIGHUP)
        h.wait_until(lambda: {c["name"]: c for c in self.certs_json(self.agent)["certificates"]}
                     .get("a3.crt+a3.key", {}).get("status") == "missing", 10,
                     what="a3 missing")
        deadline = time.monotonic() + 2 * 2 + 1   # past the grace of a removal
        while time.monotonic() < deadline:
            self.assertEqual(self.served("a.test"), der_now)
            time.sleep(0.2)
        # it arrives: served within seconds
        self.certs.make("a3", "a.test")
        t0 = time.monotonic()
        h.wait_until(lambda: self.served("a.test") == self.certs.der("a3"), 10, interval=0.1,
                     what="a3 served once its files exist")
        print("replacement served %.2fs after its files appeared" % (time.monotonic() - t0))
        # the one it replaced leaves HAProxy after its grace
        h.wait_until(lambda: self.haproxy.runtime("show ssl crt-list %s" % self.crt_list)
                     .count("/swarm-spoa/a") == 1, 10, what="one a.test line left")


def main():
    missing = [n for n, p in (("openssl", t.OPENSSL), ("curl", t.CURL)) if not p]
    why = h.require_haproxy()
    if why or missing:
        print("SKIP: %s" % (why or "%s not installed (tests/run.sh installs them)" % ", ".join(missing)))
        sys.exit(77)
    unittest.main(verbosity=2)


if __name__ == "__main__":
    main()
