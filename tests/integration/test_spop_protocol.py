"""The agent's SPOP server, spoken to directly over TCP by a client written
from doc/SPOE.txt: negotiation, NOTIFY/ACK, pipelining, every disconnect
status code for malformed input, backpressure, many connections, and a
graceful stop. Each malformed-input case also checks that an established
connection keeps being served and that the agent is still alive.
"""
import json
import os
import signal
import socket
import struct
import sys
import time
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


def stats_json(agent, command):
    return json.loads(agent.stats(command + " json"))


def conn_row(agent, client):
    """The "show conns" row of <client>'s connection, found by its port."""
    peer = "127.0.0.1:%d" % client.sock.getsockname()[1]
    rows = [r for r in stats_json(agent, "show conns")["conns"] if r["peer"] == peer]
    return rows[0] if rows else None


class IdleTimeoutTest(unittest.TestCase):
    """--idle-timeout: a connection that sends no complete frame for that
    long after its HELLO is closed with AGENT-DISCONNECT "timeout"; one that
    keeps sending frames stays, and a frame trickled a byte at a time does
    not count as activity. Guards against a peer holding a connection and a
    max-frame carry buffer forever."""

    @classmethod
    def setUpClass(cls):
        cls.wd = h.Workdir("idle")
        try:
            cls.agent = h.Agent(cls.wd, routes=ROUTES, extra=["--idle-timeout", "1"]).start()
        except BaseException:
            cls.wd.stop_all()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.wd.stop_all()

    def expect_idle_disconnect(self, c, since, at_least=0.9, at_most=3.0):
        f = c.recv_frame()
        elapsed = time.monotonic() - since
        self.assertIsNotNone(f, "closed without AGENT-DISCONNECT")
        self.assertEqual(f.type, h.AGENT_DISCON)
        self.assertEqual(f.kv()["status-code"], 2, f.kv())
        self.assertEqual(f.kv()["message"], "idle timeout")
        self.assertTrue(c.eof())
        self.assertGreaterEqual(elapsed, at_least)
        self.assertLess(elapsed, at_most)

    def test_silent_connection_is_closed(self):
        before = stats_json(self.agent, "show stats")["total"]["idle_timeouts"]
        c = h.SpopClient(self.agent.port, timeout=10)
        c.handshake()
        self.expect_idle_disconnect(c, time.monotonic())
        c.close()
        self.assertEqual(stats_json(self.agent, "show stats")["total"]["idle_timeouts"],
                         before + 1)

    def test_busy_connection_stays(self):
        c = h.SpopClient(self.agent.port, timeout=10)
        c.handshake()
        # 8 NOTIFY 0.3 s apart: 2.4 s, past the 1 s idle timeout twice.
        for i in range(8):
            time.sleep(0.3)
            c.send(route_notify(i + 1, 1))
            f = c.recv_frame()
            self.assertIsNotNone(f, "closed while busy")
            self.assertEqual((f.type, f.sid), (h.ACK, i + 1))
        c.close()

    def test_trickled_frame_is_idle(self):
        c = h.SpopClient(self.agent.port, timeout=10)
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.handshake()
        since = time.monotonic()
        data = route_notify(1, 1)
        # One byte every 0.2 s never completes the frame within the timeout.
        for i in range(6):
            try:
                c.send(data[i:i + 1])
            except OSError:
                break
            time.sleep(0.2)
        self.expect_idle_disconnect(c, since)
        c.close()

    def test_carry_buffer_freed_once_frame_completes(self):
        c = h.SpopClient(self.agent.port, timeout=10)
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.handshake()
        data = route_notify(1, 1)
        c.send(data[:10])
        row = h.wait_until(lambda: (lambda r: r if r and r["buffered"] else None)(
            conn_row(self.agent, c)), 3, what="a carry buffer")
        self.assertGreaterEqual(row["buffered"], len(data))
        c.send(data[10:])
        self.assertEqual(c.recv_frame().type, h.ACK)
        self.assertEqual(conn_row(self.agent, c)["buffered"], 0)
        c.close()


class ConnectionCapTest(unittest.TestCase):
    """--max-conns: past the cap a connection gets AGENT-DISCONNECT
    (resource allocation error) and is closed, counted in "show stats" and
    the metrics; once one closes, a new one is served."""

    def test_cap(self):
        wd = h.Workdir("cap")
        conns = []
        try:
            mport = h.free_port()
            agent = h.Agent(wd, routes=ROUTES, extra=[
                "--max-conns", "3", "--metrics-listen", "127.0.0.1:%d" % mport]).start()
            for _ in range(3):
                c = h.SpopClient(agent.port)
                c.handshake()
                conns.append(c)
            over = h.SpopClient(agent.port)
            f = over.recv_frame()
            self.assertIsNotNone(f, "refused without AGENT-DISCONNECT")
            self.assertEqual(f.type, h.AGENT_DISCON)
            self.assertEqual(f.kv()["status-code"], 13, f.kv())
            self.assertEqual(f.kv()["message"], "too many connections")
            self.assertTrue(over.eof())
            over.close()
            self.assertEqual(stats_json(agent, "show stats")["total"]["conns_refused"], 1)
            self.assertIn("spop_conns_refused: 1\n", agent.stats("show info"))
            with socket.create_connection(("127.0.0.1", mport), timeout=5) as m:
                m.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
                page = b""
                while True:
                    b = m.recv(65536)
                    if not b:
                        break
                    page += b
            self.assertIn(b"\nswarm_spoa_spop_connections_refused_total 1\n", page)
            # The others are still served.
            for i, c in enumerate(conns):
                c.send(route_notify(i + 1, 1))
                self.assertEqual(c.recv_frame().type, h.ACK)
            conns.pop().close()
            h.wait_until(lambda: "spop_connections: 2\n" in agent.stats("show info"), 5,
                         what="the closed connection gone")
            c = h.SpopClient(agent.port)
            c.handshake()
            conns.append(c)
        finally:
            for c in conns:
                c.close()
            wd.stop_all()


