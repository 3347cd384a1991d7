"""Process and protocol helpers for the integration tests.

Starts the real agent, a real HAProxy and the echo backends on 127.0.0.1,
waits for readiness by polling (bounded), and stops everything it started.
Also a small SPOP client written from doc/SPOE.txt, independent of the
agent's own codec, to talk to the agent directly.
"""
import json
import os
import signal
import socket
import struct
import subprocess
import tempfile
import time
import http.client

SRC = os.environ.get("SWARM_SPOA_SRC", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD = os.environ.get("SWARM_SPOA_BUILD", os.path.join(SRC, "build"))
AGENT_BIN = os.environ.get("SWARM_SPOA_BIN", os.path.join(BUILD, "swarm-spoa"))
ECHO_BIN = os.environ.get("SWARM_SPOA_ECHO", os.path.join(BUILD, "tests", "backend", "echo-backend"))
# The HAProxy under test: the system's (Debian bookworm: 2.6), or the one
# SWARM_SPOA_HAPROXY names (tests/lib/haproxy-versions.sh path 3.2). ctest
# registers each HAProxy test once per version, with SWARM_SPOA_HAPROXY_BRANCH
# saying which: that HAProxy must then be there and be that version.
HAPROXY_BIN = os.environ.get("SWARM_SPOA_HAPROXY", "/usr/sbin/haproxy")
HAPROXY_BRANCH = os.environ.get("SWARM_SPOA_HAPROXY_BRANCH")
_haproxy_version = None


def haproxy_version():
    """The version HAPROXY_BIN prints ("3.2.26-1"); raises if it cannot run."""
    global _haproxy_version
    if _haproxy_version is None:
        out = subprocess.run([HAPROXY_BIN, "-v"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, timeout=30).stdout.decode(errors="replace")
        first = out.splitlines()[0] if out else ""
        assert first.startswith("HAProxy version "), "%s -v: %r" % (HAPROXY_BIN, out)
        _haproxy_version = first.split()[2]
    return _haproxy_version


def haproxy_at_least(major, minor):
    """True when the HAProxy under test is <major>.<minor> or later."""
    v = haproxy_version().split("-")[0].split(".")
    return (int(v[0]), int(v[1])) >= (major, minor)


def require_haproxy():
    """Returns None when the HAProxy under test can run, or why the test
    cannot run here (no HAProxy installed): the caller skips. A version the
    test was registered for (SWARM_SPOA_HAPROXY_BRANCH) that is missing or
    is another version fails instead (AssertionError): it is never skipped."""
    if HAPROXY_BRANCH is None and not os.path.exists(HAPROXY_BIN):
        return "no haproxy at %s (tests/run.sh installs it)" % HAPROXY_BIN
    assert os.access(HAPROXY_BIN, os.X_OK), (
        "HAProxy %s: no executable at %s (tests/lib/haproxy-versions.sh install %s)"
        % (HAPROXY_BRANCH, HAPROXY_BIN, HAPROXY_BRANCH))
    version = haproxy_version()
    if HAPROXY_BRANCH is not None:
        assert version.startswith(HAPROXY_BRANCH + "."), (
            "%s is HAProxy %s, not %s" % (HAPROXY_BIN, version, HAPROXY_BRANCH))
    print("HAProxy %s (%s)" % (version, HAPROXY_BIN), flush=True)
    return None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(predicate, timeout=10.0, interval=0.02, what="condition"):
    """Polls <predicate> until it returns a true value; raises on timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as e:  # readiness probes may fail until ready
            last = e
        time.sleep(interval)
    raise AssertionError("timed out after %.1fs waiting for %s (last: %r)" % (timeout, what, last))


def unix_request(path, data, timeout=5.0, half_close=False):
    """Sends <data> to the unix socket at <path> (then closes the sending
    side when <half_close>, as socat does at the end of its input) and
    returns every byte received until the other side closes."""
    s = socket.socket(socket.AF_UNIX)
    try:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)
    finally:
        s.close()


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class Workdir:
    def __init__(self, name):
        self.path = tempfile.mkdtemp(prefix="swarm-spoa-%s-" % name)
        self.procs = []

    def file(self, name):
        return os.path.join(self.path, name)

    def spawn(self, name, argv, env=None):
        log = open(self.file(name + ".log"), "ab")
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=full_env,
                             stdin=subprocess.DEVNULL)
        log.close()
        p.log_path = self.file(name + ".log")
        self.procs.append(p)
        return p

    def log(self, name):
        with open(self.file(name + ".log"), "rb") as f:
            return f.read().decode(errors="replace")

    def stop_all(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(self.procs):
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []


class Agent:
    """The real swarm-spoa daemon."""

    def __init__(self, wd, routes=None, threads=2, extra=None, name="agent", port=None, env=None):
        self.wd = wd
        self.name = name
        self.port = port or free_port()
        self.routes_path = wd.file(name + "-routes.json")
        self.stats_path = wd.file(name + "-stats.sock")
        self.threads = threads
        self.extra = list(extra or [])
        self.env = env
        if routes is not None:
            self.write_routes(routes)
        self.proc = None

    def write_routes(self, routes):
        tmp = self.routes_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(routes, f)
        os.rename(tmp, self.routes_path)

    def argv(self):
        a = [AGENT_BIN, "--listen", "127.0.0.1:%d" % self.port, "--threads", str(self.threads),
             "--log-level", "debug", "--stats-socket", self.stats_path]
        if os.path.exists(self.routes_path):
            a += ["--routes", self.routes_path]
        return a + self.extra

    def start(self):
        self.proc = self.wd.spawn(self.name, self.argv(), env=self.env)
        wait_until(lambda: self.proc.poll() is not None or port_open(self.port), 10,
                   what="agent listening on %d" % self.port)
        assert self.proc.poll() is None, "agent exited: " + self.wd.log(self.name)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig=signal.SIGKILL):
        self.proc.send_signal(sig)
        self.proc.wait(timeout=10)

    def log(self):
        return self.wd.log(self.name)

    def stats(self, command, timeout=5.0):
        """Sends one command to the stats socket and returns the answer."""
        return unix_request(self.stats_path, command.encode() + b"\n", timeout).decode()


class HAProxy:
    """A real HAProxy process with haproxy-conf/ and one or more agents."""

    def __init__(self, wd, agent_ports, extra_cfg="", name="haproxy", master_worker=False,
                 env=None, cfg_files=(), check_agents=True):
        self.wd = wd
        self.master_worker = master_worker
        # More environment (SWARM_SPOA_HTTPS_BIND, ...) and configuration
        # files loaded after haproxy.cfg (tls-passthrough.cfg, ...), before
        # swarm-backends.cfg and the agents' backend.
        self.env = dict(env or {})
        self.cfg_files = list(cfg_files)
        self.name = name
        self.port = free_port()
        self.agent_ports = agent_ports
        self.cfg_agents = wd.file(name + "-agents.cfg")
        self.cfg_extra = wd.file(name + "-extra.cfg")
        # check_agents=False: no SPOP health check, an agent stays in the
        # backend whatever it does.
        check = " check inter 500ms fall 2 rise 1" if check_agents else ""
        servers = "\n".join("    server agent%d 127.0.0.1:%d%s" % (i + 1, p, check)
                            for i, p in enumerate(agent_ports))
        with open(self.cfg_agents, "w") as f:
            f.write("backend swarm-spoa-agents\n"
                    "    mode tcp\n"
                    "    balance roundrobin\n"
                    "    timeout connect 1s\n"
                    "    timeout server 3m\n"
                    "    option spop-check\n"
                    "    option redispatch\n"
                    "    retries 2\n" + servers + "\n")
        with open(self.cfg_extra, "w") as f:
            f.write(extra_cfg)
        self.proc = None

    def start(self):
        env = {
            "SWARM_SPOA_CONF_DIR": os.path.join(SRC, "haproxy-conf"),
            "SWARM_SPOA_HTTP_BIND": "127.0.0.1:%d" % self.port,
            "SWARM_SPOA_RUNTIME": self.wd.file(self.name + "-admin.sock"),
        }
        env.update(self.env)
        argv = [HAPROXY_BIN, "-db", "-f", os.path.join(SRC, "haproxy-conf", "haproxy.cfg")]
        for cfg in self.cfg_files:
            argv += ["-f", cfg]
        argv += ["-f", os.path.join(SRC, "haproxy-conf", "swarm-backends.cfg")]
        argv += ["-f", self.cfg_agents]
        if self.master_worker:
            argv.insert(1, "-W")
        if os.path.getsize(self.cfg_extra):
            argv += ["-f", self.cfg_extra]
        self.proc = self.wd.spawn(self.name, argv, env=env)
        wait_until(lambda: self.proc.poll() is not None or port_open(self.port), 10,
                   what="haproxy listening")
        assert self.proc.poll() is None, "haproxy exited: " + self.wd.log(self.name)
        return self

    def request(self, host, path="/", method="GET", headers=None, timeout=5.0):
        """Returns (status, headers dict lower-cased, body str)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = {"Host": host} if host is not None else {}
        h.update(headers or {})
        c.request(method, path, headers=h)
        r = c.getresponse()
        body = r.read().decode(errors="replace")
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        return r.status, hdrs, body

    def runtime(self, command, timeout=5.0):
        """Sends one command to HAProxy's runtime API and returns the answer."""
        return unix_request(self.wd.file(self.name + "-admin.sock"), command.encode() + b"\n",
                            timeout).decode()

    def stop(self):
        """Stops this HAProxy (SIGTERM, then SIGKILL after 5 s)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Echo:
    """The echo backend (tests/backend) on 127.0.0.1."""

    def __init__(self, wd, name, grace=None):
        self.wd = wd
        self.name = name
        self.port = free_port()
        argv = [ECHO_BIN, "--listen", "127.0.0.1:%d" % self.port, "--name", name]
        if grace is not None:
            argv += ["--grace", str(grace)]
        self.proc = wd.spawn("echo-" + name, argv)
        wait_until(lambda: port_open(self.port), 10, what="echo %s" % name)


def parse_echo(body):
    """Parses the echo backend's "k=v k=v" line into a dict."""
    out = {}
    for tok in body.strip().split(" "):
        if "=" in tok:
            k, v = tok.split("=", 1)
            out[k] = v
    return out


# ---------------------------------------------------------------------------
# A minimal SPOP client (doc/SPOE.txt section 3), independent of the agent.
# ---------------------------------------------------------------------------

HAPROXY_HELLO, HAPROXY_DISCON, NOTIFY = 1, 2, 3
AGENT_HELLO, AGENT_DISCON, ACK = 101, 102, 103
T_NULL, T_BOOL, T_INT32, T_UINT32, T_INT64, T_UINT64, T_IPV4, T_IPV6, T_STR, T_BIN = range(10)


def varint(v):
    if v < 240:
        return bytes([v])
    out = bytearray([(v & 0xff) | 240])
    v = (v - 240) >> 4
    while v >= 128:
        out.append((v & 0xff) | 128)
        v = (v - 128) >> 7
    out.append(v)
    return bytes(out)


def read_varint(b, i):
    v = b[i]
    i += 1
    if v < 240:
        return v, i
    r = 4
    while True:
        x = b[i]
        i += 1
        v += x << r
        r += 7
        if x < 128:
            return v, i


def sstr(s):
    if isinstance(s, str):
        s = s.encode()
    return varint(len(s)) + s


def typed(v):
    if v is None:
        return bytes([T_NULL])
    if isinstance(v, bool):
        return bytes([T_BOOL | (0x10 if v else 0)])
    if isinstance(v, int):
        return bytes([T_UINT32]) + varint(v)
    if isinstance(v, tuple) and v[0] == "ip":
        packed = socket.inet_pton(socket.AF_INET6 if ":" in v[1] else socket.AF_INET, v[1])
        return bytes([T_IPV4 if len(packed) == 4 else T_IPV6]) + packed
    if isinstance(v, bytes):
        return bytes([T_BIN]) + sstr(v)
    return bytes([T_STR]) + sstr(v)


def frame(ftype, payload=b"", sid=0, fid=0, flags=1):
    body = bytes([ftype]) + struct.pack(">I", flags) + varint(sid) + varint(fid) + payload
    return struct.pack(">I", len(body)) + body


def kvlist(items):
    return b"".join(sstr(k) + typed(v) for k, v in items)


def hello_frame(versions="2.0", mfs=16380, caps="pipelining", healthcheck=False, extra=()):
    items = []
    if versions is not None:
        items.append(("supported-versions", versions))
    if mfs is not None:
        items.append(("max-frame-size", mfs))
    if caps is not None:
        items.append(("capabilities", caps))
    if healthcheck:
        items.append(("healthcheck", True))
    items.extend(extra)
    return frame(HAPROXY_HELLO, kvlist(items))


def notify_frame(sid, fid, messages):
    """messages: list of (name, [(argname, value), ...])."""
    payload = b""
    for name, args in messages:
        payload += sstr(name) + bytes([len(args)]) + kvlist(args)
    return frame(NOTIFY, payload, sid, fid)


def parse_kv(b, i, end):
    out = {}
    while i < end:
        klen, i = read_varint(b, i)
        key = b[i:i + klen].decode()
        i += klen
        val, i = parse_typed(b, i)
        out[key] = val
    return out


def parse_typed(b, i):
    t = b[i] & 0x0f
    fl = b[i] & 0xf0
    i += 1
    if t == T_NULL:
        return None, i
    if t == T_BOOL:
        return bool(fl & 0x10), i
    if t in (T_INT32, T_INT64):
        v, i = read_varint(b, i)
        if v >= 1 << 63:
            v -= 1 << 64
        return v, i
    if t in (T_UINT32, T_UINT64):
        return read_varint(b, i)
    if t == T_IPV4:
        return socket.inet_ntop(socket.AF_INET, bytes(b[i:i + 4])), i + 4
    if t == T_IPV6:
        return socket.inet_ntop(socket.AF_INET6, bytes(b[i:i + 16])), i + 16
    if t in (T_STR, T_BIN):
        n, i = read_varint(b, i)
        raw = bytes(b[i:i + n])
        return (raw.decode(errors="replace") if t == T_STR else raw), i + n
    raise ValueError("reserved type %d" % t)


class Frame:
    def __init__(self, raw):
        self.type = raw[0]
        self.flags = struct.unpack(">I", raw[1:5])[0]
        self.sid, i = read_varint(raw, 5)
        self.fid, i = read_varint(raw, i)
        self.payload = raw[i:]

    def kv(self):
        return parse_kv(self.payload, 0, len(self.payload))

    def actions(self):
        """ACK payload: list of (action, scope, name, value)."""
        out, b, i = [], self.payload, 0
        while i < len(b):
            act, nargs, scope = b[i], b[i + 1], b[i + 2]
            i += 3
            n, i = read_varint(b, i)
            name = b[i:i + n].decode()
            i += n
            val = None
            if act == 1:
                val, i = parse_typed(b, i)
            out.append((act, scope, name, val))
        return out

    def vars(self):
        return {name: val for act, scope, name, val in self.actions() if act == 1}


class SpopClient:
    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def recv_frame(self):
        """Returns the next Frame, or None at EOF."""
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack(">I", self.buf[:4])[0]
                if len(self.buf) >= 4 + n:
                    raw, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                    return Frame(raw)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return None
            self.buf += chunk

    def handshake(self, **kw):
        self.send(hello_frame(**kw))
        f = self.recv_frame()
        assert f is not None and f.type == AGENT_HELLO, "no AGENT-HELLO"
        return f

    def eof(self):
        """True when the agent closed the connection (after any frames)."""
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()
