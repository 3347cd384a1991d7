"""swarm-spoa added to an HAProxy configuration that was not written for it,
exactly as docs/haproxy.md ("Into an existing HAProxy") says, on HAProxy
2.6, 3.0 and 3.2 (SWARM_SPOA_HAPROXY).

The operator's configuration (OPERATOR_CFG) has two frontends, HTTPS with
its own certificate, ACL-based use_backend rules (one of them by path
alone), a default_backend, a backend that answers by itself, a stats page
and the runtime API. The paste-in (paste_in()):
  1. the [route] block of haproxy-conf/haproxy.cfg's global section into
     the operator's global section, naming the directory of
     spoe-swarm.conf;
  2. the [route] blocks of its "frontend http", in their order, into the
     public frontend after its http-request rules and before its
     use_backend rules, with "acl swarm_host" naming the Swarm services'
     domain;
  3. TLS: "crt-list <file>" (an empty file) added to the HTTPS bind; the
     agent pushes the services' certificates through the runtime API the
     configuration already had (--haproxy-runtime);
  4. swarm-backends.cfg and agents-local.cfg loaded as they are, after the
     operator's file (SWARM_SPOA_AGENT_ADDR naming the agent).

Checked: "haproxy -c" of the result, without a warning; the Swarm hosts
get every answer (forward over HTTP and HTTPS with their own certificate,
context root rewrite, redirect, ssl_only, 404, 503 without a task, 503
without an agent); the operator's sites answer exactly as the same
configuration without the paste-in does, run side by side, and the agent
never hears of them; with the agent hung (SIGSTOP) and then killed, they
still answer the same, no slower than 1 ms at the median and never near
an SPOE timeout. Also: cmake --install writes a haproxy.cfg that finds
its spoe-swarm.conf wherever it is installed.
"""
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import unittest
import http.client

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "tls"))
import harness as h  # noqa: E402
import tlstest as t  # noqa: E402

CONF_DIR = os.path.join(h.SRC, "haproxy-conf")
LB = "com.docker.lb."

# An operator's HAProxy, as found in the field (Debian's default global
# and defaults, then sites of their own). {names} are filled per instance.
OPERATOR_CFG = """\
global
    log stderr format short local0 notice
    maxconn 2000
    stats socket {admin} mode 600 level admin expose-fd listeners
    stats timeout 30s
    ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets

defaults
    mode http
    log global
    option httplog
    option dontlognull
    option forwardfor
    timeout connect 5s
    timeout client  50s
    timeout server  50s
    default-server inter 3s fall 3 rise 2

frontend public
    bind 127.0.0.1:{http}
    bind 127.0.0.1:{https} ssl crt {crt} alpn h2,http/1.1
    acl host_www  hdr(host) -i www.example.test example.test
    acl host_blog hdr(host) -i blog.example.test
    acl is_api    path_beg /api/
    acl is_static path_beg /static/
    http-request redirect scheme https code 301 if host_www !{{ ssl_fc }}
    http-request set-header X-Forwarded-Proto https if {{ ssl_fc }}
    use_backend static if is_static
    use_backend blog if host_blog
    use_backend api if is_api
    default_backend www

frontend intranet
    bind 127.0.0.1:{intranet}
    http-request deny if !{{ src 127.0.0.0/8 }}
    default_backend intranet_app

backend www
    server www1 127.0.0.1:{www} check

backend blog
    server blog1 127.0.0.1:{blog} check

backend api
    http-request set-path %[path,regsub(^/api/,/)]
    server api1 127.0.0.1:{api} check

backend static
    http-request return status 200 content-type text/plain string "static file\\n"

backend intranet_app
    server intra1 127.0.0.1:{intra}

listen stats
    bind 127.0.0.1:{stats}
    stats enable
    stats uri /stats
    stats refresh 10s
"""

# The hosts of the Swarm services: every name under apps.test.
GATE = "    acl swarm_host req.hdr(host),field(1,:),lower -m end .apps.test"

SECTION = re.compile(r"^(global|defaults|frontend|backend|listen|resolvers|ring|peers|userlist|"
                     r"program|mailers|cache|http-errors)\b")


