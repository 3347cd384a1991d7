"""The daemon's command line and environment: --help and --version, bad
options, SWARM_SPOA_* equivalents, listeners on IPv4, IPv6 and unix
sockets, and an agent started without routes answering 404.
"""
import os
import socket
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness as h  # noqa: E402

FLAGS = ["listen", "routes", "threads", "log-level", "log-format", "docker", "docker-mode",
         "spop-collect", "stats-socket", "stats-listen", "metrics-listen", "service-cluster",
         "manage-networks", "proxy-service", "idle-timeout", "max-conns", "metrics-allow-remote",
         "policy", "ledger", "claim-grace", "help", "version"]


def run(args, env=None, timeout=10):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([h.AGENT_BIN] + args, capture_output=True, text=True, env=e,
                          timeout=timeout, stdin=subprocess.DEVNULL)


class CliTest(unittest.TestCase):
    def test_help_lists_every_flag_and_env(self):
        r = run(["--help"])
        self.assertEqual(r.returncode, 0)
        for f in FLAGS:
            self.assertIn("--" + f, r.stdout)
        for f in FLAGS[:-2]:
            self.assertIn("SWARM_SPOA_" + f.upper().replace("-", "_"), r.stdout)

    def test_version(self):
        r = run(["--version"])
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^swarm-spoa \d+\.\d+\.\d+")

    def test_bad_options_exit_2(self):
        for args in (["--no-such-flag"], ["--threads", "abc"], ["--threads", "-1"],
                     ["--threads"], ["stray"], ["--max-frame-size", "100"],
                     ["--spop-collect", "10001"], ["--spop-collect", "sometimes"]):
            r = run(args)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn("swarm-spoa", r.stderr)

    def test_bad_environment_exits_2(self):
        r = run([], env={"SWARM_SPOA_THREADS": "many"})
        self.assertEqual(r.returncode, 2)
        self.assertIn("SWARM_SPOA_THREADS", r.stderr)

    def test_bad_listen_address_fails(self):
        r = run(["--listen", "nonsense"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("bad address", r.stderr)

    def test_missing_routes_file_fails_at_start(self):
        r = run(["--listen", "127.0.0.1:%d" % h.free_port(), "--routes", "/nonexistent/routes.json"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot load routes file", r.stderr)


    def test_manage_networks_needs_proxy_service_and_docker(self):
        # a network manager that cannot know which service to manage
        # refuses to start rather than do nothing quietly
        port = "127.0.0.1:%d" % h.free_port()
        r = run(["--listen", port, "--docker", "unix:///nonexistent/docker.sock",
                 "--manage-networks"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("--manage-networks needs --proxy-service", r.stderr)
        r = run(["--listen", port, "--manage-networks", "--proxy-service", "p_haproxy"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("--manage-networks needs Docker discovery", r.stderr)


    def test_bad_ledger_or_policy_stops_the_agent(self):
        # starting without the ledger would hand every host to whoever
        # claims it first: a ledger file that does not parse stops the agent
        wd = h.Workdir("cli-ledger")
        try:
            port = "127.0.0.1:%d" % h.free_port()
            ledger, policy = wd.file("ledger"), wd.file("policy")
            with open(ledger, "w") as f:
                f.write("# swarm-spoa host ledger v1\nbank.example.com bank soon 0\n")
            r = run(["--listen", port, "--ledger", ledger])
            self.assertEqual(r.returncode, 1)
            self.assertIn("cannot read the ledger", r.stderr)
            self.assertIn("line 2: times are milliseconds", r.stderr)
            with open(policy, "w") as f:
                f.write("host bank.example.com\n")
            r = run(["--listen", port, "--policy", policy])
            self.assertEqual(r.returncode, 1)
            self.assertIn("cannot load the policy file", r.stderr)
            self.assertIn("line 1: host needs a pattern and at least one owner", r.stderr)
        finally:
            wd.stop_all()


class ListenersTest(unittest.TestCase):
    def setUp(self):
        self.wd = h.Workdir("listen")

    def tearDown(self):
        self.wd.stop_all()

    def handshake(self, family, addr):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(addr)
        c = h.SpopClient.__new__(h.SpopClient)
        c.sock, c.buf = s, b""
        f = c.handshake()
        c.send(h.notify_frame(1, 1, [("route", [("host", "any.test")])]))
        ack = c.recv_frame()
        c.close()
        return f, ack

    def test_ipv4_ipv6_unix_and_empty_table(self):
        p4, p6 = h.free_port(), h.free_port()
        path = self.wd.file("agent.sock")
        proc = self.wd.spawn("agent", [h.AGENT_BIN, "--listen", "127.0.0.1:%d" % p4,
                                       "--listen", "[::1]:%d" % p6, "--listen", "unix:" + path])
        h.wait_until(lambda: proc.poll() is not None or os.path.exists(path), 10, what="unix socket")
        self.assertIsNone(proc.poll(), self.wd.log("agent"))
        h.wait_until(lambda: h.port_open(p4), 10, what="ipv4 listener")
        for family, addr in ((socket.AF_INET, ("127.0.0.1", p4)),
                             (socket.AF_INET6, ("::1", p6)),
                             (socket.AF_UNIX, path)):
            hello, ack = self.handshake(family, addr)
            self.assertEqual(hello.type, h.AGENT_HELLO)
            # no routes given: an empty table, every answer is 404
            self.assertEqual(ack.vars()["action"], "not_found")
        # HAProxy's user or group, never every local user
        self.assertEqual(oct(os.stat(path).st_mode & 0o777), oct(0o660))
        proc.terminate()
        self.assertEqual(proc.wait(timeout=10), 0)
        self.assertFalse(os.path.exists(path), "the unix socket file is removed at exit")

    def test_environment_listen(self):
        p = h.free_port()
        proc = self.wd.spawn("agent", [h.AGENT_BIN], env={"SWARM_SPOA_LISTEN": "127.0.0.1:%d" % p,
                                                         "SWARM_SPOA_LOG_FORMAT": "json"})
        h.wait_until(lambda: proc.poll() is not None or h.port_open(p), 10, what="env listener")
        self.assertIsNone(proc.poll())
        hello, ack = self.handshake(socket.AF_INET, ("127.0.0.1", p))
        self.assertEqual(hello.type, h.AGENT_HELLO)
        proc.terminate()
        proc.wait(timeout=10)
        first = self.wd.log("agent").splitlines()[0]
        self.assertTrue(first.startswith("{") and '"msg":"started"' in first, first)


if __name__ == "__main__":
    unittest.main(verbosity=2)