class DescriptorExhaustionTest(unittest.TestCase):
    """With every file descriptor in use, each acceptor (SPOP, stats
    socket, metrics page) pauses instead of being woken again and again for
    a connection it cannot take (a spinning thread and a log flood before),
    counts it, and accepts again once descriptors are free."""

    NOFILE = 48

    def test_acceptors_pause(self):
        wd = h.Workdir("emfile")
        conns = []
        extra = []
        try:
            mport = h.free_port()
            agent = h.Agent(wd, routes=ROUTES, threads=1,
                            extra=["--metrics-listen", "127.0.0.1:%d" % mport])
            argv = ["/bin/sh", "-c", 'ulimit -n %d && exec "$@"' % self.NOFILE, "sh"] + \
                agent.argv()
            agent.proc = wd.spawn(agent.name, argv)
            h.wait_until(lambda: agent.proc.poll() is not None or h.port_open(agent.port), 10,
                         what="agent listening")
            # every listener up before the descriptors run out
            h.wait_until(lambda: os.path.exists(agent.stats_path) and h.port_open(mport), 10,
                         what="stats socket and metrics listener")
            self.assertIsNone(agent.proc.poll(), agent.log())
            pid = agent.proc.pid
            # More connections than descriptors: the agent takes what it can,
            # the rest wait in the listen queue.
            # the rest wait in the listen queue. Each says HELLO, so that the
            # ones accepted stay open past the HELLO deadline.
            for _ in range(self.NOFILE + 8):
                c = socket.create_connection(("127.0.0.1", agent.port), timeout=5)
                c.sendall(h.hello_frame())
                conns.append(c)
            h.wait_until(lambda: len(os.listdir("/proc/%d/fd" % pid)) >= self.NOFILE, 20,
                         what="the agent out of descriptors")
            # The stats socket and the metrics page are queued too.
            s = socket.socket(socket.AF_UNIX)
            s.connect(agent.stats_path)
            s.sendall(b"show info\n")
            extra.append(s)
            m = socket.create_connection(("127.0.0.1", mport), timeout=5)
            m.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
            extra.append(m)
            # Half a second out of descriptors, as a measurement window:
            # every failed accept was logged before, tens of thousands a
            # second; now each acceptor logs its first pause and counts the
            # rest.
            time.sleep(0.5)
            self.assertLess(agent.log().count("accept failed"), 10)
            self.assertTrue(agent.alive(), agent.log()[-3000:])
            # Free the descriptors: the queued stats and metrics clients are
            # answered.
            for c in conns:
                c.close()
            conns = []
            s.settimeout(10)
            info = b""
            while True:
                b = s.recv(65536)
                if not b:
                    break
                info += b
            m.settimeout(10)
            page = b""
            while True:
                b = m.recv(65536)
                if not b:
                    break
                page += b
            self.assertIn(b"HTTP/1.1 200", page)
            kv = dict(line.split(": ", 1) for line in info.decode().splitlines() if ": " in line)
            self.assertGreater(int(kv["spop_accept_pauses"]), 0, kv)
            self.assertGreater(int(kv["stats_accept_pauses"]), 0, kv)
            self.assertGreater(int(kv["metrics_accept_pauses"]), 0, kv)
            self.assertIn(b"swarm_spoa_spop_accept_pauses_total", page)
            # SPOP is served again.
            c = h.SpopClient(agent.port)
            c.handshake()
            c.send(route_notify(1, 1))
            self.assertEqual(c.recv_frame().type, h.ACK)
            c.close()
        finally:
            for c in conns + extra:
                c.close()
            wd.stop_all()


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


class CollectAutoTest(unittest.TestCase):
    """--spop-collect auto (the default): a worker that reads NOTIFY frames
    one by one, as HAProxy 3.1 and later send them to an agent that keeps
    up, sets its collect interval; one that reads them in batches, as 2.6
    and 3.0 send them, does not."""

    FRAMES = 700   # over the 500 of a measuring window

    def run_client(self, per_write):
        wd = h.Workdir("collect-auto-%d" % per_write)
        try:
            agent = h.Agent(wd, routes=ROUTES, threads=1).start()
            c = h.SpopClient(agent.port)
            c.handshake()
            fid = 0
            while fid < self.FRAMES:
                batch = b"".join(route_notify(1, fid + i + 1) for i in range(per_write))
                c.send(batch)
                for i in range(per_write):
                    f = c.recv_frame()
                    self.assertIsNotNone(f)
                    self.assertEqual((f.type, f.fid), (h.ACK, fid + i + 1))
                fid += per_write
            total = stats_json(agent, "show stats")["total"]
            c.close()
            self.assertTrue(agent.alive())
            return total
        finally:
            wd.stop_all()

    def test_frame_by_frame_sets_the_interval(self):
        # one window of 500 frames, then the rest read while collecting
        self.assertEqual(self.run_client(1)["collect_periods"], 1)

    def test_batches_leave_it_off(self):
        total = self.run_client(20)
        self.assertEqual(total["collect_periods"], 0)
        self.assertEqual(total["collect_on"], 0)


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