def sections(text):
    """[(header, [lines])] of an HAProxy configuration, in order; the lines
    before the first section under header None."""
    out = [(None, [])]
    for line in text.splitlines():
        if SECTION.match(line):
            out.append((line.strip(), []))
        else:
            out[-1][1].append(line)
    return out


def route_blocks(header):
    """The [route] blocks of haproxy-conf/haproxy.cfg's section <header>:
    each from its "# [route]" comment to the next blank line."""
    with open(os.path.join(CONF_DIR, "haproxy.cfg")) as f:
        body = dict((hd, lines) for hd, lines in sections(f.read()))[header]
    blocks, cur = [], None
    for line in body:
        if line.strip().startswith("# [route]"):
            cur = []
            blocks.append(cur)
        if cur is not None:
            if not line.strip():
                cur = None
            else:
                cur.append(line)
    return blocks


def paste_in(cfg, conf_dir, crt_list):
    """docs/haproxy.md's steps 1-3, applied to the operator's file."""
    glob = [ln for b in route_blocks("global") for ln in b]
    assert glob and any("presetenv SWARM_SPOA_CONF_DIR" in ln for ln in glob), glob
    # 1. global: the block, naming where spoe-swarm.conf is
    glob = [re.sub(r"(presetenv SWARM_SPOA_CONF_DIR\s+)\S+", r"\g<1>" + conf_dir, ln) for ln in glob]
    # 2. frontend: the blocks in order, the Swarm hosts named in swarm_host
    front = []
    for b in route_blocks("frontend http"):
        front += [GATE if ln.strip().startswith("acl swarm_host ") else ln for ln in b] + [""]
    assert GATE in front, "haproxy.cfg has no 'acl swarm_host' line"
    out = []
    for hd, lines in sections(cfg):
        if hd is not None:
            out.append(hd)
        if hd == "global":
            lines = [ln for ln in lines if ln.strip()] + glob + [""]
        elif hd == "frontend public":
            first = next(i for i, ln in enumerate(lines) if ln.strip().startswith("use_backend"))
            lines = lines[:first] + front + lines[first:]
            # 3. TLS: the crt-list of the agent's certificates on the HTTPS bind
            lines = [ln + " crt-list " + crt_list if " ssl crt " in ln else ln for ln in lines]
        out += lines
    return "\n".join(out) + "\n"


def svc(name, port, tasks=1, **labels):
    lab = {LB + "port": str(port)}
    lab.update({LB + k: v for k, v in labels.items()})
    return {"name": name, "labels": lab,
            "tasks": [{"id": "%s.%d" % (name, i + 1), "address": "127.0.0.1",
                       "state": "running" if tasks else "starting"} for i in range(max(tasks, 1))]}


class Proxy:
    """One HAProxy running the operator's configuration (pasted or not)."""

    def __init__(self, wd, name, cfg_text, extra_files=(), env=None):
        self.wd = wd
        self.name = name
        self.cfg = wd.file(name + ".cfg")
        with open(self.cfg, "w") as f:
            f.write(cfg_text)
        self.argv = [h.HAPROXY_BIN, "-f", self.cfg]
        for x in extra_files:
            self.argv += ["-f", x]
        self.env = env or {}

    def check(self):
        r = subprocess.run(self.argv[:1] + ["-c"] + self.argv[1:], env=dict(os.environ, **self.env),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=60)
        return r.returncode, r.stdout.decode(errors="replace")

    def start(self, port):
        self.proc = self.wd.spawn(self.name, self.argv[:1] + ["-db"] + self.argv[1:], env=self.env)
        h.wait_until(lambda: self.proc.poll() is not None or h.port_open(port), 10,
                     what="%s listening" % self.name)
        assert self.proc.poll() is None, "%s exited: %s" % (self.name, self.wd.log(self.name))


def get(port, host, path="/", https=False, timeout=10.0):
    """(status, {header: value} of the ones compared, body, seconds)."""
    t0 = time.monotonic()
    if https:
        st, hd, body, der = t.https_request(port, host, path, timeout=timeout)
    else:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            c.request("GET", path, headers={"Host": host})
            r = c.getresponse()
            st, body = r.status, r.read().decode(errors="replace")
            hd = {k.lower(): v for k, v in r.getheaders()}
        finally:
            c.close()
    took = time.monotonic() - t0
    keep = {k: v for k, v in hd.items() if k in ("location", "content-type", "set-cookie",
                                                 "strict-transport-security")}
    return st, keep, body, took


class ExistingHAProxyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.wd = h.Workdir("existing")
        try:
            cls.setup_world()
        except BaseException:
            cls.wd.stop_all()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.agent.alive():
            cls.agent.proc.send_signal(signal.SIGCONT)
        cls.wd.stop_all()

    @classmethod
    def setup_world(cls):
        wd = cls.wd
        cls.echo = {n: h.Echo(wd, n) for n in ("www", "blog", "api", "intra", "app", "app2")}
        cls.certs = c = t.Certs(wd.file("certs"))
        c.make("operator", "www.example.test", sans=("www.example.test", "example.test"))
        cls.operator_pem = c.bundle("operator", wd.file("operator.pem"))
        c.make("secure", "secure.apps.test")
        cls.crt_list = wd.file("swarm-crt-list")
        open(cls.crt_list, "w").close()

        e = cls.echo
        routes = {"services": [
            svc("web", e["app"].port, hosts="web.apps.test"),
            svc("api", e["app2"].port, hosts="api.apps.test", context_root="/api",
                context_root_rewrite="true"),
            svc("old", e["app"].port, hosts="old.apps.test",
                redirects="http://old.apps.test,http://new.apps.test"),
            svc("secure", e["app"].port, hosts="secure.apps.test", ssl_only="true", hsts="600",
                ssl_cert="secure.crt", ssl_key="secure.key"),
            svc("notask", e["app"].port, tasks=0, hosts="notask.apps.test"),
        ]}
        cls.agent = h.Agent(wd, routes=routes, threads=1)

        def ports():
            return {k: h.free_port() for k in ("http", "https", "intranet", "stats")}

        common = {"crt": cls.operator_pem, "www": e["www"].port, "blog": e["blog"].port,
                  "api": e["api"].port, "intra": e["intra"].port}
        # the operator's HAProxy as it was, and the same with the paste-in
        cls.p0 = ports()
        cls.before = Proxy(wd, "before", OPERATOR_CFG.format(admin=wd.file("before.sock"),
                                                             **dict(common, **cls.p0)))
        cls.p1 = ports()
        cls.pasted_cfg = paste_in(OPERATOR_CFG.format(admin=wd.file("pasted.sock"),
                                                      **dict(common, **cls.p1)),
                                  CONF_DIR, cls.crt_list)
        cls.pasted = Proxy(wd, "pasted", cls.pasted_cfg,
                           extra_files=[os.path.join(CONF_DIR, "swarm-backends.cfg"),
                                        os.path.join(CONF_DIR, "agents-local.cfg")],
                           env={"SWARM_SPOA_AGENT_ADDR": "127.0.0.1:%d" % cls.agent.port})
        cls.before.start(cls.p0["http"])
        cls.pasted.start(cls.p1["http"])
        cls.agent.extra = ["--certs-dir", c.dir, "--haproxy-runtime", "unix:" + wd.file("pasted.sock")]
        cls.agent.start()
        h.wait_until(lambda: get(cls.p1["http"], "web.apps.test")[0] == 200, 15,
                     what="the pasted HAProxy routing through the agent")
        h.wait_until(lambda: t.served_cert(cls.p1["https"], "secure.apps.test") == c.der("secure"),
                     15, what="the service's certificate pushed into the crt-list")

    # The operator's own requests: (frontend port name, host, path, https)
    OPERATOR_REQUESTS = [
        ("http", "www.example.test", "/", False),          # their redirect to https
        ("https", "www.example.test", "/", True),
        ("https", "example.test", "/api/users?id=7", True),
        ("http", "blog.example.test", "/post/1", False),
        ("http", "blog.example.test", "/api/x", False),     # the path rule, not the host
        ("http", "blog.example.test", "/static/logo.png", False),
        ("http", "other.example.test", "/", False),         # default_backend
        ("http", "unknown.test:8080", "/x", False),
        ("intranet", "intranet", "/wiki", False),
    ]

    def operator_answers(self, ports):
        out = []
        for name, host, path, https in self.OPERATOR_REQUESTS:
            st, hd, body, _ = get(ports[name], host, path, https=https)
            out.append((name, host, path, st, hd, body))
        return out

    def agent_messages(self):
        import json
        return json.loads(self.agent.stats("show stats json"))["total"]["messages"]

    def assert_operator_sites_unchanged(self):
        before = self.operator_answers(self.p0)
        after = self.operator_answers(self.p1)
        self.assertEqual(after, before)
        # the stats page still answers (it now lists the swarm-* backends too)
        self.assertEqual(get(self.p1["stats"], "x", "/stats")[0], 200)
        return before

    # ------------------------------------------------------------------

    def test_1_configuration_check(self):
        """haproxy -c of the pasted configuration with the shipped files:
        valid, and not one warning."""
        rc, out = self.pasted.check()
        self.assertEqual(rc, 0, out)
        self.assertNotIn("[WARNING]", out)
        self.assertNotIn("[ALERT]", out)
        # what was pasted is what haproxy.cfg marks, and nothing of
        # haproxy.cfg's own frontend (binds, its HTTPS) came along
        self.assertIn("filter spoe engine swarm-spoa config", self.pasted_cfg)
        self.assertNotIn("SWARM_SPOA_HTTP_BIND", self.pasted_cfg)

    def test_2_operator_sites_answer_as_before(self):
        m0 = self.agent_messages()
        before = self.assert_operator_sites_unchanged()
        self.assertEqual(self.agent_messages(), m0, "the agent was asked about the operator's sites")
        statuses = [a[3] for a in before]
        self.assertEqual(statuses, [301, 200, 200, 200, 200, 200, 200, 200, 200], before)
        self.assertEqual(t.served_cert(self.p1["https"], "www.example.test"), self.certs.der("operator"))
        self.assertEqual(t.served_cert(self.p1["https"], None), self.certs.der("operator"),
                         "the operator's certificate stays the default")

    def test_3_swarm_hosts_every_answer(self):
        p = self.p1
        m0 = self.agent_messages()
        st, hd, body, _ = get(p["http"], "web.apps.test", "/p")
        e = h.parse_echo(body)
        self.assertEqual((st, e["name"], e["xfp"], e["xff"]), (200, "app", "http", "127.0.0.1"))
        st, hd, body, _ = get(p["http"], "WEB.Apps.Test:80", "/")
        self.assertEqual((st, h.parse_echo(body)["name"]), (200, "app"), "the gate ignores case and port")
        # the operator's "use_backend api if is_api" comes after the [route] lines
        st, hd, body, _ = get(p["http"], "api.apps.test", "/api/x/?q=1")
        e = h.parse_echo(body)
        self.assertEqual((st, e["name"], e["path"]), (200, "app2", "/x/?q=1"))
        st, hd, body, _ = get(p["http"], "old.apps.test", "/page?x=1")
        self.assertEqual((st, hd.get("location")), (302, "http://new.apps.test/page?x=1"))
        st, hd, body, _ = get(p["http"], "secure.apps.test", "/login")
        self.assertEqual((st, hd.get("location")), (301, "https://secure.apps.test/login"))
        st, hd, body, _ = get(p["https"], "secure.apps.test", "/login", https=True)
        e = h.parse_echo(body)
        self.assertEqual((st, e["name"], e["xfp"]), (200, "app", "https"))
        self.assertEqual(hd.get("strict-transport-security"), "max-age=600")
        self.assertEqual(t.served_cert(p["https"], "secure.apps.test"), self.certs.der("secure"))
        st, hd, body, _ = get(p["https"], "web.apps.test", "/", https=True)
        self.assertEqual((st, h.parse_echo(body)["xfp"]), (200, "https"))
        st, hd, body, _ = get(p["http"], "nothing.apps.test", "/")
        self.assertEqual(st, 404)
        self.assertIn("nothing.apps.test", body)
        st, hd, body, _ = get(p["http"], "notask.apps.test", "/")
        self.assertEqual(st, 503)
        self.assertIn("not running", body)
        self.assertEqual(self.agent_messages() - m0, 9, "one message per Swarm request")

    def test_4_every_agent_stopped(self):
        """The agent hung (SIGSTOP), then killed: the Swarm hosts get the
        503 of swarm-answers, the operator's sites answer as before, as
        fast as without the paste-in."""
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            self.agent.proc.send_signal(sig)
            if sig == signal.SIGKILL:
                self.agent.proc.wait(timeout=10)
            self.assert_operator_sites_unchanged()
            self.assert_no_added_latency()
            st, hd, body, took = get(self.p1["http"], "web.apps.test", "/")
            print("agent %s: a Swarm host got %d after %.3f s" % (sig.name, st, took), flush=True)
            self.assertEqual((st, body), (503, "routing agent unavailable\n"), sig)
            self.assertLess(took, 5.0)

    def assert_no_added_latency(self):
        """Requests alternate between the two HAProxies: the pasted one is
        at most 1 ms slower at the median, and no request waits anywhere
        near an SPOE timeout (0.5 s for a HELLO, 1-2 s for a message)."""
        lat = {"before": [], "pasted": []}
        for _ in range(30):
            for who, ports in (("before", self.p0), ("pasted", self.p1)):
                for name, host, path, https in self.OPERATOR_REQUESTS:
                    if not https:
                        lat[who].append(get(ports[name], host, path)[3])
        added = statistics.median(lat["pasted"]) - statistics.median(lat["before"])
        print("operator's sites: median %.3f ms before, %.3f ms pasted, slowest %.3f ms"
              % (statistics.median(lat["before"]) * 1e3, statistics.median(lat["pasted"]) * 1e3,
                 max(lat["pasted"]) * 1e3), flush=True)
        self.assertLess(added, 0.001, "median %.2f ms slower" % (added * 1e3))
        self.assertLess(max(lat["pasted"]), 0.4, "slowest %.3f s" % max(lat["pasted"]))


