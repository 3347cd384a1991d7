"""The agent's SPOP server, spoken to directly over TCP by a client written
from doc/SPOE.txt: negotiation, NOTIFY/ACK, pipelining, every disconnect
status code for malformed input, backpressure, many connections, and a
graceful stop. Each malformed-input case also checks that an established
connection keeps being served and that the agent is still alive.
"""
import os
import signal
import socket
import struct
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness as h  # noqa: E402

ROUTES = {"services": [{
    "name": "web",
    "labels": {"com.docker.lb.hosts": "web.test", "com.docker.lb.port": "8080"},
    "tasks": [{"id": "web.1", "address": "10.0.0.5"}],
}, {
    "name": "secure",
    "labels": {"com.docker.lb.hosts": "secure.test", "com.docker.lb.port": "8080",
               "com.docker.lb.ssl_only": "true"},
    "tasks": [{"id": "secure.1", "address": "10.0.0.6"}],
}]}


def route_notify(sid, fid, host="web.test", path="/"):
    return h.notify_frame(sid, fid, [("route", [("host", host), ("path", path),
                                                ("src", ("ip", "127.0.0.1")), ("ssl", False)])])


class SpopProtocolTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.wd = h.Workdir("spop")
        try:
            cls.agent = h.Agent(cls.wd, routes=ROUTES, threads=2).start()
            # An established connection that must survive every bad client.
            cls.keeper = h.SpopClient(cls.agent.port)
            cls.keeper.handshake()
            cls.keeper_sid = 1
        except BaseException:
            cls.wd.stop_all()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.keeper.close()
        cls.wd.stop_all()

    def tearDown(self):
        self.assertTrue(self.agent.alive(), "agent died:\n" + self.agent.log()[-3000:])
        # The established connection is still served.
        cls = type(self)
        cls.keeper_sid += 1
        cls.keeper.send(route_notify(cls.keeper_sid, 1))
        f = cls.keeper.recv_frame()
        self.assertIsNotNone(f)
        self.assertEqual((f.type, f.sid, f.fid), (h.ACK, cls.keeper_sid, 1))

    def expect_disconnect(self, data, status, handshake=False, **hello):
        c = h.SpopClient(self.agent.port)
        try:
            if handshake:
                c.handshake(**hello)
            c.send(data)
            f = c.recv_frame()
            self.assertIsNotNone(f, "connection closed without AGENT-DISCONNECT")
            self.assertEqual(f.type, h.AGENT_DISCON)
            self.assertEqual(f.flags & 1, 1, "FIN must be set")
            kv = f.kv()
            self.assertEqual(kv["status-code"], status, kv)
            self.assertIsInstance(kv["message"], str)
            self.assertTrue(c.eof(), "agent must close after AGENT-DISCONNECT")
        finally:
            c.close()

    # --- negotiation -------------------------------------------------------

    def test_hello_negotiates_down_to_haproxy_frame_size(self):
        c = h.SpopClient(self.agent.port)
        f = c.handshake(mfs=1000, caps="pipelining,async", versions="1.0, 2.0")
        kv = f.kv()
        self.assertEqual(kv["version"], "2.0")
        self.assertEqual(kv["max-frame-size"], 1000)
        self.assertEqual(kv["capabilities"], "pipelining")
        self.assertEqual((f.sid, f.fid, f.flags & 1), (0, 0, 1))
        c.close()

    def test_hello_keeps_agent_frame_size_when_haproxy_offers_more(self):
        c = h.SpopClient(self.agent.port)
        self.assertEqual(c.handshake(mfs=1 << 20).kv()["max-frame-size"], 16380)
        c.close()

    def test_healthcheck_hello_closes(self):
        c = h.SpopClient(self.agent.port)
        c.handshake(healthcheck=True)
        self.assertTrue(c.eof())
        c.close()

    # --- NOTIFY / ACK ------------------------------------------------------

    def test_notify_gets_ack_with_route(self):
        c = h.SpopClient(self.agent.port)
        c.handshake()
        c.send(route_notify(7, 3))
        f = c.recv_frame()
        self.assertEqual((f.type, f.sid, f.fid, f.flags & 1), (h.ACK, 7, 3, 1))
        v = f.vars()
        self.assertEqual(v["action"], "forward")
        self.assertEqual(v["ip"], "10.0.0.5")
        self.assertEqual(v["port"], 8080)
        self.assertEqual(v["service"], "web")
        scopes = {scope for act, scope, name, val in f.actions()}
        self.assertEqual(scopes, {2}, "variables go to the txn scope")
        c.close()

    def test_unknown_host_is_not_found(self):
        c = h.SpopClient(self.agent.port)
        c.handshake()
        c.send(route_notify(1, 1, host="nope.test"))
        v = c.recv_frame().vars()
        self.assertEqual(v["action"], "not_found")
        self.assertIn("nope.test", v["reason"])
        c.close()

    def test_ssl_as_the_scheme_string(self):
        """haproxy-conf sends X-Forwarded-Proto as "ssl": "https" in any
        case is TLS, anything else (or nothing) plain; a boolean still
        works."""
        c = h.SpopClient(self.agent.port)
        c.handshake()
        cases = [("https", "forward"), ("HTTPS", "forward"), ("http", "redirect"),
                 ("httpsx", "redirect"), ("", "redirect"), (None, "redirect"),
                 (True, "forward"), (False, "redirect")]
        for i, (ssl, action) in enumerate(cases):
            c.send(h.notify_frame(1, i + 1, [("route", [("host", "secure.test"), ("path", "/"),
                                                        ("ssl", ssl)])]))
            v = c.recv_frame().vars()
            self.assertEqual(v["action"], action, ssl)
        c.close()

    def test_query_in_the_path_argument(self):
        """path=pathq: the query string rides in the path argument, and
        redirects keep it as with a separate query argument."""
        c = h.SpopClient(self.agent.port)
        c.handshake()
        cases = [([("path", "/login?next=/a&b=1")], "https://secure.test/login?next=/a&b=1"),
                 ([("path", "/login?")], "https://secure.test/login"),
                 ([("path", "/login"), ("query", "x=1")], "https://secure.test/login?x=1")]
        for i, (args, location) in enumerate(cases):
            c.send(h.notify_frame(1, i + 1, [("route", [("host", "secure.test")] + args +
                                              [("ssl", "http")])]))
            v = c.recv_frame().vars()
            self.assertEqual(v["location"], location, args)
        c.close()

    def test_pipelined_notifies_in_one_write_all_acked(self):
        c = h.SpopClient(self.agent.port)
        c.handshake()
        c.send(b"".join(route_notify(sid, 1) for sid in range(1, 501)))
        seen = set()
        for _ in range(500):
            f = c.recv_frame()
            self.assertEqual(f.type, h.ACK)
            seen.add(f.sid)
        self.assertEqual(seen, set(range(1, 501)))
        c.close()

    def test_frame_split_byte_by_byte(self):
        c = h.SpopClient(self.agent.port)
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        data = h.hello_frame() + route_notify(9, 9)
        for i in range(len(data)):
            c.send(data[i:i + 1])
        self.assertEqual(c.recv_frame().type, h.AGENT_HELLO)
        f = c.recv_frame()
        self.assertEqual((f.type, f.sid), (h.ACK, 9))
        c.close()

    def test_unknown_message_gets_empty_ack(self):
        c = h.SpopClient(self.agent.port)
        c.handshake()
        c.send(h.notify_frame(4, 2, [("something-else", [("x", 1)])]))
        f = c.recv_frame()
        self.assertEqual((f.type, f.sid, f.fid), (h.ACK, 4, 2))
        self.assertEqual(f.actions(), [])
        c.close()

    def test_handler_error_still_acks(self):
        c = h.SpopClient(self.agent.port)
        c.handshake()
        c.send(h.notify_frame(5, 1, [("route", [("host", 12)])]))
        f = c.recv_frame()
        self.assertEqual((f.type, f.sid), (h.ACK, 5))
        self.assertEqual(f.vars()["action"], "error")
        # and the connection goes on
        c.send(route_notify(6, 1))
        self.assertEqual(c.recv_frame().sid, 6)
        c.close()

    def test_unknown_frame_type_is_skipped(self):
        c = h.SpopClient(self.agent.port)
        c.handshake()
        c.send(h.frame(42, b"whatever", 1, 1) + route_notify(8, 1))
        f = c.recv_frame()
        self.assertEqual((f.type, f.sid), (h.ACK, 8))
        c.close()

    def test_haproxy_disconnect_is_answered(self):
        c = h.SpopClient(self.agent.port)
        c.handshake()
        c.send(h.frame(h.HAPROXY_DISCON, h.kvlist([("status-code", 0), ("message", "bye")])))
        f = c.recv_frame()
        self.assertEqual(f.type, h.AGENT_DISCON)
        self.assertEqual(f.kv()["status-code"], 0)
        self.assertTrue(c.eof())
        c.close()

    # --- malformed input: the right status code each time ------------------

    def test_http_garbage_is_too_big(self):
        # "GET " read as a frame length is 1.2 GB
        self.expect_disconnect(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 3)

    def test_oversize_length(self):
        self.expect_disconnect(struct.pack(">I", 16381) + b"\x01" * 16, 3)

    def test_frame_over_negotiated_size(self):
        big = h.notify_frame(1, 1, [("route", [("host", "x" * 600)])])
        self.expect_disconnect(big, 3, handshake=True, mfs=512)

    def test_tiny_frame_is_invalid(self):
        self.expect_disconnect(struct.pack(">I", 3) + b"\x01\x00\x00", 4)

    def test_notify_before_hello_is_invalid(self):
        self.expect_disconnect(route_notify(1, 1), 4)

    def test_hello_without_fin(self):
        body = h.hello_frame()
        data = body[:5] + struct.pack(">I", 0) + body[9:]
        self.expect_disconnect(data, 10)

    def test_hello_with_stream_id_is_invalid(self):
        items = h.kvlist([("supported-versions", "2.0"), ("max-frame-size", 16380),
                          ("capabilities", "")])
        self.expect_disconnect(h.frame(h.HAPROXY_HELLO, items, sid=1), 4)

    def test_hello_bad_version(self):
        self.expect_disconnect(h.hello_frame(versions="1.0"), 8)

    def test_hello_no_version(self):
        self.expect_disconnect(h.hello_frame(versions=None), 5)

    def test_hello_no_frame_size(self):
        self.expect_disconnect(h.hello_frame(mfs=None), 6)

    def test_hello_frame_size_too_small(self):
        self.expect_disconnect(h.hello_frame(mfs=100), 9)

    def test_hello_no_capabilities(self):
        self.expect_disconnect(h.hello_frame(caps=None), 7)

    def test_hello_wrong_type_is_invalid(self):
        items = h.kvlist([("supported-versions", 2), ("max-frame-size", 16380),
                          ("capabilities", "")])
        self.expect_disconnect(h.frame(h.HAPROXY_HELLO, items), 4)

    def test_notify_without_fin(self):
        data = route_notify(1, 1)
        data = data[:5] + struct.pack(">I", 0) + data[9:]
        self.expect_disconnect(data, 10, handshake=True)

    def test_fragment_frame_type_unset(self):
        self.expect_disconnect(h.frame(0, b"\x00", 1, 1), 10, handshake=True)

    def test_second_hello_is_invalid(self):
        self.expect_disconnect(h.hello_frame(), 4, handshake=True)

    def test_notify_bad_payload_is_invalid(self):
        # message announces 3 arguments, carries one
        payload = h.sstr("route") + bytes([3]) + h.sstr("host") + h.typed("web.test")
        self.expect_disconnect(h.frame(h.NOTIFY, payload, 1, 1), 4, handshake=True)

    def test_notify_reserved_type_is_invalid(self):
        payload = h.sstr("route") + bytes([1]) + h.sstr("host") + bytes([0x0b])
        self.expect_disconnect(h.frame(h.NOTIFY, payload, 1, 1), 4, handshake=True)

    def test_truncated_then_closed(self):
        c = h.SpopClient(self.agent.port)
        c.handshake()
        c.send(route_notify(1, 1)[:10])
        c.close()

    def test_hello_timeout(self):
        c = h.SpopClient(self.agent.port, timeout=10)
        f = c.recv_frame()
        self.assertEqual(f.type, h.AGENT_DISCON)
        self.assertEqual(f.kv()["status-code"], 2)
        c.close()

    # --- load shapes -------------------------------------------------------

    def test_slow_reader_backpressure(self):
        """HAProxy that stops reading: the agent stops reading too (so the
        sender blocks), loses nothing, and resumes when HAProxy reads."""
        import threading
        n = 200000
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        sock.settimeout(60)
        sock.connect(("127.0.0.1", self.agent.port))
        c = h.SpopClient.__new__(h.SpopClient)
        c.sock, c.buf = sock, b""
        c.handshake()
        batch = [b"".join(route_notify(sid, 1) for sid in range(k, k + 1000))
                 for k in range(1, n + 1, 1000)]
        errors = []

        def sender():
            try:
                for b in batch:
                    sock.sendall(b)
            except OSError as e:
                errors.append(e)

        t = threading.Thread(target=sender)
        t.start()
        t.join(timeout=2.0)
        self.assertTrue(t.is_alive(), "the agent kept reading although nobody read its answers")
        got = 0
        while got < n:
            f = c.recv_frame()
            self.assertIsNotNone(f)
            self.assertEqual(f.type, h.ACK)
            got += 1
        t.join(timeout=30)
        self.assertFalse(t.is_alive())
        self.assertEqual(errors, [])
        self.assertEqual(got, n)
        c.close()

    def test_many_connections(self):
        conns = []
        try:
            for _ in range(300):
                c = h.SpopClient(self.agent.port)
                c.send(h.hello_frame())
                conns.append(c)
            for i, c in enumerate(conns):
                self.assertEqual(c.recv_frame().type, h.AGENT_HELLO)
                c.send(route_notify(i + 1, 1))
            for i, c in enumerate(conns):
                f = c.recv_frame()
                self.assertEqual((f.type, f.sid), (h.ACK, i + 1))
        finally:
            for c in conns:
                c.close()


