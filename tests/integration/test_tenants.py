"""A bad tenant on a shared swarm, through a real HAProxy (2.6, 3.0 or 3.2:
SWARM_SPOA_HAPROXY) and the real agent, with services from a routes file
that name their stacks: stack "evil" tries to take stack "bank"'s host by
a longer context root, a redirect source, a huge canary weight and TLS
passthrough, and with the bank's service recreated after its own. Every
attempt is refused with its reason in "show services" and "explain", the
bank keeps every request, the bad tenant's own host keeps routing, and
the ledger file keeps the bank the owner across a restart of the agent
and for a second agent reading the same file.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness as h  # noqa: E402

LB = "com.docker.lb."


def svc(name, stack, created, labels, echo):
    labels = dict(labels)
    labels.setdefault(LB + "port", "1")
    return {"name": name, "stack": stack, "created": created, "labels": labels,
            "tasks": [{"id": "task-" + name, "address": "127.0.0.1", "port": echo.port}]}


class BadTenantTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.wd = h.Workdir("tenants")
        try:
            cls.bank = h.Echo(cls.wd, "bank")
            cls.evil = h.Echo(cls.wd, "evil")
            cls.ledger = cls.wd.file("ledger")
            cls.policy = cls.wd.file("policy")
            with open(cls.policy, "w") as f:
                f.write("# the operator keeps payments for the bank\n"
                        "host pay.example.com bank\n")
            cls.agent = cls.make_agent("agent", cls.routes(bank_created="2026-01-01T00:00:00Z"))
            cls.haproxy = h.HAProxy(cls.wd, [cls.agent.port]).start()
        except BaseException:
            cls.wd.stop_all()
            raise

    @classmethod
    def make_agent(cls, name, routes):
        return h.Agent(cls.wd, routes=routes, name=name,
                       extra=["--ledger", cls.ledger, "--policy", cls.policy,
                              "--claim-grace", "3600"]).start()

    @classmethod
    def routes(cls, bank_created):
        b, e = cls.bank, cls.evil
        return {"services": [
            svc("bank_web", "bank", bank_created, {LB + "hosts": "bank.example.com"}, b),
            svc("evil_site", "evil", "2026-01-02T00:00:00Z", {LB + "hosts": "evil.example.net"}, e),
            svc("evil_login", "evil", "2026-01-03T00:00:00Z",
                {LB + "hosts": "bank.example.com", LB + "context_root": "/login"}, e),
            svc("evil_redirect", "evil", "2026-01-04T00:00:00Z",
                {LB + "hosts": "evil2.example.net",
                 LB + "redirects": "http://bank.example.com/login,https://evil.example.net/phish"}, e),
            svc("evil_heavy", "evil", "2026-01-05T00:00:00Z",
                {LB + "hosts": "bank.example.com", LB + "weight": "10000"}, e),
            svc("evil_pass", "evil", "2026-01-06T00:00:00Z",
                {LB + "hosts": "bank.example.com", LB + "ssl_passthrough": "true"}, e),
            svc("evil_pay", "evil", "2026-01-07T00:00:00Z", {LB + "hosts": "pay.example.com"}, e),
        ]}

    @classmethod
    def tearDownClass(cls):
        cls.wd.stop_all()

    def served_by(self, host, path, n=40, haproxy=None):
        names = set()
        for _ in range(n):
            st, hd, body = (haproxy or self.haproxy).request(host, path)
            self.assertEqual(st, 200, "%s%s: %s" % (host, path, body))
            names.add(h.parse_echo(body)["name"])
        return names

    def assert_refusals(self, agent):
        out = agent.stats("show services")
        for name in ("evil_login", "evil_redirect", "evil_heavy", "evil_pass"):
            line = [l for l in out.splitlines() if l.split() and l.split()[0] == name]
            self.assertEqual(len(line), 1, out)
            self.assertIn("skipped", line[0])
            self.assertIn("host bank.example.com belongs to stack bank", line[0])
        self.assertIn("host pay.example.com is reserved by the operator's policy (line 2) for "
                      "stack bank", out)
        self.assertIn("services_refused: 5\n", agent.stats("show info"))

    def test_owner_keeps_every_request(self):
        self.assertEqual(self.served_by("bank.example.com", "/login"), {"bank"})
        self.assertEqual(self.served_by("bank.example.com", "/"), {"bank"})
        self.assertEqual(self.served_by("evil.example.net", "/"), {"evil"})
        # the refused redirect source: no 302 to the phishing page
        st, hd, body = self.haproxy.request("bank.example.com", "/login/form")
        self.assertEqual(st, 200)
        self.assertEqual(h.parse_echo(body)["name"], "bank")
        # the pinned host is nobody's until the bank claims it
        self.assertEqual(self.haproxy.request("pay.example.com", "/")[0], 404)

    def test_refusals_shown(self):
        self.assert_refusals(self.agent)
        ex = self.agent.stats("explain bank.example.com /login")
        self.assertIn("refused  service evil_login: host bank.example.com belongs to stack bank",
                      ex)
        self.assertIn("refused  service evil_heavy:", ex)
        self.assertIn("service bank_web", ex)
        self.assertIn("service skipped", self.agent.log())

    def test_ledger_survives_restart_and_is_shared(self):
        with open(self.ledger) as f:
            text = f.read()
        self.assertTrue(text.startswith("# swarm-spoa host ledger v1\n"), text)
        self.assertRegex(text, r"\nbank\.example\.com bank \d+ 0\n")
        self.assertRegex(text, r"\nevil\.example\.net evil \d+ 0\n")

        # the bank's service recreated after every one of evil's: without
        # the ledger, evil_login (older) would own the host
        recreated = self.routes(bank_created="2026-02-01T00:00:00Z")
        other = self.make_agent("second", recreated)
        try:
            hp2 = h.HAProxy(self.wd, [other.port], name="haproxy2").start()
            self.assertEqual(self.served_by("bank.example.com", "/login", haproxy=hp2), {"bank"})
            self.assert_refusals(other)
            hp2.stop()
        finally:
            other.kill()

        # the first agent restarted on the recreated services
        self.agent.kill()
        self.agent.write_routes(recreated)
        self.agent.start()
        h.wait_until(lambda: "bank_web" in self.agent.stats("show services"), 10,
                     what="services loaded")
        self.assertEqual(self.served_by("bank.example.com", "/login"), {"bank"})
        self.assert_refusals(self.agent)


if __name__ == "__main__":
    why = h.require_haproxy()
    if why:
        print("SKIP: " + why)
        sys.exit(77)
    unittest.main(verbosity=2)