class InstalledFilesTest(unittest.TestCase):
    """cmake --install writes haproxy.cfg and tls-passthrough.cfg that find
    spoe-swarm.conf in their own directory: HAProxy runs them as
    installed, from any directory, with no SWARM_SPOA_CONF_DIR."""

    def test_installed_files_find_spoe_conf(self):
        cmake = shutil.which("cmake")
        if not cmake or not os.path.exists(os.path.join(h.BUILD, "cmake_install.cmake")):
            self.skipTest("no cmake or no build directory at %s" % h.BUILD)
        prefix = tempfile.mkdtemp(prefix="swarm-spoa-install-")
        try:
            r = subprocess.run([cmake, "--install", h.BUILD, "--prefix", prefix],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout.decode(errors="replace"))
            conf = os.path.join(prefix, "share", "swarm-spoa", "haproxy-conf")
            env = {k: v for k, v in os.environ.items() if k != "SWARM_SPOA_CONF_DIR"}
            env.update(SWARM_SPOA_RUNTIME=os.path.join(prefix, "admin.sock"),
                       SWARM_SPOA_TLS_PASSTHROUGH_BIND="127.0.0.1:%d" % h.free_port(),
                       SWARM_SPOA_CRT_LIST=os.path.join(prefix, "crt-list"))
            certs = t.Certs(os.path.join(prefix, "certs"))
            certs.make("default", "default.test")
            with open(env["SWARM_SPOA_CRT_LIST"], "w") as f:
                f.write(certs.bundle("default") + "\n")
            r = subprocess.run([h.HAPROXY_BIN, "-c"] + [
                a for name in ("haproxy.cfg", "tls-passthrough.cfg", "swarm-backends.cfg",
                               "agents-local.cfg") for a in ("-f", os.path.join(conf, name))],
                env=env, cwd="/", stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, timeout=60)
            out = r.stdout.decode(errors="replace")
            self.assertEqual(r.returncode, 0, out)
            self.assertNotIn("[WARNING]", out)
            with open(os.path.join(conf, "haproxy.cfg")) as f:
                self.assertIn("presetenv SWARM_SPOA_CONF_DIR   " + conf + "\n", f.read())
        finally:
            shutil.rmtree(prefix, ignore_errors=True)


if __name__ == "__main__":
    why = h.require_haproxy()
    if why:
        print("SKIP: " + why)
        sys.exit(77)
    unittest.main(verbosity=2)
