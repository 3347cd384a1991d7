"""The metrics listener's limits, against the real agent on 127.0.0.1:
a request head must be complete within HTTPD_HEAD_TIMEOUT (5 s) of its
first byte however slowly it trickles in, so that clients sending a byte
now and then cannot hold every one of the 64 slots and lock scrapers out
(each byte pushed the deadline back before); the listener refuses a
non-loopback address unless --metrics-allow-remote.
"""
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness as h  # noqa: E402

HEAD_TIMEOUT = 5.0
MAX_CLIENTS = 64


def scrape(port, timeout=2.0):
    """The status line of GET /metrics, or None when not answered."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
            data = s.recv(64)
            return data.split(b"\r\n", 1)[0] if data else None
    except OSError:
        return None


class MetricsLimitsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.wd = h.Workdir("metrics-limits")
        try:
            cls.mport = h.free_port()
            cls.agent = h.Agent(cls.wd, routes={"services": []}, extra=[
                "--metrics-listen", "127.0.0.1:%d" % cls.mport]).start()
            h.wait_until(lambda: scrape(cls.mport), 10, what="metrics page")
        except BaseException:
            cls.wd.stop_all()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.wd.stop_all()

    def test_trickled_heads_are_cut_and_scrapers_get_in(self):
        slow = []
        try:
            for _ in range(MAX_CLIENTS):
                s = socket.create_connection(("127.0.0.1", self.mport), timeout=5)
                s.sendall(b"GET /metrics HTTP/1.1\r\n")
                slow.append(s)
            since = time.monotonic()
            closed = set()
            # One header byte per client every 0.5 s, for at most 12 s.
            while time.monotonic() - since < 12 and len(closed) < len(slow):
                for i, s in enumerate(slow):
                    if i in closed:
                        continue
                    try:
                        s.sendall(b"X")
                    except OSError:
                        closed.add(i)
                time.sleep(0.5)
            elapsed = time.monotonic() - since
            self.assertEqual(len(closed), len(slow),
                             "trickling clients still open after %.1fs" % elapsed)
            self.assertGreater(elapsed, HEAD_TIMEOUT - 1.0)
            self.assertEqual(scrape(self.mport), b"HTTP/1.1 200 OK")
        finally:
            for s in slow:
                s.close()

    def test_idle_keep_alive_is_not_a_head(self):
        """A connection that says nothing keeps the longer idle timeout."""
        with socket.create_connection(("127.0.0.1", self.mport), timeout=10) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
            s.settimeout(5)
            self.assertTrue(s.recv(64).startswith(b"HTTP/1.1 200"))
            # past the head deadline, still open (the answer was read)
            got = b""
            deadline = time.monotonic() + HEAD_TIMEOUT + 1.5
            s.settimeout(0.5)
            while time.monotonic() < deadline:
                try:
                    b = s.recv(65536)
                except socket.timeout:
                    continue
                self.assertNotEqual(b, b"", "closed while idle under the idle timeout")
                got += b
            s.settimeout(5)
            s.sendall(b"GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n")
            self.assertIn(b"HTTP/1.1 200", s.recv(65536))

    def test_non_loopback_needs_opt_in(self):
        refused = h.Agent(self.wd, routes={"services": []}, name="agent-remote",
                          extra=["--metrics-listen", "0.0.0.0:%d" % h.free_port()])
        refused.proc = self.wd.spawn(refused.name, refused.argv())
        self.assertNotEqual(refused.proc.wait(timeout=10), 0)
        self.assertIn("refusing the metrics listener", refused.log())
        port = h.free_port()
        allowed = h.Agent(self.wd, routes={"services": []}, name="agent-allowed",
                          extra=["--metrics-listen", "0.0.0.0:%d" % port,
                                 "--metrics-allow-remote"]).start()
        self.assertTrue(allowed.alive())
        h.wait_until(lambda: scrape(port), 10, what="metrics page on 0.0.0.0")


if __name__ == "__main__":
    unittest.main(verbosity=2)
