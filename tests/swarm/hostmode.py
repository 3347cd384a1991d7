"""Host-mode routing on a real swarm: the body of test_host_mode.sh.

Two stacks of hostmode-app.yml (<prefix>a kept, <prefix>b removed and
redeployed <rounds> times) behind the real agent, which follows the local
dockerd, and a real HAProxy on this host. Requests to the kept stack run
all along, one at a time, bounded in number and time.
"""
import argparse
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402

DOCKER = os.environ.get("DOCKER", "docker")
WORK = os.environ["TEST_WORK"]
HERE = os.path.dirname(os.path.abspath(__file__))
APP = os.path.join(HERE, "hostmode-app.yml")


def log(msg):
    print("%s [swarm_host_mode] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def docker(*args, check=True):
    r = subprocess.run([DOCKER] + list(args), capture_output=True, text=True, timeout=120)
    if check and r.returncode != 0:
        raise AssertionError("docker %s: %s" % (" ".join(args), r.stderr.strip()))
    return r


def deploy(stack, host):
    env = dict(os.environ, APP_HOST=host, APP_TEST=os.environ["TEST_NAME"])
    r = subprocess.run([DOCKER, "stack", "deploy", "--resolve-image", "never", "-c", APP, stack],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, "docker stack deploy %s: %s" % (stack, r.stderr)


def stack_objects(kind, stack):
    return docker(kind, "ls", "-q", "--filter", "label=com.docker.stack.namespace=" + stack).stdout.split()


def routed(hp, stack, host):
    """Both tasks of <stack> answer through HAProxy, by <host>."""
    seen = set()
    for _ in range(8):
        try:
            st, _, body = hp.request(host, "/", timeout=2)
        except OSError:
            return False
        if st != 200:
            return False
        m = re.search(r"name=(%s_web\.\d)" % re.escape(stack), body)
        if not m:
            return False
        seen.add(m.group(1))
    return len(seen) == 2


class Load(threading.Thread):
    """Requests to <host> one after another until stopped (at most
    <max_requests>, at most <max_s> seconds)."""

    def __init__(self, hp, host, max_requests=200000, max_s=900):
        super().__init__(daemon=True)
        self.hp, self.host = hp, host
        self.max_requests, self.deadline = max_requests, time.time() + max_s
        self.stop = False
        self.ok = 0
        self.failed = []

    def run(self):
        n = 0
        while not self.stop and n < self.max_requests and time.time() < self.deadline:
            n += 1
            try:
                st, _, body = self.hp.request(self.host, "/", timeout=3)
                if st == 200 and "name=" in body:
                    self.ok += 1
                else:
                    self.failed.append("%d %s" % (st, body[:80]))
            except OSError as e:
                self.failed.append(repr(e))
            time.sleep(0.01)  # pacing: ~100 requests/s, not a readiness wait


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    keep, cyc = a.prefix + "a", a.prefix + "b"
    keep_host, cyc_host = "a.%s.test" % a.prefix, "b.%s.test" % a.prefix

    wd = harness.Workdir("host-mode")
    os.rmdir(wd.path)
    wd.path = WORK  # the logs with the test's
    agent = harness.Agent(wd, threads=1, extra=["--docker", "unix:///var/run/docker.sock"])
    try:
        agent.start()
        hp = harness.HAProxy(wd, [agent.port]).start()
        t0 = time.time()
        deploy(keep, keep_host)
        deploy(cyc, cyc_host)
        harness.wait_until(lambda: routed(hp, keep, keep_host) and routed(hp, cyc, cyc_host), 180,
                           interval=0.2, what="both host-mode stacks routed")
        log("both stacks routed %.1f s after their deploy" % (time.time() - t0))

        routes = agent.stats("show routes")
        line = [l for l in routes.splitlines() if keep_host in l]
        assert line, "show routes has no %s: %s" % (keep_host, routes)
        tasks = re.findall(r"(\w+)=127\.0\.0\.1:(\d+)\(host mode\)", line[0])
        assert len(tasks) == 2, "show routes: %s" % line[0]
        assert tasks[0][1] != tasks[1][1] and "8080" not in (tasks[0][1], tasks[1][1]), line[0]
        log("show routes: " + line[0].strip())
        explain = agent.stats("explain %s /" % keep_host)
        assert "in host mode" in explain, explain

        load = Load(hp, keep_host)
        load.start()
        rm_status = []
        for r in range(1, a.rounds + 1):
            t0 = time.time()
            rm = docker("stack", "rm", cyc, check=False)
            rm_status.append(rm.returncode)
            harness.wait_until(lambda: not stack_objects("service", cyc) and not stack_objects("network", cyc),
                               60, interval=0.2, what="stack %s gone" % cyc)
            gone = time.time() - t0
            t0 = time.time()
            deploy(cyc, cyc_host)
            harness.wait_until(lambda: routed(hp, cyc, cyc_host), 180, interval=0.2,
                               what="%s routed again" % cyc)
            log("round %d: docker stack rm exited %d (%s), services and network gone in %.1f s, "
                "redeployed and routed in %.1f s; %d requests to %s so far, %d failed"
                % (r, rm.returncode, (rm.stdout + rm.stderr).strip().replace("\n", "; "), gone,
                   time.time() - t0, load.ok, keep, len(load.failed)))
        load.stop = True
        load.join(10)
        assert load.ok > 0, "no request ran"
        assert not load.failed, "%d requests to %s failed: %s" % (len(load.failed), keep, load.failed[:5])
        assert rm_status == [0] * a.rounds, "docker stack rm exit statuses: %s" % rm_status
        log("%d requests to %s, none failed; docker stack rm exited 0 %d times"
            % (load.ok, keep, a.rounds))
    finally:
        wd.stop_all()


if __name__ == "__main__":
    sys.exit(main())