class CollectTest(unittest.TestCase):
    """--spop-collect: frames that come one write each, as HAProxy 3.1 and
    later send them, are all answered, on two connections at once, while
    the worker waits between its reads."""

    def test_one_frame_per_write_all_acked(self):
        wd = h.Workdir("collect")
        try:
            agent = h.Agent(wd, routes=ROUTES, threads=1, extra=["--spop-collect", "2000"]).start()
            conns = [h.SpopClient(agent.port) for _ in range(2)]
            for c in conns:
                c.handshake()
            for fid in range(1, 51):
                for sid, c in enumerate(conns, 1):
                    c.send(route_notify(sid, fid))
            for c in conns:
                got = []
                for _ in range(50):
                    f = c.recv_frame()
                    self.assertIsNotNone(f)
                    self.assertEqual(f.type, h.ACK)
                    self.assertEqual(f.vars()["ip"], "10.0.0.5")
                    got.append(f.fid)
                self.assertEqual(got, list(range(1, 51)))
                c.close()
            self.assertTrue(agent.alive())
        finally:
            wd.stop_all()


class GracefulStopTest(unittest.TestCase):
    def test_sigterm_disconnects_cleanly(self):
        wd = h.Workdir("stop")
        try:
            agent = h.Agent(wd, routes=ROUTES).start()
            c = h.SpopClient(agent.port)
            c.handshake()
            # A NOTIFY in flight when the signal lands is still answered.
            c.send(route_notify(3, 1))
            self.assertEqual(c.recv_frame().type, h.ACK)
            agent.proc.send_signal(signal.SIGTERM)
            f = c.recv_frame()
            self.assertIsNotNone(f)
            self.assertEqual(f.type, h.AGENT_DISCON)
            self.assertEqual(f.kv()["status-code"], 0)
            self.assertTrue(c.eof())
            self.assertEqual(agent.proc.wait(timeout=10), 0)
            c.close()
        finally:
            wd.stop_all()


if __name__ == "__main__":
    unittest.main(verbosity=2)
