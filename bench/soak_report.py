#!/usr/bin/env python3
"""The verdict of a bench/soak.sh run: reads its work directory, prints the
figures and exits 1 when a check failed (the checks are described at the top
of bench/soak.sh)."""
import argparse
import glob
import json
import os
import statistics
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "multinode"))
import mn_load  # noqa: E402


def slope_per_hour(points):
    """Least-squares slope of (t, v) points, per hour."""
    if len(points) < 2:
        return 0.0
    mt = statistics.fmean(t for t, _ in points)
    mv = statistics.fmean(v for _, v in points)
    den = sum((t - mt) ** 2 for t, _ in points)
    if den == 0:
        return 0.0
    return 3600.0 * sum((t - mt) * (v - mv) for t, v in points) / den


def quarters(points, start, end):
    """The values of <points> in four equal time slices of [start, end]."""
    q = [[], [], [], []]
    span = (end - start) / 4.0
    for t, v in points:
        i = min(3, max(0, int((t - start) / span)))
        q[i].append(v)
    return q


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--work", required=True)
    p.add_argument("--t0", type=float, required=True)
    p.add_argument("--duration", type=float, required=True)
    p.add_argument("--warmup", type=float, required=True)
    p.add_argument("--stable", required=True)
    p.add_argument("--churn", required=True)
    p.add_argument("--expected-stable", type=int, required=True)
    p.add_argument("--watched-before", required=True)
    p.add_argument("--watched-after", required=True)
    p.add_argument("--fd-slack", type=int, required=True)
    p.add_argument("--thread-slack", type=int, required=True)
    p.add_argument("--rss-tol-kib", type=int, required=True)
    p.add_argument("--quiet", required=True, help="ok or fail: bench/soak.sh's quiet_again")
    p.add_argument("--quiet-ms", type=int, required=True)
    p.add_argument("--cert", required=True, help="ok, or what HAProxy served for stable-tls")
    p.add_argument("--runtime", required=True, help="how HAProxy's runtime API answered at the end")
    a = p.parse_args()
    failures = []

    # --- requests -----------------------------------------------------------
    stable_total = stable_failed = 0
    print("   requests (ok/total, failures by kind, slowest):")
    for group in ("stable", "churn"):
        for tag in getattr(a, group).split():
            s = mn_load.summarize(mn_load.read_records([os.path.join(a.work, "load-%s.jsonl" % tag)]))
            fails = {k: v for k, v in s["kinds"].items() if k != "ok"}
            print("     %-7s %-17s %7d/%-7d %s max %.3fs" % (
                group, tag, s["ok"], s["requests"],
                " ".join("%s=%d" % kv for kv in sorted(fails.items())) or "no failure",
                s["max_dt"] or 0))
            if group == "stable":
                stable_total += s["requests"]
                stable_failed += s["failed"]
    if stable_failed:
        failures.append("%d requests to the stable services failed" % stable_failed)
    if stable_total < 0.95 * a.expected_stable:
        failures.append("only %d of %d planned stable requests were made" % (stable_total, a.expected_stable))

    # --- abusive clients ------------------------------------------------------
    print("   abusive clients (connections opened / closed by the server / failed):")
    for path in sorted(glob.glob(os.path.join(a.work, "abuse-*.json"))):
        tag = os.path.basename(path)[6:-5]
        try:
            r = json.load(open(path))
        except ValueError:
            print("     %-26s no summary (%s)" % (tag, open(path[:-5] + ".err").read().strip()[-200:]))
            continue
        print("     %-26s %s" % (tag, "  ".join(
            "%s %d/%d/%d" % (k, b["opened"], b["closed_by_server"], b["failed"])
            for k, b in sorted(r["behaviours"].items()) if b["opened"] or b["failed"])))

    # --- processes -------------------------------------------------------------
    if a.watched_before.split() != a.watched_after.split():
        failures.append("processes replaced during the run: before [%s], after [%s]" % (
            a.watched_before.replace("\n", "; "), a.watched_after.replace("\n", "; ")))
    series = {}
    with open(os.path.join(a.work, "samples.tsv")) as f:
        for line in f:
            t, key, pid, rss, fds, th, shm = line.split("\t")
            # (t, private RSS, fds, threads, RSS, shared part of the RSS)
            series.setdefault((key, pid), []).append(
                (float(t), int(rss) - int(shm), int(fds), int(th), int(rss), int(shm)))
    start, end = a.t0 + a.warmup, a.t0 + a.duration
    print("   processes after the %ds warm-up (%d s measured): min / max / last, slope per hour;"
          " quarter floors (fds, threads) or medians (memory); RSS = shm (shared memory: HAProxy's"
          " SSL session cache, bounded) + private (judged)" % (a.warmup, end - start))
    for (key, pid), rows in sorted(series.items()):
        warm = [r for r in rows if r[0] < start]
        meas = [r for r in rows if r[0] >= start]
        if len(meas) < 4:
            failures.append("%s: %d samples after the warm-up, 4 needed" % (key, len(meas)))
            continue
        for idx, what, unit in ((4, "RSS", "KiB"), (5, "shm", "KiB"), (1, "private", "KiB"),
                                (2, "fds", ""), (3, "threads", "")):
            pts = [(r[0], r[idx]) for r in meas]
            vals = [v for _, v in pts]
            q = quarters(pts, start, end)
            if not all(q):
                failures.append("%s %s: a quarter without samples" % (key, what))
                continue
            if idx in (4, 5):
                stat = [statistics.median(x) for x in q]
            elif idx == 1:
                stat = [statistics.median(x) for x in q]
                growth = stat[3] - stat[0]
                creep = all(stat[i + 1] > stat[i] for i in range(3)) and growth > a.rss_tol_kib / 4
                if growth > a.rss_tol_kib:
                    failures.append("%s private RSS: last quarter's median %d KiB above the first's (tolerance %d)"
                                    % (key, growth, a.rss_tol_kib))
                elif creep:
                    failures.append("%s private RSS: grows at every quarter (%s KiB)" % (key, stat))
            else:
                stat = [min(x) for x in q]
                slack = a.fd_slack if idx == 2 else a.thread_slack
                warm_max = max((r[idx] for r in warm), default=None)
                if warm_max is not None and stat[3] > warm_max + slack:
                    failures.append("%s %s: floor of the last quarter %d above the warm-up's highest %d"
                                    % (key, what, stat[3], warm_max))
            print("     %-24s %-7s %7d %7d %7d %+9.1f%s/h  quarters %s" % (
                key, what, min(vals), max(vals), vals[-1], slope_per_hour(pts), unit,
                " ".join(str(int(x)) for x in stat)))

    # --- back to quiet ------------------------------------------------------------
    before = {l.split()[0]: l.split()[1:] for l in open(os.path.join(a.work, "quiet-before.txt")) if l.strip()}
    after = {l.split()[0]: l.split()[1:] for l in open(os.path.join(a.work, "quiet-after.txt")) if l.strip()}
    print("   once the clients were gone (%s after %.1f s): fds and threads, before the load -> after" % (
        "back" if a.quiet == "ok" else "NOT back", a.quiet_ms / 1000.0))
    for key in sorted(set(before) | set(after)):
        b, f = before.get(key, ["-", "-"]), after.get(key, ["-", "-"])
        print("     %-24s fds %s -> %s, threads %s -> %s" % (key, b[0], f[0], b[1], f[1]))
    if a.quiet != "ok":
        failures.append("fds or threads not back to their count of before the load (slack %d fds, %d threads)"
                        % (a.fd_slack, a.thread_slack))
    if a.cert != "ok":
        failures.append("stable-tls's certificate at the end: " + a.cert)
    pools = []
    for when in ("before", "after"):
        try:
            info = dict(l.split(":", 1) for l in open(os.path.join(a.work, "haproxy-info-%s.txt" % when)) if ":" in l)
            pools.append("%s %.1f/%.1f MiB" % (when, int(info["PoolAlloc_bytes"]) / 1048576.0,
                                                int(info["PoolUsed_bytes"]) / 1048576.0))
        except (OSError, KeyError, ValueError):
            pools.append("%s unknown" % when)
    print("   HAProxy's runtime API: %s" % a.runtime)
    print("   HAProxy's memory pools, allocated/used: %s (haproxy-pools-*.txt)" % ", ".join(pools))
    levels, msgs = {}, {}
    logpath = os.path.join(a.work, "agents.log")
    if os.path.exists(logpath):
        for line in open(logpath, errors="replace"):
            for lv in ("warn", "error"):
                if "level=%s " % lv in line:
                    levels[lv] = levels.get(lv, 0) + 1
                    m = line.split('msg="', 1)[-1].split('"', 1)[0] if 'msg="' in line else line[:60]
                    msgs[lv + ": " + m] = msgs.get(lv + ": " + m, 0) + 1
    print("   agents' log: %d warnings, %d errors (agents.log)%s" % (
        levels.get("warn", 0), levels.get("error", 0),
        "".join("\n     %6d %s" % (n, m) for m, n in sorted(msgs.items(), key=lambda kv: -kv[1])[:6])))

    if failures:
        print("   FAILED:")
        for f in failures:
            print("     - " + f)
        sys.exit(1)
    print("   PASSED: no failed request to the stable services; RSS, fds and threads flat after the"
          " warm-up and fds and threads back to their count once the clients were gone")


if __name__ == "__main__":
    main()
