"""HAProxy's runtime API over TCP behind TLS with client certificates, as
docs/security.md describes it, through a real HAProxy (2.6, 3.0 or 3.2:
SWARM_SPOA_HAPROXY) with haproxy-conf/ as it is and
SWARM_SPOA_RUNTIME_TLS_CERT / _CA set:

- the agent, with --haproxy-runtime-ca/-cert/-key, streams HAProxy's ring of
  failed requests and reads its traffic table over TLS (a refused task gets
  excluded, a request shows in the per-service figures);
- a plain connection, no client certificate, or one from another CA never
  gets an answer of the runtime API;
- the lock-up of HAProxy 2.6 (a session left behind by every client that
  sent a command line over 8 KB and closed, until "stats maxconn" is full)
  cannot be caused by such clients: after 40 of them, HAProxy holds no
  runtime API session besides the agent's (on 2.6 with the plain TCP
  socket, 20 of them left 11 sessions behind);
- an agent whose certificate HAProxy does not accept says so in
  "show health".
"""
import json
import os
import socket
import ssl
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness as h  # noqa: E402

LB = "com.docker.lb."
LONG_LINE = 12000


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True)


def make_ca(wd, name):
    key, crt = wd.file(name + ".key"), wd.file(name + ".pem")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=" + name)
    return key, crt


def make_cert(wd, name, ca):
    """A certificate of <ca> for <name>: (certificate, key) PEM files."""
    key, csr, crt = wd.file(name + ".key"), wd.file(name + ".csr"), wd.file(name + ".pem")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", csr, "-subj", "/CN=" + name)
    openssl("x509", "-req", "-in", csr, "-CA", ca[1], "-CAkey", ca[0], "-CAcreateserial",
            "-out", crt, "-days", "2")
    return crt, key


def cli_sessions(haproxy):
    """The runtime API sessions HAProxy holds (fe=GLOBAL), this one aside."""
    lines = [ln for ln in haproxy.runtime("show sess").splitlines() if "fe=GLOBAL" in ln]
    return len(lines) - 1


class RuntimeTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.wd = h.Workdir("runtime-tls")
        try:
            ca = make_ca(cls.wd, "pair-ca")
            srv_crt, srv_key = make_cert(cls.wd, "haproxy", ca)
            cls.server_pem = cls.wd.file("haproxy-runtime.pem")
            with open(cls.server_pem, "w") as out:
                for p in (srv_crt, srv_key):
                    with open(p) as f:
                        out.write(f.read())
            cls.ca = ca[1]
            cls.agent_crt, cls.agent_key = make_cert(cls.wd, "agent", ca)
            cls.rogue_crt, cls.rogue_key = make_cert(cls.wd, "rogue", make_ca(cls.wd, "other-ca"))

            cls.echo = h.Echo(cls.wd, "a")
            cls.refused = h.free_port()
            routes = {"services": [
                {"name": "web", "labels": {LB + "hosts": "web.test", LB + "port": "1"},
                 "tasks": [{"id": "web.1", "address": "127.0.0.1", "port": cls.echo.port}]},
                {"name": "flaky", "labels": {LB + "hosts": "flaky.test", LB + "port": "1",
                                             LB + "max_fails": "1", LB + "fail_timeout": "60"},
                 "tasks": [{"id": "flaky.1", "address": "127.0.0.1", "port": cls.refused},
                           {"id": "flaky.2", "address": "127.0.0.1", "port": cls.echo.port}]},
            ]}
            cls.rport = h.free_port()
            runtime = "127.0.0.1:%d" % cls.rport
            tls = ["--haproxy-runtime-ca", cls.ca, "--haproxy-runtime-cert", cls.agent_crt,
                   "--haproxy-runtime-key", cls.agent_key]
            cls.agent = h.Agent(cls.wd, routes=routes, threads=1,
                                extra=["--haproxy-runtime", runtime,
                                       "--traffic-interval", "1"] + tls).start()
            # the same, with a certificate of another CA
            cls.rogue = h.Agent(cls.wd, routes=routes, threads=1, name="rogue",
                                extra=["--haproxy-runtime", runtime,
                                       "--haproxy-runtime-ca", cls.ca,
                                       "--haproxy-runtime-cert", cls.rogue_crt,
                                       "--haproxy-runtime-key", cls.rogue_key]).start()
            cls.haproxy = h.HAProxy(cls.wd, [cls.agent.port], env={
                "SWARM_SPOA_RUNTIME_LISTEN": runtime,
                "SWARM_SPOA_RUNTIME_TLS_CERT": cls.server_pem,
                "SWARM_SPOA_RUNTIME_TLS_CA": cls.ca,
            }).start()
            h.wait_until(lambda: h.port_open(cls.rport), 10, what="the runtime API's TLS port")
            h.wait_until(lambda: cls.health()["streams"][0]["connected"], 15,
                         what="the agent streaming HAProxy's ring over TLS")
        except BaseException:
            cls.wd.stop_all()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.wd.stop_all()

    @classmethod
    def health(cls, agent=None):
        return json.loads((agent or cls.agent).stats("show health json"))

    def tls_client(self, cert=None, key=None):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(self.ca)
        ctx.check_hostname = False
        if cert:
            ctx.load_cert_chain(cert, key)
        s = socket.create_connection(("127.0.0.1", self.rport), timeout=5)
        return ctx.wrap_socket(s)

    def ask(self, sock, command):
        """Sends <command>, returns what comes back until the end (b"" on a
        refused handshake or a reset)."""
        out = b""
        try:
            sock.sendall(command)
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                out += chunk
        except (OSError, ssl.SSLError):
            pass
        sock.close()
        return out

    def test_agent_over_tls(self):
        # one-shot commands: the traffic table, read every second
        polls = self.health()["traffic"]["polls"]
        h.wait_until(lambda: self.health()["traffic"]["polls"] >= polls + 2, 10,
                     what="two more reads of HAProxy's traffic table over TLS")
        self.assertIsNone(self.health()["traffic"]["last_error"])
        for _ in range(3):
            st, _, _ = self.haproxy.request("web.test", timeout=10)
            self.assertEqual(st, 200)

        def counted():
            s = {x["name"]: x for x in json.loads(self.agent.stats("show services json"))["services"]}
            return s["web"]["traffic"] and s["web"]["traffic"]["requests"] >= 3
        h.wait_until(counted, 10, interval=0.2, what="web's requests in show services")
        # the ring: a refused connection excludes flaky.1 (max_fails 1)
        lines = self.health()["streams"][0]["lines"]
        for _ in range(6):
            self.haproxy.request("flaky.test", timeout=10)
        h.wait_until(lambda: self.health()["streams"][0]["lines"] > lines, 10,
                     what="a failed request read from HAProxy's ring over TLS")
        h.wait_until(lambda: any(t["id"] == "flaky.1" and t["excluded"] for t in json.loads(
            self.agent.stats("show tasks flaky json"))["tasks"]), 5, what="flaky.1 excluded")
        self.assertIn("tls=1", self.agent.log().split("HAProxy event stream open", 1)[1].split("\n")[0])

    def test_no_answer_without_the_agents_certificate(self):
        plain = socket.create_connection(("127.0.0.1", self.rport), timeout=5)
        self.assertNotIn(b"Name: HAProxy", self.ask(plain, b"show info\n"))
        self.assertNotIn(b"Name: HAProxy", self.ask(self.tls_client(), b"show info\n"))
        self.assertNotIn(b"Name: HAProxy",
                         self.ask(self.tls_client(self.rogue_crt, self.rogue_key), b"show info\n"))
        # the agents' certificate does get an answer: the checks above can fail
        self.assertIn(b"Name: HAProxy",
                      self.ask(self.tls_client(self.agent_crt, self.agent_key), b"show info\n"))

    def test_rogue_agent_is_refused_and_says_why(self):
        h.wait_until(lambda: self.health(self.rogue)["streams"][0]["last_error"], 15,
                     what="the rogue agent's stream error")
        st = self.health(self.rogue)["streams"][0]
        self.assertFalse(st["connected"])
        self.assertIn("TLS", st["last_error"])
        print("a certificate of another CA: %s" % st["last_error"], flush=True)

    def test_long_lines_leave_no_session(self):
        before = cli_sessions(self.haproxy)
        line = b"x" * LONG_LINE
        for i in range(40):
            if i % 2:
                s = socket.create_connection(("127.0.0.1", self.rport), timeout=5)
            else:
                s = self.tls_client()
            try:
                s.sendall(line)
            except (OSError, ssl.SSLError):
                pass
            s.close()
        h.wait_until(lambda: cli_sessions(self.haproxy) <= max(before, 1) + 1, 15,
                     what="no runtime API session left by the long lines")
        after = cli_sessions(self.haproxy)
        print("runtime API sessions before %d, after 40 long lines %d" % (before, after), flush=True)
        # and the agent still gets through
        polls = self.health()["traffic"]["polls"]
        h.wait_until(lambda: self.health()["traffic"]["polls"] >= polls + 2, 10,
                     what="the agent reading HAProxy's table after the long lines")


if __name__ == "__main__":
    why = h.require_haproxy()
    if why:
        print("SKIP: " + why)
        sys.exit(77)
    unittest.main(verbosity=2)
