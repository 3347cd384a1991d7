"""monitoring/ checked against the real thing.

promtool checks the alert rules and runs their unit tests
(swarm-spoa.rules.test.yml). Then a real Prometheus (Debian's package, on
127.0.0.1, a temporary data directory, 1 s scrapes and evaluations) scrapes
a running agent (a routes file, a Docker endpoint that does not answer,
--metrics-listen) and a real HAProxy's exporter (haproxy-conf/ with
prometheus.cfg). Through Prometheus's HTTP API: every series the rules and
the dashboard name exists, every dashboard query returns data, and alerts
fire when their condition is made true (the rules loaded with every "for:"
cut to 1 s): Docker unreachable, services skipped, a service without tasks;
then the agent is stopped, HAProxy marks it down, and the all-agents-down
alert fires while it had stayed quiet before.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import unittest
import urllib.parse
import urllib.request
import http.client

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness as h  # noqa: E402

MON = os.path.join(h.SRC, "monitoring")
RULES = os.path.join(MON, "swarm-spoa.rules.yml")
RULES_TEST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "swarm-spoa.rules.test.yml")
DASHBOARD = os.path.join(MON, "swarm-spoa-dashboard.json")

# PromQL words that are not series names.
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
                "unless", "bool", "offset", "inf", "nan"}


def ensure_packages():
    """Debian's prometheus (the server and promtool) and python3-yaml."""
    missing = []
    if not shutil.which("promtool") or not shutil.which("prometheus"):
        missing.append("prometheus")
    try:
        import yaml  # noqa: F401
    except ImportError:
        missing.append("python3-yaml")
    if not missing:
        return
    if os.geteuid() != 0:
        print("SKIP: %s missing and not root to install it" % " ".join(missing))
        sys.exit(77)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends"] + missing
    if subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode:
        subprocess.run(["apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL)
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)


def metric_names(expr):
    """The series names a PromQL expression reads."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", "", e)
    e = re.sub(r"\[[^\]]*\]", "", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    names = set()
    for m in re.finditer(r"(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*", e):
        if e[m.end():].lstrip().startswith("(") or m.group(0).lower() in PROMQL_WORDS:
            continue
        names.add(m.group(0))
    return names


def dashboard_queries(dash):
    """(panel title, expr) for every query of the dashboard."""
    out = []
    for p in dash["panels"]:
        for t in p.get("targets", []):
            out.append((p["title"], t["expr"]))
    return out


def grafana_to_promql(expr):
    """A dashboard query as Prometheus runs it: every agent and HAProxy, a
    rate window of 10 scrapes."""
    return (expr.replace("$__rate_interval", "10s")
            .replace("$instance", ".*").replace("$haproxy", ".*"))


class Prometheus:
    def __init__(self, wd, rules, targets):
        import yaml
        self.wd = wd
        self.port = h.free_port()
        cfg = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "900ms"},
            "rule_files": [rules],
            "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [t]}]}
                               for job, t in targets.items()],
        }
        self.cfg = wd.file("prometheus.yml")
        with open(self.cfg, "w") as f:
            yaml.safe_dump(cfg, f)
        self.proc = wd.spawn("prometheus", [
            shutil.which("prometheus"), "--config.file=" + self.cfg,
            "--storage.tsdb.path=" + wd.file("prometheus-data"),
            "--web.listen-address=127.0.0.1:%d" % self.port,
            "--storage.tsdb.retention.time=1h"])
        h.wait_until(lambda: self.proc.poll() is not None or self.ready(), 30,
                     what="prometheus ready")
        assert self.proc.poll() is None, "prometheus exited: " + wd.log("prometheus")

    def get(self, path, **params):
        url = "http://127.0.0.1:%d%s" % (self.port, path)
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.loads(r.read())

    def ready(self):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % self.port, timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    def query(self, expr):
        r = self.get("/api/v1/query", query=expr)
        assert r["status"] == "success", r
        return r["data"]["result"]

    def series(self, name):
        return self.get("/api/v1/series", **{"match[]": '{__name__="%s"}' % name})["data"]

    def alerts(self):
        """{alertname: set of states} of the active alerts."""
        out = {}
        for a in self.get("/api/v1/alerts")["data"]["alerts"]:
            out.setdefault(a["labels"]["alertname"], set()).add(a["state"])
        return out

    def firing(self, name):
        return "firing" in self.alerts().get(name, set())


def get(port, host, timeout=10):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request("GET", "/", headers={"Host": host})
    r = c.getresponse()
    r.read()
    c.close()
    return r.status


class MonitoringTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rules = yaml_load(RULES)
        with open(DASHBOARD) as f:
            cls.dash = json.load(f)

    def test_1_promtool_check_rules(self):
        r = subprocess.run(["promtool", "check", "rules", RULES], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_2_promtool_unit_tests(self):
        r = subprocess.run(["promtool", "test", "rules", RULES_TEST], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # Every alert of the rules file has a unit test that fires it.
        with open(RULES_TEST) as f:
            tested = set(re.findall(r"alertname: (\w+)\n\s+exp_alerts:\n\s+- exp_labels", f.read()))
        alerts = {r["alert"] for g in self.rules["groups"] for r in g["rules"]}
        self.assertEqual(alerts - tested, set(), "alerts without a firing unit test")

    def test_3_dashboard_is_well_formed(self):
        d = self.dash
        ids = [p["id"] for p in d["panels"]]
        self.assertEqual(len(ids), len(set(ids)), "panel ids repeat")
        variables = {v["name"] for v in d["templating"]["list"]}
        self.assertEqual(variables, {"datasource", "instance", "haproxy"})
        cells = set()
        for p in d["panels"]:
            g = p["gridPos"]
            self.assertTrue(0 <= g["x"] and g["x"] + g["w"] <= 24, p["title"])
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    self.assertNotIn((x, y), cells, "panel %r overlaps another" % p["title"])
                    cells.add((x, y))
            if p["type"] == "row":
                continue
            self.assertEqual(p["datasource"], {"type": "prometheus", "uid": "${datasource}"}, p["title"])
            self.assertTrue(p["targets"], "panel %r has no query" % p["title"])
            for t in p["targets"]:
                for var in re.findall(r"\$(\w+)", t["expr"]):
                    self.assertIn(var, variables | {"__rate_interval"}, t["expr"])

    def test_4_live(self):
        self.live()

    def live(self):
        wd = self.wd = h.Workdir("monitoring")
        # Cleanups run last first: the processes stop, then Prometheus's
        # data goes (the logs stay in the work directory).
        self.addCleanup(shutil.rmtree, wd.file("prometheus-data"), True)
        self.addCleanup(wd.stop_all)
        echo = h.Echo(wd, "web")
        metrics_port = h.free_port()
        routes = {"services": [
            {"name": "web", "labels": {"com.docker.lb.hosts": "web.test", "com.docker.lb.port": "80"},
             "tasks": [{"id": "web.1", "address": "127.0.0.1", "port": echo.port}]},
            {"name": "notask", "labels": {"com.docker.lb.hosts": "notask.test",
                                          "com.docker.lb.port": "80"}, "tasks": []},
            {"name": "bad", "labels": {"com.docker.lb.hosts": "bad.test", "com.docker.lb.port": "none"},
             "tasks": [{"id": "bad.1", "address": "127.0.0.1", "port": echo.port}]},
        ]}
        # Docker: the recorded-response fixture of bench/ (a 3-service swarm),
        # stopped later to make discovery degraded.
        docker_sock = wd.file("docker.sock")
        fake_docker = wd.spawn("fakedocker", [
            sys.executable, os.path.join(h.SRC, "bench", "discovery_fakedocker.py"),
            "--socket", docker_sock, "--services", "3", "--tasks-per-service", "1"])
        h.wait_until(lambda: os.path.exists(docker_sock), 10, what="the Docker fixture's socket")
        # The agent reads HAProxy's ring of failed requests and its
        # per-service traffic through the runtime API (passive health).
        agent = h.Agent(wd, routes=routes, extra=[
            "--metrics-listen", "127.0.0.1:%d" % metrics_port,
            "--haproxy-runtime", "unix:" + wd.file("haproxy-admin.sock"),
            "--traffic-interval", "1",
            "--docker", "unix://" + docker_sock]).start()
        exporter_port = h.free_port()
        haproxy = h.HAProxy(wd, [agent.port],
                            cfg_files=[os.path.join(h.SRC, "haproxy-conf", "prometheus.cfg")],
                            env={"SWARM_SPOA_PROMETHEUS_BIND": "127.0.0.1:%d" % exporter_port}).start()

        # The rules as shipped, every "for:" cut to 1 s.
        import yaml
        fast = json.loads(json.dumps(self.rules))
        for g in fast["groups"]:
            for r in g["rules"]:
                if "for" in r:
                    r["for"] = "1s"
        fast_rules = wd.file("rules-fast.yml")
        with open(fast_rules, "w") as f:
            yaml.safe_dump(fast, f)
        prom = Prometheus(wd, fast_rules, {"swarm-spoa": "127.0.0.1:%d" % metrics_port,
                                          "haproxy": "127.0.0.1:%d" % exporter_port})
        h.wait_until(lambda: {r["metric"]["job"] for r in prom.query("up == 1")} == {"swarm-spoa", "haproxy"},
                     30, what="both targets up in Prometheus")
        h.wait_until(lambda: prom.query('swarm_spoa_discovery_state{state="synced"} == 1'), 15,
                     what="discovery synced with the Docker fixture")

        # Traffic, bounded: forwarded, 404, 503 (no task).
        h.wait_until(lambda: get(haproxy.port, "web.test") == 200, 10, what="HAProxy routes web.test")
        for host, status, n in (("web.test", 200, 20), ("nothere.test", 404, 5), ("notask.test", 503, 5)):
            for _ in range(n):
                self.assertEqual(get(haproxy.port, host), status, host)
        h.wait_until(lambda: [r for r in prom.query(
            'swarm_spoa_requests_total{service="web",outcome="forwarded"} >= 21')], 15,
            what="the requests counted in Prometheus")
        h.wait_until(lambda: [r for r in prom.query(
            'swarm_spoa_service_http_requests_total{service="web"} >= 20')], 15,
            what="HAProxy's per-service traffic read by the agent, in Prometheus")

        # Every series the rules and the dashboard name exists.
        names = set()
        for g in self.rules["groups"]:
            for r in g["rules"]:
                names |= metric_names(r["expr"])
        for _, expr in dashboard_queries(self.dash):
            names |= metric_names(expr)
        for v in self.dash["templating"]["list"]:
            m = re.match(r"label_values\((\w+)", v.get("definition", ""))
            if m:
                names.add(m.group(1))
        self.assertGreater(len(names), 30)
        missing = sorted(n for n in names if not prom.series(n))
        self.assertEqual(missing, [], "series named by the rules or the dashboard that Prometheus lacks")

        # Every dashboard query runs and returns data; every rule runs.
        # (a rate needs two scrapes in its window: polled, bounded).
        for title, expr in dashboard_queries(self.dash):
            h.wait_until(lambda: prom.query(grafana_to_promql(expr)), 20,
                         what="data for dashboard panel %r: %s" % (title, expr))
        for g in self.rules["groups"]:
            for r in g["rules"]:
                prom.query(r["expr"])

        # Alerts whose condition holds now, and those that must stay quiet.
        for name in ("SwarmSpoaServicesSkipped", "SwarmSpoaServiceWithoutTasks"):
            h.wait_until(lambda: prom.firing(name), 30, what=name + " firing")
        active = prom.alerts()
        for name in ("SwarmSpoaAgentsAllDown", "SwarmSpoaAgentDown", "SwarmSpoaRoutingUnavailable",
                     "SwarmSpoaMetricsDown", "SwarmSpoaNoHAProxy", "SwarmSpoaDockerUnreachable",
                     "SwarmSpoaDockerNeverSynced", "SwarmSpoaRoutingTableStale",
                     "SwarmSpoaTableBuildFailing", "SwarmSpoaProtocolErrors"):
            self.assertNotIn(name, active, "%s active while all is well" % name)

        # Docker goes away: the agent keeps its table, discovery is degraded.
        fake_docker.send_signal(signal.SIGTERM)
        fake_docker.wait(timeout=10)
        h.wait_until(lambda: prom.firing("SwarmSpoaDockerUnreachable"), 30,
                     what="SwarmSpoaDockerUnreachable firing")
        self.assertEqual(get(haproxy.port, "web.test"), 200)

        # The agent stops: HAProxy's SPOP check marks it down, the exporter
        # says so, the alert fires; requests get HAProxy's fallback 503.
        agent.kill(signal.SIGTERM)
        t0 = time.monotonic()
        h.wait_until(lambda: prom.firing("SwarmSpoaAgentsAllDown"), 60,
                     what="SwarmSpoaAgentsAllDown firing")
        took = time.monotonic() - t0
        self.assertTrue(prom.firing("SwarmSpoaAgentDown"))
        h.wait_until(lambda: prom.firing("SwarmSpoaMetricsDown"), 30, what="SwarmSpoaMetricsDown firing")
        statuses = []
        threads = [threading.Thread(target=lambda: statuses.append(get(haproxy.port, "web.test")))
                   for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(statuses, [503] * 20)
        h.wait_until(lambda: prom.firing("SwarmSpoaRoutingUnavailable"), 30,
                     what="SwarmSpoaRoutingUnavailable firing")
        print("agent stopped -> SwarmSpoaAgentsAllDown firing in %.1f s" % took)
        haproxy.stop()


def yaml_load(path):
    import yaml
    with open(path) as f:
        return yaml.safe_load(f)


if __name__ == "__main__":
    ensure_packages()
    unittest.main(verbosity=2)
