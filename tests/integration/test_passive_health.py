"""Passive health through a real HAProxy (2.6, 3.0 or 3.2: SWARM_SPOA_HAPROXY)
with haproxy-conf/ and the real agent streaming HAProxy's ring of failed
requests over the runtime API: a task that refuses connections, or resets
them before any response, stops being chosen after its first failure
(max_fails 1), comes back after fail_timeout, and the application's own
5xx never exclude a task. Prints how many requests failed and how fast the
agent excluded the task.
"""
import json
import os
import socket
import struct
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness as h  # noqa: E402

LB = "com.docker.lb."
FAIL_TIMEOUT_S = 3


class ResetServer:
    """Accepts, reads the request, then resets the connection (SO_LINGER 0)
    without a byte of response: HAProxy logs SH."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
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
            self.accepted += 1
            c.settimeout(1.0)
            try:
                c.recv(65536)
            except OSError:
                pass
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.close()

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=5)
        self.sock.close()


def closed_port():
    """A loopback port nothing listens on: connections are refused."""
    return h.free_port()


class PassiveHealthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.wd = h.Workdir("health")
        cls.reset = ResetServer()
        try:
            cls.echo = {n: h.Echo(cls.wd, n) for n in ("a", "b", "c")}
            cls.refused_port = closed_port()
            labels = {LB + "port": "1", LB + "fail_timeout": "%ds" % FAIL_TIMEOUT_S}

            def svc(name, tasks, **extra):
                lab = dict(labels, **{LB + "hosts": name + ".test"})
                lab.update(extra)
                return {"name": name, "labels": lab, "tasks": [
                    {"id": tid, "address": "127.0.0.1", "port": port} for tid, port in tasks]}

            routes = {"services": [
                svc("refused", [("good-1", cls.echo["a"].port), ("bad-1", cls.refused_port)]),
                svc("resets", [("good-2", cls.echo["b"].port), ("bad-2", cls.reset.port)]),
                svc("errors", [("err-1", cls.echo["c"].port), ("err-2", cls.echo["a"].port)]),
                svc("off", [("good-3", cls.echo["b"].port), ("bad-3", cls.refused_port)],
                    **{LB + "max_fails": "0"}),
            ]}
            admin = cls.wd.file("haproxy-admin.sock")
            cls.agent = h.Agent(cls.wd, routes=routes, threads=1,
                                extra=["--haproxy-runtime", "unix:" + admin]).start()
            cls.haproxy = h.HAProxy(cls.wd, [cls.agent.port]).start()
            h.wait_until(lambda: cls.health()["streams"][0]["connected"], 15,
                         what="the agent streaming HAProxy's ring of failed requests")
        except BaseException:
            cls.wd.stop_all()
            cls.reset.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.wd.stop_all()
        cls.reset.stop()

    @classmethod
    def health(cls):
        return json.loads(cls.agent.stats("show health json"))

    def excluded(self, service):
        tasks = json.loads(self.agent.stats("show tasks %s json" % service))["tasks"]
        return {t["id"]: t["excluded"] for t in tasks if t["excluded"]}

    def burst(self, host, n, path="/"):
        """Sends <n> requests one after the other; returns [(status, seconds)]."""
        out = []
        for _ in range(n):
            t0 = time.monotonic()
            try:
                st, _, _ = self.haproxy.request(host, path, timeout=10)
            except OSError:
                st = 0
            out.append((st, time.monotonic() - t0))
        return out

    def assert_failed_once(self, res):
        """The first request to the bad task fails; every later one goes elsewhere.
        The failure reaches the agent through HAProxy's log, so a request sent
        within the same few milliseconds may still pick the bad task: at most
        two failures, both among the first three requests."""
        failed = [i for i, (st, _) in enumerate(res) if st != 200]
        self.assertGreaterEqual(len(failed), 1, res)
        self.assertLessEqual(len(failed), 2, res)
        self.assertLess(failed[-1], 3, "requests kept failing after the first: %r" % res)
        self.assertTrue(all(st == 200 for st, _ in res[failed[-1] + 1:]), res)

    def check_excluded_after_first_failure(self, service, bad, expect_ts):
        t0 = time.monotonic()
        res = self.burst(service + ".test", 40)
        failed = [i for i, (st, _) in enumerate(res) if st != 200]
        h.wait_until(lambda: bad in self.excluded(service), 5,
                     what="%s excluded" % bad)
        excluded_at = time.monotonic()
        first_fail_end = t0 + sum(d for _, d in res[:failed[0] + 1]) if failed else None
        print("%s (HAProxy %s): %d of %d requests failed (%s), first failure took %.0f ms, "
              "requests after it that failed: %d"
              % (service, h.haproxy_version(), len(failed), len(res),
                 ",".join(str(res[i][0]) for i in failed),
                 res[failed[0]][1] * 1000 if failed else 0,
                 len([i for i in failed if failed and i > failed[0]])), flush=True)
        self.assert_failed_once(res)
        why = self.excluded(service)[bad]
        self.assertIn(expect_ts, why["reason"])
        self.assertIsNotNone(why["until"])
        return first_fail_end, excluded_at

    def check_back_after_timeout(self, service, bad):
        t0 = time.monotonic()
        h.wait_until(lambda: bad not in self.excluded(service), FAIL_TIMEOUT_S + 3,
                     what="%s back after fail_timeout" % bad)
        back = time.monotonic() - t0
        print("%s: %s picked again %.2f s after the check (fail_timeout %d s)"
              % (service, bad, back, FAIL_TIMEOUT_S), flush=True)
        # ... and its next failure excludes it again
        self.assert_failed_once(self.burst(service + ".test", 6))
        h.wait_until(lambda: bad in self.excluded(service), 5, what="%s excluded again" % bad)

    def test_refused(self):
        self.check_excluded_after_first_failure("refused", "bad-1", "SC to 127.0.0.1:%d"
                                                % self.refused_port)
        explain = self.agent.stats("explain refused.test /")
        self.assertIn("excluded task bad-1 of refused", explain)
        info = self.agent.stats("show info")
        self.assertIn("HealthExcludedTasks", info)
        self.check_back_after_timeout("refused", "bad-1")

    def test_reset(self):
        self.check_excluded_after_first_failure("resets", "bad-2", "SH to 127.0.0.1:%d"
                                                % self.reset.port)
        self.check_back_after_timeout("resets", "bad-2")

    def test_app_errors_never_exclude(self):
        before = self.health()["failures"]
        res = self.burst("errors.test", 20, path="/status/500")
        res += self.burst("errors.test", 10, path="/status/503")
        self.assertTrue(all(st in (500, 503) for st, _ in res), res)
        # the ring has these lines (errors are logged); none is a failure
        try:
            h.wait_until(lambda: self.health()["lines"] >= 30, 5, what="the 5xx lines read")
        except AssertionError as e:
            raise AssertionError("%s; agent's health: %s" % (e, self.health())) from None
        self.assertEqual(self.health()["failures"], before)
        self.assertEqual(self.excluded("errors"), {})

    def test_max_fails_zero_disables(self):
        res = self.burst("off.test", 10)
        self.assertEqual(len([1 for st, _ in res if st != 200]), 5, res)
        self.assertEqual(self.excluded("off"), {})


if __name__ == "__main__":
    why = h.require_haproxy()
    if why:
        print("SKIP: " + why)
        sys.exit(77)
    unittest.main(verbosity=2)
