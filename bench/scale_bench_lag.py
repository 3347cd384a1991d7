#!/usr/bin/env python3
"""Where a task's convergence time goes, for bench/scale_bench.sh.

  scale_bench_lag.py --tasks tasks.json --agent-log agent.log [--since EPOCH]
                     [--services services.json] [--json]

Also used by tests/multinode/test_convergence.sh (--json).

tasks.json is Docker's GET /tasks from a manager; agent.log the agent's log
(logfmt, level info: one "task ready" line per task that enters the
table, or "task added" with "ready" when it enters it ready). For every
running task that the agent logged as ready (and whose
state changed after --since), three delays:

  swarm  Status.Timestamp (the node's executor saw the task running) to
         UpdatedAt (the manager stored that state: what the API shows)
  agent  UpdatedAt to the agent's "task ready" (the table that routes it)
  total  the two together: what the agent's convergence_* figures measure

UpdatedAt is the task's last change in the manager's store; for a task
that has not changed since it started running, that is when the running
state was stored.

With --services (Docker's GET /services), the agent's part is also given
separately for tasks stored running within 30 s of their service's last
change (UpdatedAt: its creation, a scale, an update) and for those stored
later: the agent polls a service's tasks fast
for 30 s after a service event, and tasks on other nodes raise no event at
the agent's daemon.
"""
import argparse
import datetime
import json
import re


def parse_ts(s):
    s = s.rstrip("Z")
    if "." in s:
        a, b = s.split(".", 1)
        s = a + "." + (b + "000000")[:6]
    return datetime.datetime.fromisoformat(s).replace(tzinfo=datetime.timezone.utc).timestamp()


def quantile(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * (len(v) - 1)))]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", required=True)
    p.add_argument("--agent-log", required=True)
    p.add_argument("--since", type=float, default=0.0)
    p.add_argument("--services")
    p.add_argument("--json", action="store_true",
                   help="print {swarm|agent|total: {tasks, p50, p99, max}} in seconds")
    a = p.parse_args()

    ready = {}
    # "task ready", or "task added" already ready (first seen running)
    pat = re.compile(r'^ts=(\S+) .*msg="task (?:ready|added)".* detail="(\w+) [^"]* ready"')
    with open(a.agent_log, errors="replace") as f:
        for line in f:
            m = pat.search(line)
            if m:
                ready.setdefault(m.group(2), parse_ts(m.group(1)))
    with open(a.tasks) as f:
        tasks = json.load(f)
    created = {}
    if a.services:
        with open(a.services) as f:
            created = {s["ID"]: parse_ts(s["UpdatedAt"]) for s in json.load(f)}
    rows, split = [], {True: [], False: []}
    for t in tasks:
        if t["Status"]["State"] != "running" or t["ID"] not in ready:
            continue
        st, up = parse_ts(t["Status"]["Timestamp"]), parse_ts(t["UpdatedAt"])
        if st < a.since:
            continue
        rows.append((up - st, ready[t["ID"]] - up, ready[t["ID"]] - st))
        if t["ServiceID"] in created:
            split[up - created[t["ServiceID"]] <= 30].append(ready[t["ID"]] - up)
    if a.json:
        print(json.dumps({name: {"tasks": len(v), "p50": quantile(v, 0.5) if v else None,
                                 "p99": quantile(v, 0.99) if v else None,
                                 "max": max(v) if v else None}
                          for name, v in (("swarm", [r[0] for r in rows]),
                                          ("agent", [r[1] for r in rows]),
                                          ("total", [r[2] for r in rows]))}))
        return
    if not rows:
        print("no task to measure")
        return
    for i, name in enumerate(("swarm (running on the node -> stored by the manager)",
                              "agent (stored by the manager -> in the table)",
                              "total")):
        v = [r[i] for r in rows]
        print("%-52s %d tasks: p50 %.2f s, p99 %.2f s, max %.2f s"
              % (name, len(v), quantile(v, 0.5), quantile(v, 0.99), max(v)))
    for early, name in ((True, "agent, tasks stored <= 30 s after their service changed"),
                        (False, "agent, tasks stored later")):
        v = split[early]
        if v:
            print("%-52s %d tasks: p50 %.2f s, p99 %.2f s, max %.2f s"
                  % (name, len(v), quantile(v, 0.5), quantile(v, 0.99), max(v)))


if __name__ == "__main__":
    main()
